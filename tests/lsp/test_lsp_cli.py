"""`journeydsl lsp` on the command line: without pygls it says what to install, not a traceback."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from journeydsl.cli import main


def test_without_pygls_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "journeydsl.lsp.server", raising=False)
    for name in ("pygls", "pygls.lsp", "pygls.lsp.server"):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: `import` raises ImportError
    result = CliRunner().invoke(main, ["lsp"])
    assert result.exit_code == 1
    assert "needs the package `pygls`" in result.output and "pip install pygls" in result.output
    assert "Traceback" not in result.output
