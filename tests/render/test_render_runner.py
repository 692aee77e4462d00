"""The layout program: system `dot` preferred, `graphviz-pure` otherwise, a clear error with neither."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import render_fixtures

from journeydsl.project import Project
from journeydsl.render import DiagramError, render_journey, render_journeys, runner


@pytest.fixture(name="fixture_project")
def _fixture_project() -> Project:
    return render_fixtures.fixture_project()


def _fake_dot(folder: Path) -> Path:
    """A `dot` that answers every request with a marker, to prove it is the one that ran."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "dot"
    script.write_text('#!/bin/sh\ncat >/dev/null\necho FAKE-DOT "$@"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def test_system_dot_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture_project: Project) -> None:
    fake = _fake_dot(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert runner.find_layout_program() == str(fake)
    journey = fixture_project.journeys()[0]
    assert render_journey(journey, "svg") == b"FAKE-DOT -Tsvg\n"


def test_without_system_dot_every_journey_renders_svg_and_png(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture_project: Project
) -> None:
    # A PATH with no `dot` on it: only the graphviz-pure beside the interpreter can be found.
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    program = runner.find_layout_program()
    assert Path(program).name.startswith("graphviz-pure")
    journeys = fixture_project.journeys()
    svgs = render_journeys(journeys, tmp_path / "svg", "svg")
    pngs = render_journeys(journeys, tmp_path / "png", "png")
    assert len(svgs) == len(pngs) == len(journeys) >= 4
    for path in svgs:
        text = path.read_text(encoding="utf-8")
        assert "<svg" in text and "</svg>" in text
    for path in pngs:
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_with_neither_the_error_names_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(runner, "_bundled_pure", lambda: None)
    with pytest.raises(DiagramError) as caught:
        runner.find_layout_program()
    assert "dot" in str(caught.value) and "graphviz-pure" in str(caught.value)


def test_failed_layout_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture_project: Project
) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    broken = folder / "dot"
    broken.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 3\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    out = tmp_path / "out"
    with pytest.raises(DiagramError, match="syntax error in line 1"):
        render_journeys(fixture_project.journeys(), out, "svg")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bin"]  # no staging folder left behind


def test_every_example_journey_renders_without_system_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The live examples in journeys/ (not the frozen fixtures): what `make demo` draws on a bare machine."""
    from journeydsl.project import load_project

    project = load_project([render_fixtures.REPO / "journeys"], templates_dir=render_fixtures.TEMPLATES)
    assert not project.has_errors, project.diagnostics
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    for fmt, magic in (("svg", b"<?xml"), ("png", b"\x89PNG")):
        written = render_journeys(project.journeys(), tmp_path / fmt, fmt)
        assert len(written) == len(project.journeys()) >= 5
        assert all(path.read_bytes().startswith(magic) for path in written)
