"""`journeydsl synth`: a deterministic synthetic event stream for the journeys of a project, as JSON lines.

The work is journeydsl.testing.synth's: profiles that fit the schema, entry events that the journeys' entry
`where` and `audience` admit, follow-ups from what each journey waits for. This module is options and messages.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from journeydsl.cli.options import no_sources, open_project
from journeydsl.project_file import at_root


@click.command("synth")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--customers", type=click.IntRange(min=0), default=1000, show_default=True, help="Customers to draw.")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed: the same seed, the same stream.")
@click.option(
    "--start", default="2026-01-01T00:00:00Z", show_default=True, help="RFC 3339 time of the first entry events."
)
@click.option(
    "--bad-rate",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.02,
    show_default=True,
    help="Share of extra events that are bad on purpose (an unknown type, a wrong field type).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of standard output.")
def synth(
    paths: tuple[str, ...],
    customers: int,
    seed: int,
    start: str,
    bad_rate: float,
    output: str | None,
) -> None:
    """Draw synthetic events (JSON lines) for the journeys in PATHS, ready for `journeydsl run --events`.

    Each customer gets a profile that fits the schema and an entry event that the journey's entry `where` and
    `audience` admit, then the events its journey waits for, at plausible times. PATHS default to the project's
    sources. Journeys with errors are refused (see `journeydsl check`).
    """
    from journeydsl.testing.synth import parse_start

    try:
        parse_start(start)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--start") from err
    found = open_project(paths)
    sources = found.sources(paths)
    if not sources:
        raise no_sources("synth")
    target = found.maybe(output)
    with at_root(found.root):
        _synth(sources, customers, seed, start, bad_rate, target)


def _synth(sources: list[str], customers: int, seed: int, start: str, bad_rate: float, output: str | None) -> None:
    from journeydsl.check import check_project
    from journeydsl.diagnostics import errors_in
    from journeydsl.diagnostics.render import render_text
    from journeydsl.project import load_project
    from journeydsl.testing.synth import generate_events, write_jsonl

    project = load_project(sources)
    # Templates do not shape events: a journey whose messages are not written yet can still be drawn for.
    errors = [d for d in errors_in(check_project(project)) if not d.code.code.startswith("JD6")]
    if errors:
        click.echo(render_text(errors, project.sources, sys.stderr.isatty(), len(project.files)), err=True, nl=False)
        click.echo("synth: fix these first: events are drawn from journeys that check", err=True)
        raise SystemExit(1)
    started = time.perf_counter()
    try:
        events = generate_events(project, customers, seed, start, bad_rate=bad_rate)
        if output is None:
            count = write_jsonl(events, sys.stdout)
        else:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            with open(output, "w", encoding="utf-8") as out:
                count = write_jsonl(events, out)
    except ValueError as err:  # no journey with an entry and a schema
        click.echo(f"synth: {err}", err=True)
        raise SystemExit(1) from err
    except OSError as err:
        click.echo(f"synth: cannot write {output}: {err.strerror}", err=True)
        raise SystemExit(1) from err
    seconds = time.perf_counter() - started
    where = f" to {output}" if output else ""
    click.echo(f"synth: {count} events for {customers} customers{where} in {seconds:.2f}s", err=True)


COMMANDS: list[click.Command] = [synth]
