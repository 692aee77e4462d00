"""docs/guide/scenarios.md: its scenario file runs and passes as shown, and it shows every key the runner reads."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from test_guide_runner import run_page
from yaml.nodes import MappingNode, Node, SequenceNode

from journeydsl.diagnostics import Sink
from journeydsl.docs.guide import fenced_blocks
from journeydsl.syntax.safe_yaml import compose
from journeydsl.testing import scenario as scenario_module

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guide" / "scenarios.md"
BLOCKS = fenced_blocks(PAGE.read_text(encoding="utf-8"))


def test_the_page_runs_as_written(tmp_path: Path) -> None:
    ran = run_page(BLOCKS, tmp_path, PAGE.name)
    assert sum(command.startswith("journeydsl test") for command in ran) >= 3


def _runner_keys() -> set[str]:
    """Every key the scenario reader accepts: its `*_KEYS` constants and the tuples it passes to `mapping(...)`."""
    tree = ast.parse(Path(scenario_module.__file__).read_text(encoding="utf-8"))
    keys: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id.endswith("_KEYS") for t in node.targets
        ):
            keys.update(ast.literal_eval(node.value))
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "mapping":
            if len(call.args) >= 3 and isinstance(call.args[2], ast.Tuple):
                keys.update(ast.literal_eval(call.args[2]))
    return keys


def _keys(node: Node) -> Iterator[str]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield str(key.value)
            yield from _keys(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _keys(item)


def test_every_scenario_key_has_an_example() -> None:
    expected = _runner_keys()
    assert {"scenarios", "advance", "expect", "reason", "force"} <= expected  # the reading works
    used: set[str] = set()
    for block in BLOCKS:
        if block.lang == "yaml":
            for document in compose(block.text, "x.yaml", Sink()):
                used.update(_keys(document.root))
    missing = sorted(expected - used)
    assert not missing, f"scenario keys with no example in {PAGE.name}: {missing}"
    text = PAGE.read_text(encoding="utf-8")
    undocumented = sorted(key for key in expected if f"`{key}`" not in text)
    assert not undocumented, f"scenario keys the tables of {PAGE.name} do not explain: {undocumented}"


def test_every_send_status_and_expect_form_is_shown() -> None:
    text = "".join(block.text for block in BLOCKS if block.lang == "yaml")
    for status in scenario_module.SEND_STATUSES:
        assert f"status: {status}" in text
    for form in (
        "sets: [profile.",
        "sets: {",
        "- {field: profile.",
        "calls: [",
        "goals: [{name:",
        '"*"',
        "advance: 2026",
    ):
        assert form in text, form


def test_the_scenario_file_validates_against_its_json_schema() -> None:
    """schemas/scenario.schema.json (for editors) accepts the page's scenario file."""
    import json

    from jsonschema import Draft202012Validator

    from journeydsl.syntax.yaml_loader import node_to_data

    validator = Draft202012Validator(json.loads((ROOT / "schemas" / "scenario.schema.json").read_text("utf-8")))
    scenario_blocks = [b for b in BLOCKS if b.attrs.get("file", "").endswith(".scenario.yaml")]
    assert scenario_blocks
    for block in scenario_blocks:
        for document in compose(block.text, "x.scenario.yaml", Sink()):
            errors = [
                f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(node_to_data(document.root))
            ]
            assert not errors, f"{PAGE.name}:{block.line}: {errors}"
