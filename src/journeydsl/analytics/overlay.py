"""`render --overlay STORE`: the journey diagrams with run-time counts from a store.

Each diagram gets the counts of its own journey version: how many instances reached each step
(under the step) and how often each transition was taken (edge label and width). The counts are the
store's aggregates (`Store.transition_aggregates`: kept by a SQLite store as it commits, counted in SQL by
PostgreSQL), not a loop over every transition. Uses only the public API of `journeydsl.render`; writes all
diagrams or none, as `render` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from journeydsl.analytics import ENTRY_NODE, EdgeCounts, StepCounts
from journeydsl.analytics.source import SourceError, open_for_report
from journeydsl.ir import Journey
from journeydsl.render import EXTENSIONS, DiagramError, diagram_names, find_layout_program, journey_to_dot
from journeydsl.render.output import staged_files
from journeydsl.render.runner import render_dot

OVERLAY_FORMATS = ("svg", "png", "dot")

VersionCounts = dict[tuple[str, int], tuple[StepCounts, EdgeCounts]]


def overlay_counts_from_store(store_url: str) -> VersionCounts:
    """`(journey, version) -> (reach per step, count per (from, to))`, entries as `(ENTRY_NODE, step)`; raises
    SourceError for a store that cannot be opened or read."""
    from journeydsl.runtime.store import StoreError

    store = open_for_report(store_url)
    try:
        found = store.transition_aggregates().by_version()
    except StoreError as err:  # a damaged table is found while it is read
        raise SourceError(str(err)) from err
    finally:
        store.close()
    return {
        key: (steps, {(ENTRY_NODE if a is None else a, b): n for (a, b), n in edges.items()})
        for key, (steps, edges) in found.items()
    }


def render_overlays(journeys: Sequence[Journey], out_dir: Path, fmt: str, store_url: str) -> list[Path]:
    """Raises DiagramError (also for a store that cannot be read) and writes nothing then."""
    if fmt not in OVERLAY_FORMATS:
        raise DiagramError(f"--overlay draws {', '.join(OVERLAY_FORMATS)} diagrams (Mermaid has no edge widths)")
    try:
        counts = overlay_counts_from_store(store_url)
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
