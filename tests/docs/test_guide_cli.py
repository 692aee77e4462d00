"""docs/guide/cli.md is generated from the click commands: it must be up to date and name every command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.cli.reference import command_section, commands, reference

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guide" / "cli.md"


def test_cli_reference_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == reference(), (
        "docs/guide/cli.md is out of date: run `python -m journeydsl.cli.reference > docs/guide/cli.md`"
    )


def test_every_command_and_option_is_in_the_reference() -> None:
    page = PAGE.read_text(encoding="utf-8")
    found = commands()
    names = [name for name, _, _ in found]
    assert set(main.list_commands(click.Context(main))) <= set(names)
    assert any(" " in name for name in names), "subcommands of groups are documented too"
    for name, command, _ in found:
        assert f"### `journeydsl {name}`" in page
        section = command_section(name)
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for opt in param.opts:
                    assert opt in section, f"{name}: {opt} is missing from its section"


def test_usage_lines_match_the_terminal_help() -> None:
    """The usage line of each section is what `journeydsl COMMAND --help` prints."""
    runner = CliRunner()
    for name in ("run", "check", "build", "test"):
        shown = runner.invoke(main, [name, "--help"], prog_name="journeydsl").output
        usage = re.search(r"Usage: (.*)", shown)
        assert usage is not None
        assert f"```text\n{usage.group(1).strip()}\n```" in command_section(name)


def test_regenerating_from_the_command_line_gives_the_page() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "journeydsl.cli.reference"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == PAGE.read_text(encoding="utf-8")


def test_completion_is_documented_and_works() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert "_JOURNEYDSL_COMPLETE=bash_source journeydsl" in page
    script = CliRunner().invoke(main, [], prog_name="journeydsl", env={"_JOURNEYDSL_COMPLETE": "bash_source"})
    assert script.exit_code == 0 and "_JOURNEYDSL_COMPLETE" in script.output and "complete " in script.output
    words = CliRunner().invoke(
        main,
        [],
        prog_name="journeydsl",
        env={"_JOURNEYDSL_COMPLETE": "bash_complete", "COMP_WORDS": "journeydsl re", "COMP_CWORD": "1"},
    )
    assert "plain,render" in words.output and "plain,report" in words.output


def test_unknown_command_section_is_a_key_error() -> None:
    try:
        command_section("no-such-command")
    except KeyError:
        return
    raise AssertionError("expected KeyError")
