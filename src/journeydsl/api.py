"""The public Python API: load a project, check it, render the findings.

Typical use: `print(render_text(check_paths(["journeys/"]), {}))`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journeydsl.analytics.pressure import PressureError, PressureReport
from journeydsl.analytics.source import expectations_from_store
from journeydsl.check import check_project
from journeydsl.diagnostics import Code, Diagnostic, Severity
from journeydsl.diagnostics.render import render_github, render_json, render_sarif, render_text
from journeydsl.project import Project, load_project

if TYPE_CHECKING:
    from journeydsl.runtime.workers import RunOutcome


def check_paths(paths: Sequence[str | Path], templates_dir: str | Path | None = None) -> list[Diagnostic]:
    """Load and check journey files and folders; every finding, sorted by location. Never raises on bad input."""
    return check_project(load_project(paths, templates_dir=templates_dir))


def run_events(bundle: Any, events: str | Path, store: str = "memory://", **options: Any) -> RunOutcome:
    """`journeydsl run` on a JSONL file, the records collected: `workers=N` processes (default 1; None: the
    command's default), `until`, `max_skew`, `batch`, `public_key`, `wait`, `allow_orphans`, `allow_rollback` as
    its options. See `journeydsl.runtime.workers.run_events`."""
    from journeydsl.runtime.workers import run_events as run

    return run(bundle, events, store, **options)


def pressure(
    paths: Sequence[str | Path],
    *,
    events: str | Path | None = None,
    synth: int | None = None,
    seed: int = 7,
    until: str | None = None,
    templates_dir: str | Path | None = None,
) -> PressureReport:
    """Run every journey in `paths` together over `events` (a JSONL file) or `synth` synthetic customers
    (`journeydsl synth`'s stream without its bad events) and report the contact pressure per channel.

    Raises BuildError (its diagnostics) when the journeys do not check or compile, PressureError when there is no
    event to run."""
    from journeydsl.analytics.pressure import file_events, simulate
    from journeydsl.compile import BuildError, CompileError, compile_project
    from journeydsl.compile.bundle import created_from_paths
    from journeydsl.diagnostics import has_errors
    from journeydsl.runtime.bundle import load_bundle
    from journeydsl.testing.synth import generate_events

    if (events is None) == (synth is None):
        raise PressureError("give either an events file or a number of synthetic customers")
    project = load_project(paths, templates_dir=templates_dir)
    diagnostics = check_project(project)
    if has_errors(diagnostics):
        raise BuildError(diagnostics, project.sources)
    if not project.journeys():
        raise PressureError("no journeys found in " + ", ".join(map(str, paths)))
    try:
        bundle = load_bundle(compile_project(project, created_from_paths(paths)))
    except CompileError as err:
        raise BuildError(diagnostics + err.diagnostics, project.sources) from None
    if events is not None:
        return simulate(bundle, file_events(Path(events)), str(events), until, file=str(events))
    try:
        drawn = list(enumerate(generate_events(project, synth or 0, seed, bad_rate=0.0), start=1))
    except ValueError as err:  # no journey with an entry and a schema to draw from
        raise PressureError(f"synth: {err}") from None
    return simulate(bundle, drawn, f"a synthetic stream of {synth:,} customers (seed {seed})", until)


__all__ = [
    "Code",
    "Diagnostic",
    "PressureError",
    "PressureReport",
    "Project",
    "Severity",
    "check_paths",
    "check_project",
    "expectations_from_store",
    "load_project",
    "pressure",
    "render_github",
    "render_json",
    "render_sarif",
    "render_text",
    "run_events",
]
