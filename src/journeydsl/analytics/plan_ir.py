"""A compiled plan (bundle format 1) lifted back into IR, so a report can draw the journey it ran.

The report has only the store and the bundle, not the sources; the diagram back end draws IR. The lift is the
inverse of the compiler's lowering (`journeydsl.compile.plan`), reading the plan through the format's types
(`runtime.plan_format`) and its expression tag table: IR -> plan -> IR gives the same journey, and plan -> IR ->
plan the same plan (tests/analytics/test_plan_roundtrip.py, on every example journey and on generated ones),
except for what a plan does not keep:

- `team`, `description` and `tags` (they document the source; nothing runs on them); spans;
- the unit a duration was written in: it comes back in the largest unit up to days that divides it
  (`1209600` seconds is `14d`, whatever the author wrote);
- `reentry never` as written: it comes back as no `reentry` (which means the same);
- the order of things the plan keys by name, as canonical JSON sorts keys: exit rules come back grouped by event
  type in the order of the types' names (in source order within a type), caps in the order of their channels
  (one per channel: the checker refuses the rest), the arguments of an action in the order of their names;
- stage blocks without steps, and the split of two adjacent blocks of one stage (they come back as one);
- the order of migrations and of their moves: they come back by old version, the moves by old step name.

Wait arms come back in source order (the wait's `order`; a plan written before it existed gives them grouped by
event type).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, assert_never

from journeydsl import ir
from journeydsl.runtime import plan_format as pf

# Weeks are left out: authors write `14d` far more often than `2w`.
_UNITS = sorted(((u, n) for u, n in ir.DURATION_UNITS.items() if u != "w"), key=lambda item: -item[1])


class PlanShapeError(ValueError):
    """A plan that does not have the shape of bundle format 1."""


def duration(seconds: float | int) -> ir.Duration:
    whole = int(seconds)
    for unit, size in _UNITS:
        if whole and whole % size == 0:
            return ir.Duration(whole // size, unit)
    return ir.Duration(whole, "s")


def expression(node: Any) -> ir.Expr:
    """The serialized form `["tag", …]` back to an expression node (tags from plan_format.EXPR_TAGS)."""
    if not isinstance(node, list) or not node:
        raise PlanShapeError(f"not a serialized expression: {node!r}")
    tag, rest = node[0], node[1:]
    spec = pf.EXPR_TAGS.get(tag) if isinstance(tag, str) else None
    if spec is None:
        raise PlanShapeError(f"unknown expression tag {tag!r}")
    least, most = spec.operands
    if len(rest) < least or (most is not None and len(rest) > most):
        raise PlanShapeError(f"`{tag}` with {len(rest)} operands: {node!r}")
    kind = spec.kind
    if kind == "lit":
        return ir.Literal(rest[0])
    if kind == "dur":
        return ir.Literal(duration(rest[0]))
    if kind == "ref":
        return ir.Name(tuple(str(part) for part in rest))
    if kind == "list":
        return ir.ListLit(tuple(expression(item) for item in rest))
    if kind == "unary":
        return ir.Unary(str(spec.op), expression(rest[0]))
    if kind == "binary":
        return ir.Binary(str(spec.op), expression(rest[0]), expression(rest[1]))
    if kind == "call":
        return ir.Call(str(rest[0]), tuple(expression(arg) for arg in rest[1:]))
    assert_never(kind)


def _optional(node: Any) -> ir.Expr | None:
    return None if node is None else expression(node)


def _args(args: pf.Args | None) -> tuple[ir.Arg, ...]:
    return tuple(ir.Arg(name, expression(value)) for name, value in (args or {}).items())


def _action(raw: pf.Action) -> ir.Action:
    if raw["kind"] == "send":
        return ir.Send(str(raw["channel"]), str(raw["template"]), _args(raw.get("args")))
    if raw["kind"] == "set":
        return ir.SetProfile(str(raw["field"]), expression(raw["value"]))
    if raw["kind"] == "emit":
        return ir.Emit(str(raw["event"]), _args(raw.get("args")))
    if raw["kind"] == "call":
        return ir.CallAction(str(raw["name"]), _args(raw.get("args")))
    raise PlanShapeError(f"unknown action kind {raw.get('kind')!r}")


def _arms(raw: pf.WaitJson, to: Callable[[Any], ir.Target]) -> tuple[ir.WaitArm, ...]:
    """The arms in source order: `order` names the event type of each; the n-th mention takes the type's n-th arm."""
    tables = raw.get("on") or {}
    order = raw.get("order")
    if order is None:  # written before `order` existed: grouped by event type, as the plan holds them
        order = [event for event, arms in tables.items() for _ in arms]
    taken: dict[str, int] = {}
    lifted: list[ir.WaitArm] = []
    for event in order:
        arms = tables.get(event) or []
        index = taken[event] = taken.get(event, 0) + 1
        if index > len(arms):
            raise PlanShapeError(f"a wait's `order` names {event!r} {index} times; it has {len(arms)} such arms")
        guard, target = arms[index - 1]
        lifted.append(ir.WaitArm(str(event), to(target), _optional(guard)))
    if len(lifted) != sum(len(arms) for arms in tables.values()):
        raise PlanShapeError("a wait's `order` does not name each of its arms")
    return tuple(lifted)


def _flow(raw: pf.Flow, names: Mapping[int, str]) -> ir.Flow:
    def to(step_id: Any) -> ir.Target:
        return ir.Target(names.get(int(step_id), f"#{step_id}"))

    if raw["kind"] == "goto":
        return ir.Goto(to(raw["to"]))
    if raw["kind"] == "sleep":
        return ir.Sleep(duration(raw["after_s"]), to(raw["to"]))
    if raw["kind"] == "wait":
        timeout = raw.get("timeout")
        lifted: ir.Timeout | None = None
        if timeout and "after_s" in timeout:
            lifted = ir.Timeout(to(timeout["to"]), after=duration(timeout["after_s"]))
        elif timeout and "at" in timeout:
            lifted = ir.Timeout(to(timeout["to"]), at=expression(timeout["at"]))
        return ir.Wait(_arms(raw, to), lifted)
    if raw["kind"] == "choose":
        branches = tuple(ir.When(expression(branch[0]), to(branch[1])) for branch in raw.get("branches", []))
        otherwise = raw.get("otherwise")
        return ir.Choose(branches, None if otherwise is None else to(otherwise))
    if raw["kind"] == "experiment":
        variants = tuple(
            ir.Variant(str(v["name"]), int(v["weight"]), to(v["to"]), bool(v.get("control")))
            for v in raw.get("variants", [])
        )
        return ir.Experiment(str(raw["name"]), variants)
    if raw["kind"] == "end":
        return ir.End(raw.get("outcome"))
    raise PlanShapeError(f"unknown flow kind {raw.get('kind')!r}")


def plan_to_journey(plan: pf.PlanJson) -> ir.Journey:
    """Raises PlanShapeError on a plan that is not bundle format 1."""
    try:
        return _lift(plan)
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as err:
        if isinstance(err, PlanShapeError):
            raise
        raise PlanShapeError(f"plan of {plan.get('journey')!r} is malformed: {err!r}") from err


def _hhmm(minutes: int) -> str:
    return f"{int(minutes) // 60:02d}:{int(minutes) % 60:02d}"


def _reentry(raw: pf.ReentryJson | None) -> ir.Reentry | None:
    if not raw:
        return None
    after = raw.get("after_s")
    if raw["mode"] == "never" and after is None:  # what a journey that does not say compiles to
        return None
    return ir.Reentry(str(raw["mode"]), None if after is None else duration(after))


def _lift(plan: pf.PlanJson) -> ir.Journey:
    names = {int(step["id"]): str(step["name"]) for step in plan["steps"]}
    # Steps run in id (source) order; a run of steps of one stage is one stage block.
    stages: list[tuple[str, list[ir.Step]]] = []
    for step in plan["steps"]:
        lifted = ir.Step(
            str(step["name"]),
            tuple(_action(action) for action in step.get("actions", [])),
            _flow(step["flow"], names),
        )
        stage = str(step.get("stage") or "steps")
        if not stages or stages[-1][0] != stage:
            stages.append((stage, []))
        stages[-1][1].append(lifted)
    entry = plan.get("entry")
    quiet = plan.get("quiet")
    return ir.Journey(
        name=str(plan["journey"]),
        version=int(plan["version"]),
        owner=plan.get("owner"),
        title=plan.get("title"),
        experience=plan.get("experience"),
        uses=(plan.get("schema") or {}).get("name"),
        entry=ir.Entry(str(entry["event"]), _optional(entry.get("where")), _optional(entry.get("key")))
        if entry
        else None,
        audience=_optional(entry.get("audience")) if entry else None,
        reentry=_reentry(plan.get("reentry")),
        exits=tuple(
            ir.Exit(str(event), _optional(rule.get("where")))
            for event, rules in (plan.get("exits") or {}).items()
            for rule in rules
        ),
        goals=tuple(
            ir.Goal(
                str(goal["name"]),
                str(goal["event"]),
                _optional(goal.get("where")),
                duration(within) if (within := goal.get("within_s")) is not None else None,
                _optional(goal.get("value")),
                expect=float(pct) if (pct := goal.get("expect_pct")) is not None else None,
            )
            for goal in plan.get("goals") or []
        ),
        caps=tuple(
            ir.Cap(str(channel), int(cap["max"]), duration(cap["per_s"]))
            for channel, cap in (plan.get("caps") or {}).items()
        ),
        quiet=ir.Quiet(_hhmm(quiet["start_min"]), _hhmm(quiet["end_min"])) if quiet else None,
        stages=tuple(ir.Stage(name, tuple(steps)) for name, steps in stages),
        migrations=tuple(_migration(raw, names) for raw in plan.get("migrations") or []),
    )


def _migration(raw: pf.MigrationJson, names: Mapping[int, str]) -> ir.Migration:
    moves = tuple(ir.MigrationMove(str(source), names[int(to)]) for source, to in raw["moves"].items())
    return ir.Migration(int(raw["from"]), moves, tuple(str(step) for step in raw["keep"]))
