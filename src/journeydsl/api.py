"""The public Python API: load a project, check it, render the findings.

Typical use: `print(render_text(check_paths(["journeys/"]), {}))`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from journeydsl.analytics.pressure import PressureError, PressureReport
from journeydsl.check import check_project
from journeydsl.diagnostics import Code, Diagnostic, Severity
from journeydsl.diagnostics.render import render_github, render_json, render_sarif, render_text
from journeydsl.project import Project, load_project


def check_paths(paths: Sequence[str | Path], templates_dir: str | Path | None = None) -> list[Diagnostic]:
    """Load and check journey files and folders; every finding, sorted by location. Never raises on bad input."""
    return check_project(load_project(paths, templates_dir=templates_dir))


def pressure(
    paths: Sequence[str | Path],
    *,
    events: str | Path | None = None,
    synth: int | None = None,
    seed: int = 7,
    until: str | None = None,
    templates_dir: str | Path | None = None,
) -> PressureReport:
    """Run every journey in `paths` together over `events` (JSONL) or `synth` synthetic customers and report the
    contact pressure per channel (`journeydsl pressure`). Raises PressureError (with diagnostics when the
    journeys have errors)."""
    from journeydsl.analytics.pressure import simulate_pressure

    return simulate_pressure(paths, events=events, synth=synth, seed=seed, until=until, templates_dir=templates_dir)


__all__ = [
    "Code",
    "Diagnostic",
    "PressureError",
    "PressureReport",
    "Project",
    "Severity",
    "check_paths",
    "check_project",
    "load_project",
    "pressure",
    "render_github",
    "render_json",
    "render_sarif",
    "render_text",
]
