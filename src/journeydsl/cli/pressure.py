"""`journeydsl pressure`: every journey run together over an events file or a synthetic stream, and how many
messages one customer gets per channel per day and week (issue 19).

The work is journeydsl.analytics.pressure's (the simulation and the figures); this module is options, messages and
exit codes: 0 with a report, 1 when the journeys have errors or no event could be run, 2 on usage errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from journeydsl.cli.options import no_sources, open_project, templates_option
from journeydsl.project_file import at_root


@click.command("pressure")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--events",
    "events_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSONL file, one event per line (as for `run`).",
)
@click.option(
    "--synth",
    "synth_customers",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Instead of --events: `journeydsl synth`'s stream for N customers (without its bad events).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="With --synth: the random seed.")
@click.option(
    "--until",
    help="After the last event, run to this time (RFC 3339); events dated after it are dead letters. "
    "Default: the last event + the longest timer + the longest policy settle.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write here, not to stdout.")
@templates_option
def pressure_command(
    paths: tuple[str, ...],
    events_path: str | None,
    synth_customers: int | None,
    seed: int,
    until: str | None,
    fmt: str,
    output: str | None,
    templates_dir: str | None,
) -> None:
    """Run every journey in PATHS together and report the contact pressure per channel.

    Per channel: messages (sent or delayed) per customer per UTC day and ISO week (p50/p90/p99/max, nearest-rank,
    over the pairs with at least one message), customers reached, each journey's share, and what consent, caps and
    the contact policy suppressed. PATHS default to the project's sources; journeys with errors are refused.
    """
    from journeydsl.runtime.timeparse import TimeError, parse_time

    if (events_path is None) == (synth_customers is None):
        raise click.UsageError("give the events: --events FILE or --synth N")
    if until is not None:
        try:
            parse_time(until)
        except TimeError as err:
            raise click.BadParameter(str(err), param_hint="--until") from err
    found = open_project(paths)
    sources = found.sources(paths)
    if not sources:
        raise no_sources("pressure")
    events, target, templates = found.maybe(events_path), found.maybe(output), found.templates(templates_dir)
    with at_root(found.root):  # paths in diagnostics and dead letters are the project's
        text = _report(sources, events, synth_customers, seed, until, templates, fmt)
        _write(text, target)


def _report(
    sources: list[str], events: str | None, synth: int | None, seed: int, until: str | None, templates: str, fmt: str
) -> str:
    from journeydsl.analytics.pressure import PressureError, render_text, to_json
    from journeydsl.api import pressure
    from journeydsl.compile import BuildError
    from journeydsl.diagnostics import errors_in
    from journeydsl.diagnostics.render import render_text as render_diagnostics

    try:
        report = pressure(sources, events=events, synth=synth, seed=seed, until=until, templates_dir=templates)
    except BuildError as err:
        errors = errors_in(err.diagnostics)
        click.echo(render_diagnostics(errors, err.sources, sys.stderr.isatty(), len(err.sources)), err=True, nl=False)
        click.echo("pressure: fix these first: only journeys that check are run", err=True)
        raise SystemExit(1) from err
    except PressureError as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(1) from err
    if report.run is not None:
        for dead in report.run.dead_letters:  # as `run` gives them, but FILE:LINE:COL first: an editor jumps there
            click.echo(f"dead letter: {dead.located(report.run.file)}", err=True)
        hidden = report.run.dead - len(report.run.dead_letters)
        if hidden > 0:
            click.echo(f"... and {hidden:,} more dead letter(s) ({report.run.dead:,} in all)", err=True)
    if fmt == "json":
        return json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n"
    return render_text(report)


def _write(text: str, target: str | None) -> None:
    if target is None:
        click.echo(text, nl=False)
        return
    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(text, encoding="utf-8")
    except OSError as err:
        click.echo(f"error: cannot write {target}: {err.strerror or err}", err=True)
        raise SystemExit(1) from err
    click.echo(f"wrote {target}", err=True)


COMMANDS: list[click.Command] = [pressure_command]
