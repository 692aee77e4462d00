"""`render`, `docs` and `diff`: the visual commands. Thin: parse options, call the API, print diagnostics.

Exit status: 0 on success (for `diff`, whether or not there are differences), 1 when the input has errors
or a diagram cannot be made, 2 on usage errors (click's own).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from journeydsl.check import check_project
from journeydsl.cli.options import ProjectPaths, no_sources, open_project, templates_option
from journeydsl.diagnostics import Diagnostic, errors_in
from journeydsl.diagnostics.render import render_text
from journeydsl.ir import Journey
from journeydsl.project import Project, load_project
from journeydsl.project_file import at_root
from journeydsl.render import FORMATS, DiagramError, render_journeys
from journeydsl.render.output import staged_files


def _open(paths: tuple[str, ...], templates_dir: str | None, command: str) -> tuple[ProjectPaths, list[str], str]:
    """The project, the sources to read (PATHS, else the project's) and the templates folder, seen from its root."""
    found = open_project(paths)
    sources = found.sources(paths)
    if not sources:
        raise no_sources(command)
    return found, sources, found.templates(templates_dir)


def _load_or_exit(paths: list[str], templates_dir: str | None) -> tuple[Project, list[Diagnostic]]:
    """Load and check; on errors print every diagnostic and exit 1 before any output is written."""
    project = load_project(paths, templates_dir=templates_dir)
    diagnostics = check_project(project)
    errors = errors_in(diagnostics)
    if errors:
        click.echo(render_text(errors, project.sources), err=True, nl=False)
        click.echo("nothing was written: fix the errors above first", err=True)
        raise SystemExit(1)
    if not project.journeys():
        click.echo("no journeys found in " + ", ".join(paths), err=True)
        raise SystemExit(1)
    return project, diagnostics


def _describe(err: Exception) -> str:
    if isinstance(err, OSError) and err.filename:
        return f"cannot write {err.filename}: {err.strerror or err}"
    return str(err)


@click.command("render")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="svg", show_default=True, help="Diagram format.")
@templates_option
@click.option(
    "--overlay",
    "overlay_store",
    default=None,
    metavar="STORE",
    help="Draw run-time counts from a store (memory:// or sqlite:///PATH): reach per step, edge widths.",
)
def render_command(
    paths: tuple[str, ...], out_dir: str, fmt: str, templates_dir: str | None, overlay_store: str | None = None
) -> None:
    """Draw one diagram per journey: <journey>.svg, or <journey>@<version>.svg with several versions."""
    found, sources, templates = _open(paths, templates_dir, "render")
    out_dir, overlay_store = found.here(out_dir), found.store(overlay_store) if overlay_store else None
    with at_root(found.root):  # paths in diagnostics and in the list of files written are the project's
        _render(sources, templates, out_dir, fmt, overlay_store)


def _render(sources: list[str], templates: str, out_dir: str, fmt: str, overlay_store: str | None) -> None:
    project, _ = _load_or_exit(sources, templates)
    try:
        if overlay_store is not None:  # SPEC 8.5: the counts come from journeydsl.analytics
            from journeydsl.analytics.overlay import render_overlays

            written = render_overlays(project.journeys(), Path(out_dir), fmt, overlay_store)
        else:
            written = render_journeys(project.journeys(), Path(out_dir), fmt)
    except (DiagramError, OSError) as err:
        click.echo(f"error: {_describe(err)}", err=True)
        raise SystemExit(1) from err
    for path in written:
        click.echo(str(path))


@click.command("docs")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), required=True, help="Site folder.")
@templates_option
@click.option(
    "--pressure-events",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Run every journey together over this JSONL events file and add the figures to pressure.html.",
)
def docs_command(paths: tuple[str, ...], out_dir: str, templates_dir: str | None, pressure_events: str | None) -> None:
    """Build a static site (index, one page per journey, contact pressure, md/ for wikis) that works from file://."""
    from journeydsl.docs import build_site

    found, sources, templates = _open(paths, templates_dir, "docs")
    out_dir, pressure_events = found.here(out_dir), found.maybe(pressure_events)
    with at_root(found.root):
        project, diagnostics = _load_or_exit(sources, templates)
        pressure = _pressure_figures(sources, pressure_events, templates) if pressure_events else None
        try:
            written = build_site(
                project.journey_files(),
                Path(out_dir),
                project.templates_dir,
                diagnostics,
                tuple(sources),
                schemas=project.schemas(),
                pressure=pressure,
            )
        except (DiagramError, OSError) as err:
            click.echo(f"error: {_describe(err)}", err=True)
            raise SystemExit(1) from err
    click.echo(f"wrote {len(written)} files to {out_dir} (open {Path(out_dir) / 'index.html'})")


def _pressure_figures(sources: list[str], events: str, templates: str) -> dict[str, Any]:
    """`journeydsl pressure --events` as JSON, for the docs' pressure page; exit 1 (nothing written) when no event
    can be run."""
    from journeydsl.analytics.pressure import PressureError, to_json
    from journeydsl.api import pressure
    from journeydsl.compile import BuildError

    try:
        report = pressure(sources, events=events, templates_dir=templates)
    except BuildError as err:  # checked already: only what the compiler alone refuses
        click.echo(render_text(errors_in(err.diagnostics), err.sources), err=True, nl=False)
        raise SystemExit(1) from err
    except PressureError as err:
        click.echo(f"error: --pressure-events: {err}", err=True)
        raise SystemExit(1) from err
    for dead in report.run.dead_letters if report.run is not None else ():
        click.echo(f"dead letter: {dead.located(events)}", err=True)
    return to_json(report)


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "svg"]), default="text", show_default=True, help="Output."
)
@click.option("--journey", default=None, help="With --format svg and several journeys: the one to draw.")
@click.option("-o", "--output", "out_file", type=click.Path(dir_okay=False), default=None, help="Write to a file.")
@templates_option
def diff_command(
    old: str, new: str, fmt: str, journey: str | None, out_file: str | None, templates_dir: str | None
) -> None:
    """Semantic diff of two journey files or folders (journeys and schemas); either may be PATH@REV (from git).

    Exits 0 whether or not there are differences (the output says which), 1 when either side has errors.
    """
    found = open_project([old, new])
    old, new, out_file, templates = (
        found.here(old),
        found.here(new),
        found.maybe(out_file),
        found.templates(templates_dir),
    )
    with at_root(found.root):  # FILE@REV and the templates are found from the project root, from any folder
        _diff(old, new, fmt, journey, out_file, templates)


def _diff(old: str, new: str, fmt: str, journey: str | None, out_file: str | None, templates_dir: str) -> None:
    from journeydsl.diff import diff_journeys, diff_schemas, read_side, render_json, render_svg
    from journeydsl.diff import render_text as diff_text

    sides = [read_side(old, templates_dir), read_side(new, templates_dir)]
    failed = False
    for side in sides:
        errors = errors_in(side.diagnostics)
        if errors or side.source is None:
            failed = True
            click.echo(f"errors in {side.label}:", err=True)
            click.echo(render_text(errors, side.sources), err=True, nl=False)
    if failed:
        raise SystemExit(1)
    old_journeys, new_journeys = sides[0].journeys(), sides[1].journeys()
    changes = diff_schemas(sides[0].schemas(), sides[1].schemas()) + diff_journeys(old_journeys, new_journeys)
    deploy = _deploy_plan(old_journeys, new_journeys)
    try:
        if fmt == "text":
            text = diff_text(changes, sides[0].label, sides[1].label)
            if deploy is not None:
                text += f"\nif NEW replaced OLD in a bundle (journeydsl plan NEW --old OLD):\n{deploy[1]}"
        elif fmt == "json":
            text = render_json(changes, sides[0].label, sides[1].label)
            if deploy is not None:
                text = json.dumps({**json.loads(text), "deploy": deploy[0]}, indent=2) + "\n"
        else:
            text = render_svg(old_journeys, new_journeys, changes, journey)
    except (ValueError, DiagramError, OSError) as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(1) from err
    if out_file is None:
        click.echo(text, nl=False)
        return
    try:
        with staged_files(Path(out_file).parent) as staging:
            (staging / Path(out_file).name).write_text(text, encoding="utf-8")
    except OSError as err:
        click.echo(f"error: cannot write {out_file}: {err.strerror or err}", err=True)
        raise SystemExit(1) from err


def _deploy_plan(old: list[Journey], new: list[Journey]) -> tuple[dict[str, Any], str] | None:
    """What replacing the OLD journeys with the NEW ones would do to instances of OLD (`plan --old`'s analysis,
    as JSON and text); None when a side cannot be lowered to a plan (the diff itself still shows)."""
    from journeydsl.compile.plan import JourneyLoweringError, lower_journey
    from journeydsl.runtime.rollout import plan_rollout, rollout_text

    try:
        before = {(j.name, j.version or 0): dict(lower_journey(j, None)) for j in old}
        after = {(j.name, j.version or 0): dict(lower_journey(j, None)) for j in new}
    except JourneyLoweringError:
        return None
    found = plan_rollout(after, before)
    return found.as_json(), rollout_text(found)


COMMANDS: list[click.Command] = [render_command, docs_command, diff_command]
