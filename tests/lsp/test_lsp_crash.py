"""A bug in the checker is one diagnostic at the top of the file, not a dead server (checked in-process: a
protocol test cannot make the real checker fail on purpose)."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeydsl.lsp import server as lsp_server


def test_a_checker_crash_is_a_diagnostic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(document: Path, buffers: object) -> object:
        raise RuntimeError("a bug in a pass")

    monkeypatch.setattr(lsp_server, "analyse", broken)
    server = lsp_server.JourneyServer()
    monkeypatch.setattr(server, "buffers", dict)
    analysis, index = server.project(str(tmp_path / "x.journey"))
    [found] = analysis.diagnostics
    assert "could not check this project" in found.message and "a bug in a pass" in found.message
    assert found.span is not None and found.span.line == 1
    assert index.symbols == []
