"""The JSON Schema of the YAML form accepts every YAML example and every `to_yaml` output, and rejects bad shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from journeydsl.diagnostics import Sink
from journeydsl.diagnostics.model import Severity
from journeydsl.syntax import load_yaml, parse_dsl, to_yaml
from journeydsl.syntax.json_schema import journey_json_schema
from journeydsl.syntax.safe_yaml import compose
from journeydsl.syntax.yaml_loader import node_to_data

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
VALIDATOR = Draft202012Validator(journey_json_schema())


def _files(*suffixes: str) -> list[Path]:
    folders = [ROOT / "journeys", ROOT / "tests" / "syntax", HERE]
    return sorted({p for f in folders if f.is_dir() for p in f.rglob("*") if p.name.endswith(suffixes)})


def documents(text: str) -> list[Any]:
    sink = Sink()
    docs = [node_to_data(document.root) for document in compose(text, "x.journey.yaml", sink)]
    assert sink.diagnostics == []
    return docs


def problems(document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    Draft202012Validator.check_schema(journey_json_schema())


@pytest.mark.parametrize("path", _files(".journey.yaml", ".journey.yml"), ids=lambda p: p.name)
def test_every_yaml_example_validates(path: Path) -> None:
    for document in documents(path.read_text(encoding="utf-8")):
        assert problems(document) == []


@pytest.mark.parametrize("path", _files(".journey"), ids=lambda p: p.name)
def test_every_to_yaml_output_validates(path: Path) -> None:
    source, diagnostics = parse_dsl(path.read_text(encoding="utf-8"), str(path))
    if any(d.severity is Severity.ERROR for d in diagnostics):
        pytest.skip("a negative fixture")
    for document in documents(to_yaml(source)):
        assert problems(document) == []


@pytest.mark.parametrize("path", _files(".journey.yaml", ".journey.yml"), ids=lambda p: p.name)
def test_to_yaml_of_yaml_examples_validates(path: Path) -> None:
    source, _ = load_yaml(path.read_text(encoding="utf-8"), str(path))
    for document in documents(to_yaml(source)):
        assert problems(document) == []


@pytest.mark.parametrize(
    "text",
    [
        "journey: j\nversion: 0\n",
        "journey: j\ntitel: x\n",
        "journey: J\n",
        "journey: j\nstages: {a: {s: {next: t, end: x}}}\n",
        "journey: j\nstages: {a: {s: {do: [{send: {channel: e}}], next: t}}}\n",
        "journey: j\nstages: {a: {s: {wait: [{after: 7d}]}}}\n",
        "journey: j\nreentry: sometimes\n",
        "schema: s\nchannels: {email: {requires: consent_email}}\n",
        "schema: s\npolicy: {caps: [{channel: email, max: 3}]}\n",
        "schema: s\npolicy: {priority: {journeys: [a], experiences: [coach_behavior]}}\n",
        "schema: s\npolicy: {conflict: drop}\n",
        "schema: s\npolicy: {settle: soon}\n",
        "journey: j\ngoals: [{name: g, on: e, expect: 12}]\n",
        "- a\n",
    ],
)
def test_bad_documents_do_not_validate(text: str) -> None:
    (document,) = documents(text)
    assert problems(document), f"{text!r} should not validate"
