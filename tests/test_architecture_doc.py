"""docs/architecture.md says what the code does: its layer table is tests/test_layers.py's, its paths exist."""

from __future__ import annotations

import re
from pathlib import Path

from test_layers import LAYERS

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"

_ROW = re.compile(r"^\| `(?P<layer>[a-z_]+)` \| (?P<allowed>[^|]+) \|", re.M)
_PATH = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|md|lark|json))`")


def _allowed(layer: str, cell: str) -> frozenset[str]:
    """`nothing`, a list of `layer` names, or `every other layer` with `but` exceptions."""
    cell = cell.strip()
    names = frozenset(re.findall(r"`([a-z_]+)`", cell))
    if cell == "nothing":
        return frozenset()
    if cell.startswith("every other layer"):
        return frozenset(LAYERS) - {layer} - names
    return names


def test_the_layer_table_is_the_one_the_layers_test_enforces() -> None:
    text = PAGE.read_text(encoding="utf-8")
    table = {m["layer"]: _allowed(m["layer"], m["allowed"]) for m in _ROW.finditer(text)}
    assert table == {layer: allowed for layer, (allowed, _) in LAYERS.items()}


def test_every_path_the_page_names_exists() -> None:
    """Paths are from the repository root, or from src/journeydsl for a module named inside its package."""
    text = PAGE.read_text(encoding="utf-8")
    missing = [
        path
        for path in sorted(set(_PATH.findall(text)))
        if not (ROOT / path).exists() and not (ROOT / "src" / "journeydsl" / path).exists()
    ]
    assert missing == []
