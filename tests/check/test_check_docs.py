"""docs/diagnostics.md is generated from the registry, and every example in it does what it says."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from journeydsl.check.examples import run_example
from journeydsl.diagnostics import Severity, codes
from journeydsl.diagnostics.docgen import example_suffix, render_page
from journeydsl.diagnostics.examples import LATIN1_BAD, example, example_files

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


# ---- the example files (src/journeydsl/diagnostics/examples/)


def test_every_example_file_belongs_to_a_registered_code() -> None:
    registered = {c.code for c in codes.all_codes()}
    assert sorted(code for code, _ in example_files() if code not in registered) == []


@pytest.mark.parametrize("code", codes.all_codes(), ids=lambda c: c.code)
def test_example_files_are_named_for_what_they_hold(code: codes.Code) -> None:
    """`.scenario.yaml` for a scenario file, `.journeydsl.toml` for a project file, `.journey.yaml` for YAML,
    `.journey` for the DSL: what the docs' fence and check/examples.py decide (docgen.example_suffix), so the file
    opens as what it is."""
    for which, text in (("bad", code.bad_example), ("good", code.good_example)):
        suffix = example_suffix(code.code, text)
        assert example_files()[(code.code, which)] == f"{code.code}.{which}.{suffix}"


def test_the_latin1_example_is_stored_as_latin1() -> None:
    """JD006 is about a file that is not UTF-8: its failing example must stay bytes that UTF-8 cannot decode."""
    for code in LATIN1_BAD:
        name = example_files()[(code, "bad")]
        data = resources.files("journeydsl.diagnostics.examples").joinpath(name).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert example(code, "bad") == data.decode("latin-1")
        assert not example(code, "bad").isascii()
