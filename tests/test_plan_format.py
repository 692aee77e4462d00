"""The plan format is one typed module (runtime/plan_format.py), and everything else follows from it (issue 13).

- The JSON Schema the loader checks plans with is generated from the types; the generated schema is committed
  (tests/compile/plan-1.schema.json, index-1.schema.json), so a change to the format is a visible change to
  those files: `python tests/test_plan_format.py --write` rewrites them.
- `jsonschema` (the reference validator) accepts what the compiler writes for every journey under journeys/ and
  tests/ that checks clean, and every plan of the fuzz corpus the loader runs.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from journeydsl.check import check_project
from journeydsl.compile.plan import build_index, lower_journey
from journeydsl.diagnostics import Severity
from journeydsl.ir import Journey, Schema
from journeydsl.project import load_project
from journeydsl.runtime.plan_schema import INDEX_SCHEMA, PLAN_SCHEMA, validate_index, validate_plan

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
SCHEMA_FILES = {
    TESTS / "compile" / "plan-1.schema.json": PLAN_SCHEMA,
    TESTS / "compile" / "index-1.schema.json": INDEX_SCHEMA,
}
# The journeys the tests build bundles of: the examples, and the test fixtures (files with errors on purpose are
# skipped), each with the templates folder it is checked against.
PROJECTS = [
    [ROOT / "journeys"],
    [TESTS / "testing" / "fixtures" / "solar" / "journeys"],
    [TESTS / "render" / "fixtures"],
    [TESTS / "check" / "fixtures"],
    [TESTS / "syntax" / "spec_example.journey"],
]
CORPUS_PLANS = sorted((TESTS / "fuzz_corpus" / "bundles").glob("runs-*.plan.json"))


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@cache
def compiled_journeys() -> list[tuple[Journey, Schema | None, dict[str, Any]]]:
    """(journey, its schema, its plan as the bundle holds it) for every journey of PROJECTS whose file checks clean."""
    found: list[tuple[Journey, Schema | None, dict[str, Any]]] = []
    for paths in PROJECTS:
        templates = paths[0].parent / "templates" if paths[0].is_file() else paths[0] / "templates"
        project = load_project(paths, templates_dir=templates if templates.is_dir() else ROOT / "templates")
        broken = {d.span.file for d in check_project(project) if d.severity is Severity.ERROR and d.span is not None}
        for file, journey in project.journey_files():
            if file.path in broken:
                continue
            schema = project.schema_for(journey)
            plan = lower_journey(journey, schema, source=file.path)
            found.append((journey, schema, json.loads(json.dumps(plan))))
    return found


# --------------------------------------------------------------------------- the schema, generated and committed


@pytest.mark.parametrize("path", sorted(SCHEMA_FILES), ids=lambda p: p.name)
def test_the_generated_schema_is_the_committed_one(path: Path) -> None:
    assert path.read_text(encoding="utf-8") == schema_text(SCHEMA_FILES[path]), (
        f"the plan format changed: review the change, then `python tests/test_plan_format.py --write` ({path.name})"
    )


def test_the_generated_schemas_are_valid_draft_2020_12() -> None:
    for schema in SCHEMA_FILES.values():
        jsonschema.Draft202012Validator.check_schema(schema)


# --------------------------------------------------------------------------- what the compiler writes


def test_jsonschema_accepts_every_plan_the_compiler_writes() -> None:
    compiled = compiled_journeys()
    assert len(compiled) >= 13 and len({j.name for j, _, _ in compiled}) >= 8  # a reason to trust this test
    assert len([p for p in compiled if str(p[2]["source"]).startswith(str(ROOT / "journeys"))]) >= 7
    checker = jsonschema.Draft202012Validator(PLAN_SCHEMA)
    for journey, _, plan in compiled:
        assert [e.message for e in checker.iter_errors(plan)] == [], (journey.name, plan["source"])
        validate_plan(plan)


def test_jsonschema_accepts_every_index_the_compiler_writes() -> None:
    checker = jsonschema.Draft202012Validator(INDEX_SCHEMA)
    index = build_index(plan for _, _, plan in compiled_journeys())
    assert [e.message for e in checker.iter_errors(index)] == []
    validate_index(index)


@pytest.mark.parametrize("path", CORPUS_PLANS, ids=lambda p: p.name)
def test_jsonschema_accepts_every_plan_of_the_corpus_that_runs(path: Path) -> None:
    plan = json.loads(path.read_bytes())
    validate_plan(plan)
    assert [e.message for e in jsonschema.Draft202012Validator(PLAN_SCHEMA).iter_errors(plan)] == []


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_plan_format.py --write   (rewrites the committed schemas)")
    for target, generated in SCHEMA_FILES.items():
        target.write_text(schema_text(generated), encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
