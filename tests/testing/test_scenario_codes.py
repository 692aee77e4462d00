"""The JD7xx examples of docs/diagnostics.md do what they say: the failing one gives its code, the passing one not."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeydsl.diagnostics import codes
from journeydsl.diagnostics.docgen import EXAMPLE_SCHEMA, EXAMPLE_TEMPLATES
from journeydsl.testing.runner import run_tests

SCENARIO_CODES = [c for c in codes.all_codes() if c.code.startswith("JD7")]


def found_codes(tmp_path: Path, scenario: str) -> set[str]:
    """Run the example next to the docs' schema, templates and the `welcome` journey of JD001's passing example."""
    tmp_path.mkdir()
    (tmp_path / "shop.journey").write_text(EXAMPLE_SCHEMA)
    (tmp_path / "welcome.journey").write_text(codes.SYNTAX_ERROR.good_example)
    for name, body in EXAMPLE_TEMPLATES.items():
        path = tmp_path / "templates" / "messages" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    (tmp_path / "example.scenario.yaml").write_text(scenario)
    run = run_tests([tmp_path], templates_dir=tmp_path / "templates")
    return {d.code.code for d in run.diagnostics}


@pytest.mark.parametrize("code", SCENARIO_CODES, ids=lambda c: c.code)
def test_examples(code: codes.Code, tmp_path: Path) -> None:
    assert code.explanation and code.bad_example and code.good_example
    assert code.code in found_codes(tmp_path / "bad", code.bad_example)
    assert found_codes(tmp_path / "good", code.good_example) == set()
