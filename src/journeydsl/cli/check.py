"""`journeydsl check`: run the checker and print its diagnostics; `--explain` documents a code."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from journeydsl.check import check_project
from journeydsl.check.suggest import did_you_mean
from journeydsl.cli.options import no_sources, open_project, templates_option
from journeydsl.diagnostics import Severity, codes
from journeydsl.diagnostics.model import Code, Diagnostic
from journeydsl.diagnostics.render import FORMATS, render
from journeydsl.project import load_project
from journeydsl.project_file import at_root


def explain(code: Code) -> str:
    """The `--explain` text: name, severity, summary, explanation, failing and passing examples."""
    out = [f"{code.code} {code.name} ({code.severity})", "", code.summary]
    if code.explanation:
        out += ["", code.explanation]
    if code.bad_example:
        out += ["", "Fails:", "", *("    " + line for line in code.bad_example.rstrip().splitlines())]
    if code.good_example:
        out += ["", "Passes:", "", *("    " + line for line in code.good_example.rstrip().splitlines())]
    return "\n".join(out) + "\n"


def _lookup_or_fail(wanted: str) -> Code:
    found = codes.lookup(wanted)
    if found is not None:
        return found
    names = [c.code for c in codes.all_codes()] + [c.name for c in codes.all_codes()]
    hint = did_you_mean(wanted.strip().upper() if wanted.strip().lower().startswith("jd") else wanted, names)
    raise click.BadParameter(
        f"no diagnostic code {wanted!r}" + (f"; {hint}" if hint else "; see docs/diagnostics.md"),
        param_hint="--explain",
    )


def _sources_for(diags: list[Diagnostic], sources: dict[str, str]) -> dict[str, str]:
    """The project's texts plus any other file a diagnostic points at (a message template), for carets."""
    merged = dict(sources)
    for diag in diags:
        if diag.span and diag.span.file not in merged:
            try:
                merged[diag.span.file] = Path(diag.span.file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                merged[diag.span.file] = ""
    return merged


def use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Output format.")
@click.option(
    "--strict/--no-strict", default=None, help="Exit 1 on warnings too (default: the project file's `strict`)."
)
@templates_option
@click.option("--explain", "explain_code", metavar="CODE", default=None, help="Explain a code (JD102 or unknown-step).")
def check_command(
    paths: tuple[str, ...], fmt: str, strict: bool | None, templates_dir: str | None, explain_code: str | None
) -> None:
    """Check journey files and folders: names, types, graph, experiments, policy and templates."""
    if explain_code is not None:
        click.echo(explain(_lookup_or_fail(explain_code)), nl=False)
        return
    found = open_project(paths, report=False)
    config = found.config
    if config.has_errors:  # in the chosen format (SARIF, annotations): CI shows them like any other finding
        click.echo(render(fmt, config.diagnostics, config.sources_text(), use_color(), 1), nl=False)
        sys.exit(1)
    sources = found.sources(paths)
    if not sources:
        raise no_sources("check")
    templates = found.templates(templates_dir)
    with at_root(found.root):  # file names in diagnostics are relative to the project root
        project = load_project(sources, templates_dir=templates)
        diags = config.diagnostics + check_project(project)
        texts = {**config.sources_text(), **project.sources}
        output = render(fmt, diags, _sources_for(diags, texts), use_color(), len(project.files))
    click.echo(output, nl=False)
    worst = max((d.severity for d in diags), default=None)
    if strict is None:
        strict = config.strict
    if worst is Severity.ERROR or (strict and worst is Severity.WARNING):
        sys.exit(1)


COMMANDS: list[click.Command] = [check_command]
