"""`fmt --check` shows what it would change as a unified diff, and rewrites nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from journeydsl.cli.format import fmt
from journeydsl.syntax.textdiff import unified_diff

MESSY = 'journey j {\n    title   "x"\n  stage s { step a { end } }\n}'


def test_check_prints_the_diff_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "j.journey"
    path.write_text(MESSY, encoding="utf-8")
    result = CliRunner().invoke(fmt, [str(path), "--check"])
    assert result.exit_code == 1
    assert f"--- {path}\n+++ {path} (formatted)\n@@ " in result.output
    assert '-    title   "x"\n' in result.output and '+  title "x"\n' in result.output
    assert "\\ No newline at end of file\n" in result.output
    assert path.read_text(encoding="utf-8") == MESSY


def test_a_formatted_file_prints_no_diff(tmp_path: Path) -> None:
    path = tmp_path / "j.journey"
    path.write_text('journey j {\n  title "x"\n\n  stage s {\n    step a { end }\n  }\n}\n', encoding="utf-8")
    result = CliRunner().invoke(fmt, [str(path), "--check"])
    assert result.exit_code == 0 and "---" not in result.output


def test_equal_texts_have_an_empty_diff() -> None:
    assert unified_diff("a\n", "a\n", "x") == ""
