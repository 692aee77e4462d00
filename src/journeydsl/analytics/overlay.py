"""`render --overlay STORE`: the journey diagrams with run-time counts from a store.

Each diagram gets the counts of its own journey version: how many instances reached each step
(under the step) and how often each transition was taken (edge label and width). Uses only the
public API of `journeydsl.render`; writes all diagrams or none, as `render` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from journeydsl.analytics import overlay_counts_by_version
from journeydsl.analytics.source import SourceError
from journeydsl.ir import Journey
from journeydsl.render import EXTENSIONS, DiagramError, diagram_names, find_layout_program, journey_to_dot
from journeydsl.render.output import staged_files
from journeydsl.render.runner import render_dot

OVERLAY_FORMATS = ("svg", "png", "dot")


def render_overlays(journeys: Sequence[Journey], out_dir: Path, fmt: str, store_url: str) -> list[Path]:
    """Raises DiagramError (also for a store that cannot be read) and writes nothing then."""
    if fmt not in OVERLAY_FORMATS:
        raise DiagramError(f"--overlay draws {', '.join(OVERLAY_FORMATS)} diagrams (Mermaid has no edge widths)")
    try:
        counts = overlay_counts_by_version(store_url)
    except SourceError as err:
        raise DiagramError(f"--overlay: {err}") from err
    program = find_layout_program() if fmt != "dot" else None
    written: list[Path] = []
    with staged_files(out_dir) as staging:
        for journey, name in zip(journeys, diagram_names(journeys), strict=True):
            steps, edges = counts.get((journey.name, journey.version or 0), ({}, {}))
            source = journey_to_dot(journey, steps, edges).source
            data = source.encode("utf-8") if fmt == "dot" else render_dot(source, fmt, program)
            filename = f"{name}.{EXTENSIONS[fmt]}"
            (staging / filename).write_bytes(data)
            written.append(out_dir / filename)
    return written
