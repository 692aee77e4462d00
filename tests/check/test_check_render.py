"""Renderers: a golden text output, and the shapes of JSON, SARIF and GitHub output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from journeydsl.check import check_project
from journeydsl.diagnostics import Diagnostic, codes
from journeydsl.diagnostics.render import render, render_github, render_json, render_sarif, render_text
from journeydsl.ir import Span
from journeydsl.project import load_project

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "graph.txt"


@pytest.fixture
def graph_diags(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Diagnostic], dict[str, str]]:
    monkeypatch.chdir(REPO)  # relative paths in the output, as a user would type them
    project = load_project(["tests/check/fixtures/graph.journey"], templates_dir="tests/check/fixtures/templates")
    return check_project(project), project.sources


def test_text_golden(graph_diags: tuple[list[Diagnostic], dict[str, str]]) -> None:
    diags, sources = graph_diags
    assert render_text(diags, sources, file_count=1) == GOLDEN.read_text(encoding="utf-8")


def test_text_color_only_when_asked(graph_diags: tuple[list[Diagnostic], dict[str, str]]) -> None:
    diags, sources = graph_diags
    assert "\x1b[" not in render_text(diags, sources)
    colored = render_text(diags, sources, color=True)
    assert "\x1b[1;31merror[JD302 instant-loop]\x1b[0m" in colored


def test_caret_underlines_the_span() -> None:
    diag = Diagnostic(codes.UNKNOWN_STEP, "step `don` does not exist", Span("a.journey", 2, 15, 2, 18), "did you mean?")
    out = render_text([diag], {"a.journey": "x\n  step a { -> don }\n"})
    assert out.splitlines()[1:4] == [
        "    2 |   step a { -> don }",
        "      |               ^~~",
        "  hint: did you mean?",
    ]
    assert out.endswith("1 error, 0 warnings in 1 file\n")


def test_json_shape(graph_diags: tuple[list[Diagnostic], dict[str, str]]) -> None:
    diags, _ = graph_diags
    items = json.loads(render_json(diags))
    assert len(items) == len(diags)
    first = items[0]
    assert set(first) == {
        "code",
        "name",
        "severity",
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "hint",
    }
    assert first["file"] == "tests/check/fixtures/graph.journey"
    assert {i["severity"] for i in items} == {"error", "warning"}


def test_sarif_shape(graph_diags: tuple[list[Diagnostic], dict[str, str]]) -> None:
    diags, _ = graph_diags
    log = json.loads(render_sarif(diags))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.code for c in codes.all_codes()]
    result = run["results"][0]
    assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert result["level"] in {"error", "warning", "note"}
    region = result["locations"][0]["physicalLocation"]["region"]
    assert {"startLine", "startColumn", "endLine", "endColumn"} <= set(region)
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("graph.journey")


def test_github_shape() -> None:
    diag = Diagnostic(codes.UNKNOWN_STEP, "step `a,b` 100%\nnext", Span("d/x.journey", 3, 4, 3, 9), None)
    note = Diagnostic(codes.NO_CONSENT_RULE, "no consent", None, None, severity=codes.N)
    out = render_github([diag, note])
    assert out == (
        "::error file=d/x.journey,line=3,col=4,endLine=3,endColumn=9,title=JD102::step `a,b` 100%25%0Anext\n"
        "::notice title=JD503::no consent\n"
    )


def test_render_dispatch_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown diagnostics format"):
        render("xml", [], {})
