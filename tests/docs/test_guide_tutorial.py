"""docs/guide/tutorial.md, done as a reader would: write its files, run its commands, compare their output.

The page's marks and how they are carried out: test_guide_runner.py. Everything happens in an empty folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from test_guide_runner import run_page

from journeydsl.docs.guide import fenced_blocks

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guide" / "tutorial.md"


def test_the_tutorial_works_as_written(tmp_path: Path) -> None:
    blocks = fenced_blocks(PAGE.read_text(encoding="utf-8"))
    ran = run_page(blocks, tmp_path, PAGE.name)
    for command in ("check", "fmt", "render", "docs", "test", "build", "run", "report", "convert", "init"):
        assert any(re.search(rf"\bjourneydsl {command}\b", line) for line in ran), f"the tutorial never runs {command}"
    assert (tmp_path / "diagrams" / "welcome.svg").is_file()
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "build" / "shop.jbundle").is_file()
    assert (tmp_path / "journeydsl.toml").is_file()


def test_the_tutorial_shows_a_mistake_and_the_yaml_form() -> None:
    blocks = fenced_blocks(PAGE.read_text(encoding="utf-8"))
    assert any(block.attrs.get("run") == "1" for block in blocks), "no deliberate mistake"
    assert any(block.has("edit") for block in blocks), "the mistake is never fixed"
    assert any(block.lang == "yaml" for block in blocks)
