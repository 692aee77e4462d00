"""Diagrams: IR -> drawing model (`graph`) -> Graphviz DOT or Mermaid -> SVG/PNG via `runner`.

Public API:
- `journey_to_dot(journey, step_counts=None, edge_counts=None) -> graphviz.Digraph`
- `journey_to_mermaid(journey) -> str`
- `render_journey(journey, fmt) -> bytes` (fmt: svg, png, dot, mermaid)
- `diagram_names(journeys) -> list[str]`: `<journey>` or, with several versions, `<journey>@<version>`
- `render_journeys(journeys, out_dir, fmt) -> list[Path]`, all or nothing
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from journeydsl.ir import Journey
from journeydsl.render.graphviz_backend import dot_source, journey_to_dot
from journeydsl.render.mermaid import journey_to_mermaid
from journeydsl.render.output import staged_files
from journeydsl.render.runner import DiagramError, find_layout_program, render_dot

FORMATS: tuple[str, ...] = ("svg", "png", "dot", "mermaid")
EXTENSIONS: dict[str, str] = {"svg": "svg", "png": "png", "dot": "dot", "mermaid": "mmd"}


__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "DiagramError",
    "diagram_names",
    "dot_source",
    "find_layout_program",
    "journey_to_dot",
    "journey_to_mermaid",
    "render_journey",
    "render_journeys",
]


def render_journey(journey: Journey, fmt: str, program: str | None = None) -> bytes:
    if fmt == "dot":
        return dot_source(journey).encode("utf-8")
    if fmt == "mermaid":
        return journey_to_mermaid(journey).encode("utf-8")
    return render_dot(dot_source(journey), fmt, program)


def diagram_names(journeys: Sequence[Journey]) -> list[str]:
    """File stems: the journey name, or `name@version` when the paths hold several versions of it."""
    versions = Counter(journey.name for journey in journeys)
    names = [
        f"{journey.name}@{journey.version}" if versions[journey.name] > 1 else journey.name for journey in journeys
    ]
    # Two copies of the same name and version would overwrite each other; number the repeats.
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name}~{seen[name]}")
    return unique


def render_journeys(journeys: Sequence[Journey], out_dir: Path, fmt: str) -> list[Path]:
    """Render every journey into `out_dir`; on any failure nothing is written."""
    if fmt not in FORMATS:
        raise DiagramError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    program = find_layout_program() if fmt in ("svg", "png") else None
    written: list[Path] = []
    with staged_files(out_dir) as staging:
        for journey, name in zip(journeys, diagram_names(journeys), strict=True):
            filename = f"{name}.{EXTENSIONS[fmt]}"
            (staging / filename).write_bytes(render_journey(journey, fmt, program))
            written.append(out_dir / filename)
    return written
