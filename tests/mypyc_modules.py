"""The modules the pyproject's mypyc hook compiles (`make compiled`, the platform wheel), read from its include list,
so the tests that check a compiled build follow the one list."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compiled_modules() -> tuple[str, ...]:
    """Dotted names, e.g. `journeydsl.runtime.engine`."""
    hooks = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]
    paths = [Path(path).relative_to("/src").with_suffix("") for path in hooks["mypyc"]["include"]]
    return tuple(path.as_posix().replace("/", ".") for path in paths)
