"""Finds the data files shipped with the package: the grammar and the docs templates.

In a wheel they live under `journeydsl/_data/`; in a source checkout (editable
install, tests) they are read from the repository's top-level folders.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


def data_path(relative: str) -> Path:
    """The path of a shipped data file, e.g. `grammar/journey.lark`."""
    packaged = Path(str(resources.files("journeydsl"))) / "_data" / relative
    if packaged.exists():
        return packaged
    checkout = _REPO_ROOT / relative
    if checkout.exists():
        return checkout
    raise FileNotFoundError(f"journeydsl data file {relative!r} is missing from the installation")


def grammar_path() -> Path:
    return data_path("grammar/journey.lark")


def docs_templates_dir() -> Path:
    return data_path("templates/docs")
