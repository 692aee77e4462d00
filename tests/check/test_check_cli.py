"""`journeydsl check` exit codes, formats and --explain, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATES = str(FIXTURES / "templates")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", *args])
    return result.exit_code, result.output


def test_clean_file_exits_0() -> None:
    code, out = run(str(FIXTURES / "clean.journey"), "--templates", TEMPLATES)
    assert code == 0
    assert out == "0 errors, 0 warnings in 1 file\n"


def test_errors_exit_1() -> None:
    code, out = run(str(FIXTURES / "types.journey"), "--templates", TEMPLATES)
    assert code == 1
    assert "error[JD201 type-mismatch]" in out


def test_warnings_exit_0_unless_strict(tmp_path: Path) -> None:
    text = (FIXTURES / "clean.journey").read_text().replace('  owner "ana@shop.example"\n', "")
    (tmp_path / "schema.journey").write_text((FIXTURES / "schema.journey").read_text())
    (tmp_path / "warn.journey").write_text(text)
    code, out = run(str(tmp_path / "warn.journey"), "--templates", TEMPLATES)
    assert (code, "warning[JD501 missing-owner]" in out) == (0, True)
    code, _ = run(str(tmp_path / "warn.journey"), "--templates", TEMPLATES, "--strict")
    assert code == 1


def test_info_notes_do_not_fail_even_strict(tmp_path: Path) -> None:
    text = (FIXTURES / "clean.journey").read_text().replace("send email welcome", "send push ping")
    (tmp_path / "schema.journey").write_text((FIXTURES / "schema.journey").read_text())
    (tmp_path / "info.journey").write_text(text)
    code, out = run(str(tmp_path / "info.journey"), "--templates", TEMPLATES, "--strict")
    assert code == 0
    assert "info[JD503 no-consent-rule]" in out
    assert out.endswith("0 errors, 0 warnings, 1 note in 1 file\n")


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no project file above: no paths given and none to take from a project
    assert run()[0] == 2  # no paths
    assert run(str(FIXTURES), "--format", "xml")[0] == 2
    assert run(str(FIXTURES), "--bogus")[0] == 2


def test_missing_path_is_a_diagnostic_not_a_traceback() -> None:
    code, out = run("no/such/place.journey")
    assert code == 1
    assert "JD006" in out and "Traceback" not in out


def test_json_format() -> None:
    code, out = run(str(FIXTURES / "graph.journey"), "--templates", TEMPLATES, "--format", "json")
    assert code == 1
    items = json.loads(out)
    assert {"code", "severity", "message", "file", "line", "column", "end_line", "end_column", "hint"} <= set(items[0])
    assert all(item["line"] >= 1 and item["column"] >= 1 for item in items)


def test_explain_by_code_and_name() -> None:
    code, out = run("--explain", "JD102")
    assert code == 0
    assert out.startswith("JD102 unknown-step (error)\n")
    assert "Fails:" in out and "Passes:" in out and "-> don" in out
    assert run("--explain", "unknown-step")[1] == out


def test_explain_unknown_code_exits_2_with_hint() -> None:
    # A letter O for a zero; not in JD1xx, where JD1O2 is as close to JD112 as to JD102.
    code, out = run("--explain", "JD3O2")
    assert code == 2
    assert "did you mean `JD302`?" in out
    code, out = run("--explain", "unknown-stp")
    assert code == 2 and "unknown-step" in out
