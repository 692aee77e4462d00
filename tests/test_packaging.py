"""The wheel carries what the installed package needs outside a checkout: the grammar and the docs templates; the
platform wheel `make wheel` builds carries the compiled runtime."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mypyc_modules import compiled_modules

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_grammar_and_docs_templates(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("journeydsl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "journeydsl/_data/grammar/journey.lark" in names
    docs_templates = {name for name in names if name.startswith("journeydsl/_data/templates/docs/")}
    shipped = {p.relative_to(ROOT / "templates/docs").as_posix() for p in (ROOT / "templates/docs").rglob("*")}
    assert {name.removeprefix("journeydsl/_data/templates/docs/") for name in docs_templates} >= {
        name for name in shipped if (ROOT / "templates/docs" / name).is_file()
    }
    assert any(name.endswith("entry_points.txt") for name in names)


# --------------------------------------------------------------------------- the platform wheel (`make wheel`)


def _platform_wheel() -> Path:
    """The wheel `make wheel` (and so `make test`) leaves in dist/; `make test` sets JOURNEYDSL_EXPECT_WHEEL so that
    a missing wheel fails there instead of skipping."""
    found = sorted((ROOT / "dist").glob("journeydsl-*.whl"))
    if not found:
        if os.environ.get("JOURNEYDSL_EXPECT_WHEEL"):
            pytest.fail("no wheel in dist/: `make wheel` did not build it")
        pytest.skip("no wheel in dist/ (`make wheel` builds it)")
    assert len(found) == 1, f"one wheel expected in dist/, found {[p.name for p in found]}"
    return found[0]


def test_the_platform_wheel_is_tagged_manylinux_and_carries_the_compiled_runtime() -> None:
    wheel = _platform_wheel()
    tags = wheel.name.removesuffix(".whl").split("-")[2:]
    assert tags[0] == f"cp{sys.version_info.major}{sys.version_info.minor}", wheel.name
    assert "manylinux" in tags[2], f"not a manylinux platform wheel: {wheel.name}"
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in compiled_modules():
        assert any(n.startswith(module.replace(".", "/") + ".cpython-") and n.endswith(".so") for n in names), module
        assert module.replace(".", "/") + ".py" in names  # the same source ships beside it
    assert "journeydsl/_data/grammar/journey.lark" in names


def test_the_platform_wheel_installs_and_runs_compiled(tmp_path: Path) -> None:
    wheel = _platform_wheel()
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    shown = subprocess.run(
        [sys.executable, "-c", "from journeydsl.cli import main; main()", "--version"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "compiled runtime (mypyc)" in shown.stdout, shown.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import journeydsl.runtime.core as c; print(c.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(target)) and where.stdout.strip().endswith(".so"), where.stdout
