"""A compiled plan (bundle format 1) lifted back into IR, so a report can draw the journey it ran.

The report has only the store and the bundle, not the sources; the diagram back end draws IR.
The lift is the inverse of the compiler's lowering for everything a diagram shows: stages,
steps, actions, flows with their targets, guards (the serialized expressions are turned back
into expression nodes), timers, variants, entry, exits and goals. Durations come back in the
largest unit up to days that divides them (`1209600` seconds is `14d`, whatever the author
wrote); wait arms come back ordered by target; spans are None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journeydsl import ir

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
    """The serialized form `["tag", …]` back to an expression node."""
    if not isinstance(node, list) or not node:
        raise PlanShapeError(f"not a serialized expression: {node!r}")
    tag, rest = node[0], node[1:]
    if tag == "lit":
        return ir.Literal(rest[0])
    if tag == "dur":
        return ir.Literal(duration(rest[0]))
    if tag == "ref":
        return ir.Name(tuple(str(part) for part in rest))
    if tag == "list":
        return ir.ListLit(tuple(expression(item) for item in rest))
    if tag == "not":
        return ir.Unary("not", expression(rest[0]))
    if tag == "neg":
        return ir.Unary("-", expression(rest[0]))
    if tag == "call":
        return ir.Call(str(rest[0]), tuple(expression(arg) for arg in rest[1:]))
    if len(rest) == 2:
        return ir.Binary(str(tag), expression(rest[0]), expression(rest[1]))
    raise PlanShapeError(f"unknown expression tag {tag!r}")


def _optional(node: Any) -> ir.Expr | None:
    return None if node is None else expression(node)


def _args(args: Mapping[str, Any] | None) -> tuple[ir.Arg, ...]:
    return tuple(ir.Arg(name, expression(value)) for name, value in (args or {}).items())


def _action(raw: Mapping[str, Any]) -> ir.Action:
    kind = raw.get("kind")
    if kind == "send":
        return ir.Send(str(raw["channel"]), str(raw["template"]), _args(raw.get("args")))
    if kind == "set":
        return ir.SetProfile(str(raw["field"]), expression(raw["value"]))
    if kind == "emit":
        return ir.Emit(str(raw["event"]), _args(raw.get("args")))
    if kind == "call":
        return ir.CallAction(str(raw["name"]), _args(raw.get("args")))
    raise PlanShapeError(f"unknown action kind {kind!r}")


def _flow(raw: Mapping[str, Any], names: Mapping[int, str]) -> ir.Flow:
    def to(step_id: Any) -> ir.Target:
        return ir.Target(names.get(int(step_id), f"#{step_id}"))

    kind = raw.get("kind")
    if kind == "goto":
        return ir.Goto(to(raw["to"]))
    if kind == "sleep":
        return ir.Sleep(duration(raw["after_s"]), to(raw["to"]))
    if kind == "wait":
        # The plan groups arms by event type; source order across types is not kept, so sort by target id.
        arms = [
            (int(target), ir.WaitArm(str(event), to(target), _optional(guard)))
            for event, table in (raw.get("on") or {}).items()
            for guard, target in table
        ]
        timeout = raw.get("timeout")
        lifted: ir.Timeout | None = None
        if timeout:
            if timeout.get("after_s") is not None:
                lifted = ir.Timeout(to(timeout["to"]), after=duration(timeout["after_s"]))
            else:
                lifted = ir.Timeout(to(timeout["to"]), at=_optional(timeout.get("at")))
        return ir.Wait(tuple(arm for _, arm in sorted(arms, key=lambda item: item[0])), lifted)
    if kind == "choose":
        branches = tuple(ir.When(expression(cond), to(target)) for cond, target in raw.get("branches", []))
        otherwise = raw.get("otherwise")
        return ir.Choose(branches, None if otherwise is None else to(otherwise))
    if kind == "experiment":
        variants = tuple(
            ir.Variant(str(v["name"]), int(v["weight"]), to(v["to"]), bool(v.get("control")))
            for v in raw.get("variants", [])
        )
        return ir.Experiment(str(raw["name"]), variants)
    if kind == "end":
        return ir.End(raw.get("outcome"))
    raise PlanShapeError(f"unknown flow kind {kind!r}")


def plan_to_journey(plan: Mapping[str, Any]) -> ir.Journey:
    """Raises PlanShapeError on a plan that is not bundle format 1."""
    try:
        return _lift(plan)
    except (KeyError, TypeError, IndexError, ValueError) as err:
        if isinstance(err, PlanShapeError):
            raise
        raise PlanShapeError(f"plan of {plan.get('journey')!r} is malformed: {err!r}") from err


def _lift(plan: Mapping[str, Any]) -> ir.Journey:
    names = {int(step["id"]): str(step["name"]) for step in plan["steps"]}
    stages: dict[str, list[ir.Step]] = {}
    for step in plan["steps"]:
        lifted = ir.Step(
            str(step["name"]),
            tuple(_action(action) for action in step.get("actions", [])),
            _flow(step["flow"], names),
        )
        stages.setdefault(str(step.get("stage") or "steps"), []).append(lifted)
    entry = plan.get("entry") or {}
    reentry = plan.get("reentry") or {}
    return ir.Journey(
        name=str(plan["journey"]),
        version=int(plan["version"]),
        owner=plan.get("owner"),
        title=plan.get("title"),
        experience=plan.get("experience"),
        uses=(plan.get("schema") or {}).get("name"),
        entry=ir.Entry(str(entry.get("event")), _optional(entry.get("where")), _optional(entry.get("key")))
        if entry
        else None,
        audience=_optional(entry.get("audience")),
        reentry=ir.Reentry(
            str(reentry["mode"]), duration(reentry["after_s"]) if reentry.get("after_s") is not None else None
        )
        if reentry
        else None,
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
                duration(goal["within_s"]) if goal.get("within_s") is not None else None,
                _optional(goal.get("value")),
            )
            for goal in plan.get("goals") or []
        ),
        stages=tuple(ir.Stage(name, tuple(steps)) for name, steps in stages.items()),
    )
