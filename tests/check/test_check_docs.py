"""docs/diagnostics.md is generated from the registry, and every example in it does what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeydsl.check.examples import run_example
from journeydsl.diagnostics import Severity, codes
from journeydsl.diagnostics.docgen import render_page

DOC = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"

# Scenario-file codes (JD7xx) are about *.scenario.yaml, which the scenario runner's tests cover.
CHECKABLE = [c for c in codes.all_codes() if not c.code.startswith("JD7")]


def test_doc_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render_page(), "run: python -m journeydsl.diagnostics.docgen"


def test_every_checker_code_has_explanation_and_examples() -> None:
    missing = [c.code for c in CHECKABLE if not (c.explanation and c.bad_example and c.good_example)]
    assert missing == []


@pytest.mark.parametrize("code", CHECKABLE, ids=lambda c: c.code)
def test_bad_example_gives_its_code(code: codes.Code) -> None:
    diags = run_example(code.bad_example, code.code, bad=True)
    assert code.code in {d.code.code for d in diags}, [d.message for d in diags]


@pytest.mark.parametrize("code", CHECKABLE, ids=lambda c: c.code)
def test_good_example_is_clean(code: codes.Code) -> None:
    diags = run_example(code.good_example, code.code)
    assert code.code not in {d.code.code for d in diags}
    # Passing examples are fully clean, so readers can copy them.
    assert [d.message for d in diags if d.severity >= Severity.WARNING] == []
