"""Runs a Graphviz layout program on DOT text: the system `dot` when there is one, else `graphviz-pure`.

`graphviz-pure` is a pip dependency that installs an executable with dot's flags next to the interpreter,
so a fresh `pip install` can render SVG and PNG on a machine without Graphviz. The system `dot` wins when
present because it is the reference implementation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

FORMATS: tuple[str, ...] = ("svg", "png")
TIMEOUT_SECONDS = 120


class DiagramError(Exception):
    """Drawing a diagram failed: no layout program, or the program failed. The message is for the user.

    Not the runtime's `RenderError` (runtime/templates.py), which a message template raises.
    """


def _bundled_pure() -> str | None:
    """The `graphviz-pure` installed beside this interpreter, even when that bin folder is not on PATH."""
    for folder in (Path(sys.executable).parent, Path(sys.prefix) / "bin", Path(sys.prefix) / "Scripts"):
        for name in ("graphviz-pure", "graphviz-pure.exe"):
            candidate = folder / name
            if candidate.is_file():
                return str(candidate)
    return None


def find_layout_program() -> str:
    """The path of the program that will lay out DOT; raises DiagramError naming both options."""
    system_dot = shutil.which("dot")
    if system_dot:
        return system_dot
    pure = shutil.which("graphviz-pure") or _bundled_pure()
    if pure:
        return pure
    raise DiagramError(
        "cannot render diagrams: neither the system Graphviz `dot` nor the `graphviz-pure` program was found. "
        "Install Graphviz (e.g. `apt-get install graphviz`) or `pip install graphviz-pure` into this environment; "
        "`--format dot` and `--format mermaid` need neither."
    )


def render_dot(source: str, fmt: str, program: str | None = None) -> bytes:
    """Lay out DOT text and return the image bytes in `fmt` (svg or png)."""
    if fmt not in FORMATS:
        raise DiagramError(f"unknown image format {fmt!r}; expected one of {', '.join(FORMATS)}")
    exe = program or find_layout_program()
    try:
        done = subprocess.run(
            [exe, f"-T{fmt}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except OSError as err:
        raise DiagramError(f"cannot run {exe}: {err.strerror or err}") from err
    except subprocess.TimeoutExpired as err:
        raise DiagramError(f"{exe} took more than {TIMEOUT_SECONDS}s to lay out the diagram") from err
    if done.returncode != 0 or not done.stdout:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise DiagramError(f"{Path(exe).name} failed: {detail}")
    return done.stdout
