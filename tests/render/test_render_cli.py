"""`journeydsl render` from the command line: names, formats, versions, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from render_fixtures import FIXTURES, TEMPLATES

from journeydsl.cli import main


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("fmt", "suffix"), [("svg", "svg"), ("png", "png"), ("dot", "dot"), ("mermaid", "mmd")])
def test_render_every_fixture(tmp_path: Path, fmt: str, suffix: str) -> None:
    code, out, err = _run(
        "render", str(FIXTURES), "-o", str(tmp_path / "d"), "--format", fmt, "--templates", str(TEMPLATES)
    )
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "d").iterdir())
    assert f"solar_onboarding.{suffix}" in names and f"day_of_travel.{suffix}" in names
    assert len(out.splitlines()) == len(names)


def test_several_versions_get_version_suffix(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FIXTURES / "customer.journey", src)
    text = (FIXTURES / "solar_onboarding.journey").read_text(encoding="utf-8")
    (src / "a.journey").write_text(text, encoding="utf-8")
    (src / "b.journey").write_text(text.replace("version 3", "version 4"), encoding="utf-8")
    code, _, err = _run("render", str(src), "-o", str(tmp_path / "d"), "--format", "dot", "--templates", str(TEMPLATES))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["solar_onboarding@3.dot", "solar_onboarding@4.dot"]


def test_bad_input_prints_diagnostics_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.journey"
    bad.write_text('journey x {\n  version 1\n  owner "a"\n  entry on foo\n  stage s { step a { -> nowhere } }\n}\n')
    out = tmp_path / "out"
    code, stdout, err = _run("render", str(bad), "-o", str(out))
    assert code == 1
    assert "JD102" in err and f"{bad}:5:" in err
    assert "Traceback" not in err + stdout
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.journey"]


def test_no_renderer_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from journeydsl.render import runner

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(runner, "_bundled_pure", lambda: None)
    code, _, err = _run("render", str(FIXTURES), "-o", str(tmp_path / "d"), "--templates", str(TEMPLATES))
    assert code == 1
    assert "graphviz-pure" in err and "`dot`" in err
    assert not (tmp_path / "d").exists()
