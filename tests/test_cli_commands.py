"""The lazy command group knows every command each CLI module defines, and nothing else."""

from __future__ import annotations

import importlib
import pkgutil

from click.testing import CliRunner

import journeydsl.cli
from journeydsl.cli import _COMMAND_MODULES, main


def test_every_module_command_is_reachable_by_name() -> None:
    defined: dict[str, str] = {}
    for info in pkgutil.iter_modules(journeydsl.cli.__path__):
        module = importlib.import_module(f"journeydsl.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            defined[command.name] = info.name
    assert defined == _COMMAND_MODULES


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in _COMMAND_MODULES:
        assert f"  {name} " in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["chekc"])
    assert result.exit_code == 2
    assert "No such command" in result.output
