"""Run scenario files on the real engine (memory:// store) and judge them.

`run_tests(paths)` finds `*.scenario.yaml` under the paths, loads the journeys of the same paths
and of each scenario's folder, checks and compiles them into an in-memory bundle once, then runs
every scenario on a fresh engine: the profile goes in as the first event's profile patch, events
without an `id` get one, `{advance: 8d}` fires timers up to the clock (the last event or advance)
plus 8 days, and `force` pins experiment variants for the scenario's customer. What the store
logged for that customer and journey is then compared with `expect` (matching.py), and every
transition logged (any journey) counts for coverage.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from journeydsl.diagnostics import Diagnostic, Sink, codes, errors_in
from journeydsl.diagnostics.lines import source_lines
from journeydsl.ir import Journey, Span
from journeydsl.project import Project, load_project
from journeydsl.testing.coverage import Coverage
from journeydsl.testing.matching import Mismatch, Observed, compare
from journeydsl.testing.scenario import (
    AdvanceStep,
    EventStep,
    Scenario,
    find_scenario_files,
    load_scenario_file,
)
from journeydsl.testing.yamlread import rfc3339


@dataclass
class ScenarioResult:
    scenario: Scenario
    observed: Observed
    mismatches: list[Mismatch]
    journey: Journey | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass
class TestRun:
    results: list[ScenarioResult] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # problems that stopped files or scenarios
    sources: dict[str, str] = field(default_factory=dict)  # journey and scenario texts, for source lines
    scenario_files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return errors_in(self.diagnostics)

    @property
    def failed(self) -> list[ScenarioResult]:
        return [r for r in self.results if not r.passed]


# --------------------------------------------------------------------------- loading and compiling


def _project_paths(paths: Sequence[str | Path], scenario_files: Sequence[Path]) -> list[str]:
    """The named paths plus each scenario's folder (so a scenario file named alone finds its journey)."""
    found: dict[str, None] = {}
    for path in [*map(Path, paths), *(p.parent for p in scenario_files)]:
        if path.is_file() and path.name.endswith((".scenario.yaml", ".scenario.yml")):
            continue
        found.setdefault(str(path), None)
    return list(found)


def _in_scope(project: Project, paths: Sequence[str | Path], tested: set[str]) -> list[Journey]:
    """The journeys coverage is about: those under the journey paths named, and those a scenario tests.
    A journey loaded only because it sits in a named scenario file's folder does not count."""
    named = [Path(p).resolve() for p in paths if not str(p).endswith((".scenario.yaml", ".scenario.yml"))]

    def under(file: str) -> bool:
        path = Path(file).resolve()
        return any(path == root or root in path.parents for root in named)

    return [journey for file, journey in project.journey_files() if journey.name in tested or under(file.path)]


def _compile(project: Project, created_from: list[str], run: TestRun) -> Any | None:
    """Check and compile the project into a loaded in-memory Bundle; None (with diagnostics) on errors."""
    from journeydsl.check import check_project
    from journeydsl.compile import CompileError, compile_project
    from journeydsl.runtime.bundle import load_bundle

    diagnostics = check_project(project)
    errors = errors_in(diagnostics)
    if errors:
        run.diagnostics.extend(errors)
        return None
    try:
        files = compile_project(project, created_from)
    except CompileError as err:
        run.diagnostics.extend(err.diagnostics)
        return None
    return load_bundle(files)


def run_tests(paths: Sequence[str | Path], templates_dir: str | Path | None = None) -> TestRun:
    """Load, compile and run every scenario under `paths`; never raises on bad input."""
    run = TestRun()
    scenario_files = find_scenario_files(paths)
    run.scenario_files = [str(p) for p in scenario_files]
    scenarios: list[Scenario] = []
    for path in scenario_files:
        loaded, diagnostics = load_scenario_file(path)
        run.diagnostics.extend(diagnostics)
        scenarios.extend(loaded.scenarios)
        try:
            run.sources[str(path)] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass  # already reported by load_scenario_file
    project_paths = _project_paths(paths, scenario_files)
    project = load_project(project_paths, templates_dir=templates_dir)
    run.sources.update(project.sources)
    run.coverage = Coverage.of(_in_scope(project, paths, {s.journey for s in scenarios}))
    if not scenarios:
        return run
    bundle = _compile(project, project_paths, run)
    if bundle is None:
        return run
    journeys = {(j.name, j.version or 0): j for j in project.journeys()}
    names = sorted({name for name, _ in journeys})
    for scenario in scenarios:
        if scenario.journey not in names:
            close = difflib.get_close_matches(scenario.journey, names, n=1)
            Sink(run.diagnostics).report(
                codes.SCENARIO_UNKNOWN_JOURNEY,
                f"scenario `{scenario.name}` tests journey `{scenario.journey}`, which is not among the loaded files",
                scenario.journey_span or scenario.span,
                hint=f"did you mean `{close[0]}`?" if close else "name the folder that holds the journey",
            )
            continue
        try:
            result = run_scenario(scenario, bundle, journeys, run.coverage)
        except Exception as err:  # a runner reports an engine crash as a failed scenario, it does not crash
            crash = Mismatch("engine", f"the engine raised {type(err).__name__}: {err}")
            result = ScenarioResult(scenario, Observed(), [crash])
        run.results.append(result)
    return run


# --------------------------------------------------------------------------- running one scenario


def _event(scenario: Scenario, step: EventStep, number: int, first: bool) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    if first:
        patch.update(scenario.profile)
    if step.profile:
        patch.update(step.profile)
    event: dict[str, Any] = {
        "id": step.id or f"{scenario.customer_id}/{scenario.span.line}/{number}",
        "type": step.type,
        "customer_id": step.customer_id or scenario.customer_id,
        "at": step.at_text,
        "data": dict(step.data),
    }
    if patch:
        event["profile"] = patch
    return event


def run_scenario(
    scenario: Scenario,
    bundle: Any,
    journeys: dict[tuple[str, int], Journey],
    coverage: Coverage | None = None,
) -> ScenarioResult:
    from journeydsl.runtime import Engine

    started = time.perf_counter()
    engine = Engine.open(bundle, store="memory://")
    problems: list[Mismatch] = []
    customers = {scenario.customer_id}
    customers |= {s.customer_id for s in scenario.steps if isinstance(s, EventStep) and s.customer_id}
    for customer in customers:
        if scenario.force:
            engine.set_force(customer, scenario.force)
    clock: dt.datetime | None = None
    first = True
    for number, step in enumerate(scenario.steps, start=1):
        if isinstance(step, AdvanceStep):
            if step.until is not None:
                until = step.until
            elif clock is not None:
                until = clock + dt.timedelta(seconds=step.seconds or 0)
            else:  # the engine's time is event time: there is nothing to count from yet
                problems.append(Mismatch("events", f"`advance: {step.text}` comes before any event"))
                continue
            engine.advance(rfc3339(until))
            clock = until
            continue
        before = len(engine.dead_letters)
        engine.process(_event(scenario, step, number, first))
        first = False
        clock = step.at if clock is None or step.at > clock else clock
        for dead in engine.dead_letters[before:]:
            where = f"{step.span.file}:{step.span.line}" if step.span else "?"
            problems.append(Mismatch("events", f"the engine rejected the event at {where}: {dead.get('reason')}"))
    transitions = list(engine.store.transitions())
    actions = list(engine.store.actions())
    observed = observe(scenario, engine, transitions, actions)
    if coverage is not None:
        _cover(coverage, transitions, customers)
    mismatches = problems + compare(scenario.expect, observed)
    _hint_waiting_sends(engine, scenario.customer_id, clock, mismatches)
    version = next((int(t["version"]) for t in transitions if t["journey"] == scenario.journey), None)
    journey = journeys.get((scenario.journey, version or 0)) or next(
        (j for (name, _), j in sorted(journeys.items(), reverse=True) if name == scenario.journey), None
    )
    return ScenarioResult(scenario, observed, mismatches, journey, time.perf_counter() - started)


def _hint_waiting_sends(engine: Any, customer_id: str, clock: dt.datetime | None, mismatches: list[Mismatch]) -> None:
    """Sends still waiting for a contact policy's settle time when the scenario ended are in no record yet: a
    `sends` mismatch says so, and how far to advance."""
    from journeydsl.runtime import state as S

    sends = next((m for m in mismatches if m.key == "sends"), None)
    customer = engine.store.load(customer_id) if sends is not None else None
    waiting = (customer or {}).get("c", {}).get(S.OFFERS) or []
    if sends is None or not waiting or clock is None:
        return
    due = dt.datetime.fromtimestamp(min(offer[S.OFFER_DUE] for offer in waiting), dt.UTC)
    wait = max(dt.timedelta(seconds=1), due - clock)
    sends.lines.append(
        f"note: {len(waiting)} send(s) wait for the contact policy's settle time ({rfc3339(due)}): add "
        f"`{{advance: {_duration_text(wait)}}}` after the last event to see them decided"
    )


def _duration_text(delta: dt.timedelta) -> str:
    """The shortest whole duration of the DSL's units that reaches `delta` (rounded up)."""
    seconds = math.ceil(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{math.ceil(seconds / size)}{unit}"
    return f"{seconds}s"


def observe(
    scenario: Scenario, engine: Any, transitions: list[dict[str, Any]], actions: list[dict[str, Any]]
) -> Observed:
    """What the store logged for the scenario's journey and customer."""
    mine = [t for t in transitions if t["journey"] == scenario.journey and t["customer_id"] == scenario.customer_id]
    observed = Observed()
    for row in mine:
        if row["from_step"] is not None and (not observed.path or observed.path[-1] != row["from_step"]):
            observed.path.append(str(row["from_step"]))
        observed.path.append(str(row["to_step"]))
        if row["from_step"] is not None:
            observed.transitions.append((str(row["from_step"]), str(row["to_step"])))
    records = [
        r for r in actions if r.get("journey") == scenario.journey and r.get("customer_id") == scenario.customer_id
    ]
    observed.sends = [r for r in records if r.get("kind") == "send"]
    observed.calls = [r for r in records if r.get("kind") == "call"]
    observed.sets = [r for r in records if r.get("kind") == "set"]
    observed.goals = [r for r in records if r.get("kind") == "goal"]
    observed.errors = [r for r in records if r.get("kind") == "error"]
    for record in records:
        if record.get("kind") == "end":
            observed.outcome = str(record.get("outcome") or "end")
        elif record.get("kind") == "exit":
            observed.outcome = f"exit:{record.get('outcome')}"
        elif record.get("kind") == "enter":
            observed.outcome = None  # a new instance: what counts is how the latest one ends
    for instance in engine.instances(scenario.customer_id):
        if instance["journey"] == scenario.journey:
            observed.variants.update(instance.get("variants") or {})
    return observed


def _cover(coverage: Coverage, transitions: list[dict[str, Any]], customers: set[str]) -> None:
    """Every transition of the scenario's customers counts, in whatever journey it happened."""
    by_instance: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in transitions:
        if row["customer_id"] in customers:
            by_instance.setdefault((row["journey"], row["instance"]), []).append(row)
    for (journey, _), rows in by_instance.items():
        steps = [str(r["to_step"]) for r in rows]
        edges = [(str(r["from_step"]), str(r["to_step"])) for r in rows if r["from_step"] is not None]
        coverage.visit(journey, steps, edges, infer_edges=False)


# --------------------------------------------------------------------------- reporting


def step_location(journey: Journey | None, step: str | None) -> Span | None:
    if journey is None or step is None:
        return None
    found = journey.step_map().get(step)
    return found.span if found else None


def source_line(sources: dict[str, str], span: Span | None) -> str | None:
    if span is None:
        return None
    lines = source_lines(sources.get(span.file, ""), span.file)
    return lines[span.line - 1] if 0 < span.line <= len(lines) else None


def describe_failure(result: ScenarioResult, sources: dict[str, str]) -> str:
    """The readable block printed for a failed scenario: where, then per expectation a diff."""
    scenario = result.scenario
    out = [f"FAIL {scenario.location}: {scenario.name}  (journey {scenario.journey}, customer {scenario.customer_id})"]
    for mismatch in result.mismatches:
        out.append(f"  {mismatch.key}: {mismatch.summary}")
        out.extend(f"    {line}" for line in mismatch.lines)
        if mismatch.key != "path" or result.journey is None:
            continue
        if mismatch.parting_step:
            span, what = step_location(result.journey, mismatch.parting_step), f"step `{mismatch.parting_step}`"
        else:  # nothing in common: the entry policy decided
            entry = result.journey.entry
            span, what = (entry.span if entry else None), "the entry policy"
        text = source_line(sources, span)
        if span is not None:
            out.append(f"    {what} is at {span.file}:{span.line}:")
            if text is not None:
                out.append(f"    {span.line:>5} | {text}")
    return "\n".join(out)
