"""The wheel carries what the installed package needs outside a checkout: the grammar and the docs templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

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
