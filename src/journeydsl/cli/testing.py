"""`journeydsl test` (scenario tests with coverage) and `journeydsl report` (journey analytics).

Exit status of `test`: 0 every scenario passes (and coverage reaches `--min-coverage`), 1 a
failure, a problem in the input files or coverage below the minimum, 2 a usage error.
Exit status of `report`: 0, or 1 for a store or bundle that cannot be read, and with `--fail-below` when a journey
is significantly below the response a goal expects (or there are no plans to judge it by); 2 a usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from journeydsl.cli.options import no_sources, open_project, templates_option
from journeydsl.project_file import at_root
from journeydsl.testing.junit import CaseResult, to_junit

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _write(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    path = Path(output)
    try:
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise click.ClickException(f"cannot write {output}: {err.strerror or err}") from err


def _diagnostics_text(diagnostics: list[Any], sources: dict[str, str]) -> str:
    from journeydsl.diagnostics.render import render_text

    return render_text(sorted(diagnostics, key=lambda d: d.sort_key), sources)


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    default=None,
    help="Fail when step or transition coverage (in total) is below N percent (default: the project file's).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "junit"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report (text or JUnit XML) here.")
@templates_option
def test_command(
    paths: tuple[str, ...], min_coverage: float | None, fmt: str, output: str | None, templates_dir: str | None
) -> None:
    """Run the *.scenario.yaml files under PATHS (default: the project's sources) on the real engine and report
    coverage."""
    found = open_project(paths)
    sources = found.sources(paths)
    if not sources:
        raise no_sources("test")
    if min_coverage is None:
        min_coverage = found.config.min_coverage
    output, templates = found.maybe(output), found.templates(templates_dir)
    with at_root(found.root):  # scenario and journey files are named from the project root
        _test(tuple(sources), min_coverage, fmt, output, templates)


def _test(paths: tuple[str, ...], min_coverage: float | None, fmt: str, output: str | None, templates_dir: str) -> None:
    from journeydsl.testing.runner import describe_failure, run_tests

    run = run_tests(list(paths), templates_dir=templates_dir)
    problems = run.errors
    if problems:
        click.echo(_diagnostics_text(problems, run.sources), err=True, nl=False)
    if not run.scenario_files:
        click.echo(f"no *.scenario.yaml files under {', '.join(paths)}", err=True)
    lines: list[str] = []
    for result in run.results:
        status = "PASS" if result.passed else "FAIL"
        lines.append(f"{status} {result.scenario.location}: {result.scenario.name}")
    for result in run.failed:
        lines.append("")
        lines.append(describe_failure(result, run.sources))
    coverage_text = run.coverage.render_text()
    below = min_coverage is not None and run.coverage.below(min_coverage)
    coverage_failure = None
    if below:
        coverage_failure = (
            f"coverage below {min_coverage:g}%: steps {run.coverage.step_percent:.1f}%, "
            f"transitions {run.coverage.edge_percent:.1f}%"
        )
    passed = sum(1 for r in run.results if r.passed)
    summary = f"{len(run.results)} scenario(s): {passed} passed, {len(run.failed)} failed"
    if problems:
        summary += f"; {len(problems)} problem(s) in the input files"
    lines += ["", coverage_text, "", summary]
    if coverage_failure:
        lines.append(coverage_failure)
    text = "\n".join(lines).lstrip("\n") + "\n"
    if fmt == "junit":
        results = [
            CaseResult(
                file=r.scenario.span.file,
                line=r.scenario.span.line,
                name=r.scenario.name,
                journey=r.scenario.journey,
                passed=r.passed,
                failure=r.mismatches[0].summary if r.mismatches else None,
                details=describe_failure(r, run.sources) if not r.passed else "",
                seconds=r.seconds,
            )
            for r in run.results
        ]
        messages = [f"{d.span}: {d.code.code} {d.message}" if d.span else d.message for d in problems]
        xml = to_junit(results, coverage_text, coverage_failure, messages)
        if output is None:
            click.echo(xml, nl=False)
            click.echo(text, err=True, nl=False)
        else:
            _write(xml, output)
            click.echo(text, nl=False)
    else:
        _write(text, output)
    failed = bool(run.failed or problems or below or not run.scenario_files)
    sys.exit(EXIT_FAIL if failed else EXIT_OK)


@click.command("report")
@click.option(
    "--store",
    "store_url",
    default=None,
    help="memory:// or sqlite:///PATH of a `journeydsl run` (default: the project file's `store`).",
)
@click.option(
    "--bundle",
    type=click.Path(exists=True),
    help="The bundle that ran (for step order, channel costs, experiments, diagrams).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
@click.option(
    "--fail-below",
    is_flag=True,
    help="Exit 1 when a journey is significantly below a goal's `expect` (for CI), or there are no plans.",
)
def report_command(store_url: str | None, bundle: str | None, fmt: str, output: str | None, fail_below: bool) -> None:
    """Per journey and version: entries, reach, exits, ends, goals, cost, ROI, experiments, and expected against
    actual for goals with `expect`."""
    if store_url is None:
        store_url = open_project().config.store_url()
        if store_url is None:
            raise click.UsageError("name the store with --store URL, or set `store` in the project file")
    from journeydsl.analytics.source import SourceError, gather_report
    from journeydsl.analytics.text import render_text

    try:
        found = gather_report(store_url, bundle)
    except SourceError as err:
        raise click.ClickException(str(err)) from err
    report = found.report
    source = {"store": store_url, "plans_from": found.plans_from}
    if fmt == "json":
        _write(json.dumps({"source": source, **report}, indent=2, sort_keys=True) + "\n", output)
    elif fmt == "html":
        from journeydsl.analytics.html import render_html

        _write(render_html(report, found.plans, source), output)
    else:
        _write(render_text(report, found.plans_from), output)
    _judge_expectations(report, found.plans_from, fail_below)


def _judge_expectations(report: dict[str, Any], plans_from: str | None, fail_below: bool) -> None:
    from journeydsl.analytics.text import flag_text

    expectations = report["expectations"]
    if expectations["without_plan"] and (fail_below or expectations["journeys"]):
        unknown = ", ".join(f"{p['journey']} v{p['version']}" for p in expectations["without_plan"])
        click.echo(f"warning: no plan for {unknown}: its expectations are unknown (give --bundle)", err=True)
    if not fail_below:
        return
    if plans_from is None and report["journeys"]:
        raise click.ClickException("--fail-below: no plans to read the expectations from (give --bundle B)")
    if expectations["below"]:
        flagged = ", ".join(flag_text(flag) for flag in expectations["below"])
        raise click.ClickException(f"significantly below expectation: {flagged}")


test_command.name = "test"
report_command.name = "report"

COMMANDS: list[click.Command] = [test_command, report_command]
