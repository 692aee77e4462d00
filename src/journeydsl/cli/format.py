"""`journeydsl fmt`: rewrite DSL files in the canonical layout, or `--check` that they already are."""

from __future__ import annotations

from pathlib import Path

import click

from journeydsl.cli.options import no_sources, open_project
from journeydsl.diagnostics import Diagnostic, errors_in
from journeydsl.project import DSL_SUFFIXES, YAML_SUFFIXES
from journeydsl.project_file import at_root
from journeydsl.syntax import format_dsl, parse_dsl
from journeydsl.syntax.textdiff import unified_diff


def _render(diag: Diagnostic, text: str) -> str:
    try:
        from journeydsl.diagnostics.render import render_one
    except ImportError:  # the shared renderer is optional here; fall back to one plain line
        where = str(diag.span) if diag.span else "<file>"
        return f"{where}: {diag.severity}[{diag.code.code}]: {diag.message}"
    return render_one(diag, {diag.span.file: text} if diag.span else {})


def _files(paths: tuple[str, ...]) -> tuple[list[Path], list[Path], list[str]]:
    """DSL files to format, YAML files skipped, and paths that do not exist."""
    dsl: list[Path] = []
    yaml: list[Path] = []
    missing: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            candidates = [path]
        else:
            missing.append(raw)
            continue
        for candidate in candidates:
            if candidate.name.endswith((*YAML_SUFFIXES, ".yaml", ".yml")):
                yaml.append(candidate)
            elif candidate.name.endswith(DSL_SUFFIXES) or path.is_file():  # a file named on its own is DSL
                dsl.append(candidate)
    return list(dict.fromkeys(dsl)), yaml, missing


@click.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--check", "check_only", is_flag=True, help="Rewrite nothing; show the diff of files that would change and exit 1."
)
def fmt(paths: tuple[str, ...], check_only: bool) -> None:
    """Put .journey files in the one canonical layout (comments are kept).

    PATHS default to the project's sources. YAML files are skipped. A file with syntax errors is never
    rewritten: its diagnostics are printed and the exit status is 1.
    """
    found = open_project(paths)
    sources = tuple(found.sources(paths))
    if not sources:
        raise no_sources("fmt")
    with at_root(found.root):  # files are named from the project root, whichever folder fmt runs in
        _fmt(sources, check_only)


def _fmt(paths: tuple[str, ...], check_only: bool) -> None:
    dsl_files, yaml_files, missing = _files(paths)
    failed = bool(missing)
    for raw in missing:
        click.echo(f"{raw}: error: no such file or folder", err=True)
    for path in yaml_files:
        if path.name.endswith(YAML_SUFFIXES) or any(path == Path(raw) for raw in paths):
            click.echo(f"{path}: skipped (YAML; fmt formats the DSL only)", err=True)
    changed: list[Path] = []
    unchanged = 0
    for path in dsl_files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            click.echo(f"{path}: error: cannot read: {err}", err=True)
            failed = True
            continue
        source, diagnostics = parse_dsl(text, str(path))
        errors = errors_in(diagnostics)
        if errors:
            for diag in errors:
                click.echo(_render(diag, text), err=True)
            click.echo(f"{path}: not formatted: fix the errors above first", err=True)
            failed = True
            continue
        try:
            formatted = format_dsl(source)
        except RecursionError:
            click.echo(f"{path}: error: an expression is nested too deeply to format", err=True)
            failed = True
            continue
        if formatted == text:
            unchanged += 1
            continue
        changed.append(path)
        if check_only:
            click.echo(f"would reformat {path}")
            click.echo(unified_diff(text, formatted, str(path)), nl=False)
        else:
            path.write_text(formatted, encoding="utf-8")
            click.echo(f"reformatted {path}")
    verb = "would be reformatted" if check_only else "reformatted"
    click.echo(f"{len(changed)} file(s) {verb}, {unchanged} unchanged", err=True)
    if failed or (check_only and changed):
        raise SystemExit(1)


COMMANDS: list[click.Command] = [fmt]
