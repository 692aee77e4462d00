"""The report's lift (analytics/plan_ir.py) is the inverse of the compiler's lowering (compile/plan.py).

IR -> plan (as the bundle holds it: canonical JSON) -> IR gives the same journey, up to what a plan does not keep
(`as_planned` says what, as plan_ir.py's docstring does); plan -> IR -> plan gives the same plan. Checked on every
journey the tests build bundles of (the examples under journeys/ among them) and on generated journeys
(tests/ir_strategies.py). A field the writer adds and the lift does not read, or the reverse, fails here.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ir_strategies import durations, ir_strategies, names, numbers, scalar_types
from journeydsl import ir
from journeydsl.analytics.plan_ir import PlanShapeError, duration, expression, plan_to_journey
from journeydsl.compile.plan import lower_journey
from journeydsl.runtime.bundle import canonical_json
from journeydsl.runtime.plan_format import EXPR_TAGS, PlanJson
from journeydsl.runtime.plan_schema import validate_plan
from test_plan_format import compiled_journeys


def bundled(journey: ir.Journey, schema: ir.Schema | None) -> PlanJson:
    """The plan as a bundle holds it: through canonical JSON (sorted keys, tuples as lists)."""
    plan: PlanJson = json.loads(canonical_json(lower_journey(journey, schema, source="j.journey")))
    return plan


# --------------------------------------------------------------------------- what a plan keeps of a journey


def _seconds(value: ir.Duration) -> ir.Duration:
    return duration(value.seconds)


def _expr(node: ir.Expr) -> ir.Expr:
    if isinstance(node, ir.Literal):
        return ir.Literal(_seconds(node.value)) if isinstance(node.value, ir.Duration) else node
    if isinstance(node, ir.Name):
        return node
    if isinstance(node, ir.ListLit):
        return ir.ListLit(tuple(_expr(item) for item in node.items))
    if isinstance(node, ir.Unary):
        return ir.Unary(node.op, _expr(node.operand))
    if isinstance(node, ir.Binary):
        return ir.Binary(node.op, _expr(node.left), _expr(node.right))
    if isinstance(node, ir.Call):
        return ir.Call(node.func, tuple(_expr(arg) for arg in node.args))
    raise TypeError(node)


def _opt(node: ir.Expr | None) -> ir.Expr | None:
    return None if node is None else _expr(node)


def _args(args: tuple[ir.Arg, ...]) -> tuple[ir.Arg, ...]:
    by_name = {arg.name: ir.Arg(arg.name, _expr(arg.value)) for arg in args}  # a map: the last of a name wins
    return tuple(by_name[name] for name in sorted(by_name))


def _action(action: ir.Action) -> ir.Action:
    if isinstance(action, ir.SetProfile):
        return ir.SetProfile(action.field, _expr(action.value))
    return dataclasses.replace(action, args=_args(action.args))


def _flow(flow: ir.Flow) -> ir.Flow:
    if isinstance(flow, ir.Sleep):
        return ir.Sleep(_seconds(flow.duration), flow.target)
    if isinstance(flow, ir.Wait):
        arms = tuple(ir.WaitArm(arm.event, arm.target, _opt(arm.where)) for arm in flow.arms)
        timeout = flow.timeout
        if timeout is not None:
            if timeout.after is not None:
                timeout = ir.Timeout(timeout.target, after=_seconds(timeout.after))
            else:
                timeout = ir.Timeout(timeout.target, at=_opt(timeout.at))
        return ir.Wait(arms, timeout)
    if isinstance(flow, ir.Choose):
        return ir.Choose(tuple(ir.When(_expr(b.condition), b.target) for b in flow.branches), flow.otherwise)
    return flow


def _stages(stages: tuple[ir.Stage, ...]) -> tuple[ir.Stage, ...]:
    merged: list[ir.Stage] = []
    for stage in stages:
        steps = tuple(ir.Step(s.name, tuple(_action(a) for a in s.actions), _flow(s.flow)) for s in stage.steps)
        if not steps:
            continue
        if merged and merged[-1].name == stage.name:
            merged[-1] = ir.Stage(stage.name, merged[-1].steps + steps)
        else:
            merged.append(ir.Stage(stage.name, steps))
    return tuple(merged)


def _hhmm(text: str) -> str:
    hours, _, minutes = text.partition(":")
    return f"{int(hours):02d}:{int(minutes):02d}"


def as_planned(journey: ir.Journey) -> ir.Journey:
    """The journey as its plan keeps it (plan_ir.py's docstring lists what it does not)."""
    reentry = journey.reentry
    if reentry is not None and reentry.mode == "never" and reentry.after is None:
        reentry = None
    elif reentry is not None and reentry.after is not None:
        reentry = ir.Reentry(reentry.mode, _seconds(reentry.after))
    caps: dict[str, ir.Cap] = {}
    for cap in journey.caps:
        caps.setdefault(cap.channel, ir.Cap(cap.channel, cap.max, _seconds(cap.per)))
    exits = sorted(journey.exits, key=lambda e: e.event)  # stable: source order within a type
    entry = journey.entry
    return dataclasses.replace(
        journey,
        team=None,
        description=None,
        tags=(),
        entry=None if entry is None else ir.Entry(entry.event, _opt(entry.where), _opt(entry.key)),
        audience=_opt(journey.audience),
        reentry=reentry,
        exits=tuple(ir.Exit(e.event, _opt(e.where)) for e in exits),
        goals=tuple(
            ir.Goal(
                g.name,
                g.event,
                _opt(g.where),
                None if g.within is None else _seconds(g.within),
                _opt(g.value),
                expect=g.expect,
            )
            for g in journey.goals
        ),
        caps=tuple(caps[channel] for channel in sorted(caps)),
        quiet=None if journey.quiet is None else ir.Quiet(_hhmm(journey.quiet.start), _hhmm(journey.quiet.end)),
        stages=_stages(journey.stages),
        migrations=tuple(
            dataclasses.replace(m, moves=tuple(sorted(m.moves, key=lambda move: move.source)))
            for m in sorted(journey.migrations, key=lambda m: m.from_version)
        ),
    )


def _without_lines(plan: PlanJson) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(plan))
    for step in out["steps"]:
        step["line"] = None  # a lifted journey has no spans
    return out


def assert_round_trips(journey: ir.Journey, schema: ir.Schema | None) -> None:
    plan = bundled(journey, schema)
    lifted = plan_to_journey(plan)
    assert lifted == as_planned(journey)
    again = bundled(lifted, schema)
    assert _without_lines(again) == _without_lines(plan)


# --------------------------------------------------------------------------- the journeys of the tests


@pytest.mark.parametrize(
    "compiled", compiled_journeys(), ids=lambda c: f"{c[0].name}@{str(c[2]['source']).rsplit('/', 2)[-2]}"
)
def test_every_journey_the_tests_build_round_trips(compiled: tuple[ir.Journey, ir.Schema | None, PlanJson]) -> None:
    journey, schema, _ = compiled
    assert_round_trips(journey, schema)


def test_wait_arms_come_back_in_source_order() -> None:
    """Arms across event types in the order written (the lift once sorted them by target)."""
    arms = (
        ir.WaitArm("b_signed", ir.Target("z")),
        ir.WaitArm("a_cancelled", ir.Target("y"), ir.Literal(True)),
        ir.WaitArm("b_signed", ir.Target("a")),
    )
    steps = (
        ir.Step("w", (), ir.Wait(arms, ir.Timeout(ir.Target("z"), after=ir.Duration(2, "w")))),
        ir.Step("a", (), ir.End()),
        ir.Step("y", (), ir.End()),
        ir.Step("z", (), ir.End()),
    )
    journey = ir.Journey("j", version=1, entry=ir.Entry("start"), stages=(ir.Stage("s", steps),))
    plan = bundled(journey, None)
    wait = plan["steps"][0]["flow"]
    assert wait["kind"] == "wait" and wait.get("order") == ["b_signed", "a_cancelled", "b_signed"]
    lifted = plan_to_journey(plan).steps()[0].flow
    assert isinstance(lifted, ir.Wait) and lifted.arms == arms
    assert lifted.timeout == ir.Timeout(ir.Target("z"), after=ir.Duration(14, "d"))
    del wait["order"]  # a plan written before `order`: grouped by event type, in the plan's order
    old = plan_to_journey(plan).steps()[0].flow
    assert isinstance(old, ir.Wait) and [a.event for a in old.arms] == ["a_cancelled", "b_signed", "b_signed"]
    wait["order"] = ["b_signed", "a_cancelled"]
    with pytest.raises(PlanShapeError, match="does not name each of its arms"):
        plan_to_journey(plan)


def test_every_expression_tag_lifts_to_a_node_that_lowers_to_it() -> None:
    samples = {
        "lit": ["lit", "x"],
        "dur": ["dur", 3600],
        "ref": ["ref", "profile", "ltv"],
        "list": ["list", ["lit", 1]],
        "call": ["call", "lower", ["ref", "event", "zip"]],
    }
    from journeydsl.compile.expr import serialize

    for tag, spec in EXPR_TAGS.items():
        operands = {"unary": 1, "binary": 2}.get(spec.kind)
        node = samples.get(tag) or [tag, *[["lit", n] for n in range(operands or 0)]]
        assert serialize(expression(node)) == node, tag


# --------------------------------------------------------------------------- generated journeys

_leaves = st.one_of(
    st.builds(ir.Literal, numbers | st.integers(-(10**6), -1) | st.text(max_size=6) | st.booleans() | st.none()),
    st.builds(ir.Literal, durations),
    st.builds(ir.Name, st.tuples(st.sampled_from(["profile", "event"]), names)),
    st.just(ir.Name(("now",))),
    st.builds(ir.Name, st.tuples(st.just("journey"), st.sampled_from(["entered_at", "variant"]))),
)
_BINARY = [spec.op for spec in EXPR_TAGS.values() if spec.kind == "binary" and spec.op]
_exprs = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.builds(ir.Binary, st.sampled_from(_BINARY), inner, inner),
        st.builds(ir.Unary, st.sampled_from(["not", "-"]), inner),
        st.builds(ir.ListLit, st.lists(inner, max_size=3).map(tuple)),
        st.builds(
            ir.Call, st.sampled_from(["coalesce", "min", "max"]), st.lists(inner, min_size=1, max_size=3).map(tuple)
        ),
    ),
    max_leaves=8,
)
_types = st.recursive(
    scalar_types, lambda inner: st.builds(ir.TypeRef, st.just("list"), st.booleans(), inner), max_leaves=2
)
_generated = ir_strategies(_exprs, st.text(max_size=10), _types)


def _retarget(flow: ir.Flow, steps: list[str]) -> ir.Flow:
    """Every target made one of the journey's steps (a generated name rarely is one), picked by the name."""

    def to(target: ir.Target) -> ir.Target:
        return ir.Target(steps[sum(map(ord, target.name)) % len(steps)])

    if isinstance(flow, (ir.Goto, ir.Sleep)):
        return dataclasses.replace(flow, target=to(flow.target))
    if isinstance(flow, ir.Wait):
        arms = tuple(dataclasses.replace(arm, target=to(arm.target)) for arm in flow.arms)
        timeout = None if flow.timeout is None else dataclasses.replace(flow.timeout, target=to(flow.timeout.target))
        return ir.Wait(arms, timeout)
    if isinstance(flow, ir.Choose):
        branches = tuple(dataclasses.replace(b, target=to(b.target)) for b in flow.branches)
        return ir.Choose(branches, None if flow.otherwise is None else to(flow.otherwise))
    if isinstance(flow, ir.Experiment):
        return ir.Experiment(flow.name, tuple(dataclasses.replace(v, target=to(v.target)) for v in flow.variants))
    return flow


def _lowerable(journey: ir.Journey) -> ir.Journey:
    """What the checker would let through to the compiler: an entry, a version, steps, targets that exist."""
    stages = journey.stages if journey.steps() else (ir.Stage("only", (ir.Step("done", (), ir.End()),)),)
    steps = [step.name for stage in stages for step in stage.steps]
    stages = tuple(
        ir.Stage(stage.name, tuple(dataclasses.replace(s, flow=_retarget(s.flow, steps)) for s in stage.steps))
        for stage in stages
    )
    version = journey.version or 1
    # Migrations as the checker lets them through: each from one older version, to steps that exist, every old
    # step moved or kept once.
    migrations: dict[int, ir.Migration] = {}
    for migration in journey.migrations:
        if migration.from_version < version and migration.from_version not in migrations:
            moves = tuple(
                ir.MigrationMove(m.source, steps[sum(map(ord, m.target)) % len(steps)]) for m in migration.moves
            )
            moved = {m.source for m in moves}
            keep = tuple(dict.fromkeys(name for name in migration.keep if name not in moved))
            migrations[migration.from_version] = ir.Migration(migration.from_version, moves, keep)
    return dataclasses.replace(
        journey,
        version=version,
        entry=journey.entry or ir.Entry("start"),
        stages=stages,
        migrations=tuple(migrations.values()),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_generated.journeys.map(_lowerable), st.none() | _generated.schemas)
def test_generated_journeys_round_trip(journey: ir.Journey, schema: ir.Schema | None) -> None:
    if schema is not None:
        journey = dataclasses.replace(journey, uses=schema.name)
    else:
        journey = dataclasses.replace(journey, uses=None)
    assert_round_trips(journey, schema)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_generated.journeys.map(_lowerable))
def test_generated_plans_of_checked_shapes_pass_the_loader(journey: ir.Journey) -> None:
    """What the lift reads is what the loader lets through: generated plans within the format's limits load."""
    plan = bundled(journey, None)
    if all(step["flow"]["kind"] != "experiment" or step["flow"]["variants"] for step in plan["steps"]):
        validate_plan(plan)
