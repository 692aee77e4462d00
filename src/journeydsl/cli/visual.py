"""`render`, `docs` and `diff`: the visual commands. Thin: parse options, call the API, print diagnostics.

Exit status: 0 on success (for `diff`, whether or not there are differences), 1 when the input has errors
or a diagram cannot be made, 2 on usage errors (click's own).
"""

from __future__ import annotations

from pathlib import Path

import click

from journeydsl.project import Project, load_project
from journeydsl.render import FORMATS, RenderError, render_journeys
from journeydsl.render.checking import format_diagnostics, has_errors, project_diagnostics

_TEMPLATES_OPTION = click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder holding messages/<channel>/<name>.j2 (default: ./templates).",
)


def _load_or_exit(paths: tuple[str, ...], templates_dir: str | None) -> tuple[Project, list]:  # type: ignore[type-arg]
    """Load and check; on errors print every diagnostic and exit 1 before any output is written."""
    if not paths:
        raise click.UsageError("name at least one journey file or folder, e.g. `journeys/`")
    project = load_project(list(paths), templates_dir=templates_dir)
    diagnostics = project_diagnostics(project)
    if has_errors(diagnostics):
        errors = [d for d in diagnostics if d.severity.name == "ERROR"]
        click.echo(format_diagnostics(errors, project.sources), err=True, nl=False)
        click.echo("nothing was written: fix the errors above first", err=True)
        raise SystemExit(1)
    if not project.journeys():
        click.echo("no journeys found in " + ", ".join(paths), err=True)
        raise SystemExit(1)
    return project, diagnostics


@click.command("render")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="svg", show_default=True, help="Diagram format.")
@_TEMPLATES_OPTION
def render_command(paths: tuple[str, ...], out_dir: str, fmt: str, templates_dir: str | None) -> None:
    """Draw one diagram per journey: <journey>.svg, or <journey>@<version>.svg with several versions."""
    project, _ = _load_or_exit(paths, templates_dir)
    try:
        written = render_journeys(project.journeys(), Path(out_dir), fmt)
    except RenderError as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(1) from err
    for path in written:
        click.echo(str(path))


@click.command("docs")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), required=True, help="Site folder.")
@_TEMPLATES_OPTION
def docs_command(paths: tuple[str, ...], out_dir: str, templates_dir: str | None) -> None:
    """Build a static site (index, one page per journey, md/ for wikis) that works from file://."""
    from journeydsl.docs import build_site

    project, diagnostics = _load_or_exit(paths, templates_dir)
    try:
        written = build_site(project.journey_files(), Path(out_dir), project.templates_dir, diagnostics, paths)
    except RenderError as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(1) from err
    click.echo(f"wrote {len(written)} files to {out_dir} (open {Path(out_dir) / 'index.html'})")


COMMANDS: list[click.Command] = [render_command, docs_command]
