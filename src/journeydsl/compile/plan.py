"""Journey + Schema (IR) -> the plan dict of docs/bundle-format.md (`journeys/<id>/<v>/plan.json`).

Lowering resolves step names to ids (source order), turns durations into
seconds and times of day into minutes, indexes wait arms and exits by event
type, and serializes every expression. It assumes a checked journey: what
the checker should have refused raises `PlanError` instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, assert_never

from journeydsl.compile.expr import serialize, serialize_opt
from journeydsl.diagnostics import Code, codes
from journeydsl.ir import (
    Action,
    Arg,
    CallAction,
    Choose,
    Emit,
    End,
    Experiment,
    FieldDef,
    Flow,
    Goto,
    Journey,
    Schema,
    Send,
    SetProfile,
    Sleep,
    Target,
    TypeRef,
    Wait,
)

FORMAT = 1


class PlanError(ValueError):
    """A journey that cannot be lowered (unknown step, missing entry…): the checker should have said so."""

    def __init__(self, message: str, code: Code = codes.SYNTAX_ERROR) -> None:
        super().__init__(message)
        self.code = code


def type_dict(ref: TypeRef) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ref.name, "nullable": ref.nullable}
    if ref.name == "enum":
        out["members"] = list(ref.members)
    if ref.name == "list" and ref.item is not None:
        out["item"] = type_dict(ref.item)
    return out


def _fields(fields: Iterable[FieldDef]) -> dict[str, Any]:
    return {f.name: type_dict(f.type) for f in fields}


def schema_dict(schema: Schema | None) -> dict[str, Any]:
    """The schema the runtime validates events against; an empty one when the journey has none."""
    if schema is None:
        return {"name": None, "profile": {}, "events": {}, "channels": {}}
    return {
        "name": schema.name,
        "profile": _fields(schema.profile),
        "events": {e.name: _fields(e.fields) for e in schema.events},
        "channels": {c.name: {"cost": c.cost, "requires": c.requires} for c in schema.channels},
    }


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    try:
        return int(hours) * 60 + int(minutes)
    except ValueError as err:
        raise PlanError(f"quiet hours {hhmm!r} are not HH:MM", codes.BAD_LITERAL) from err


def _args(args: tuple[Arg, ...]) -> dict[str, Any]:
    return {arg.name: serialize(arg.value) for arg in args}


def action_dict(action: Action) -> dict[str, Any]:
    if isinstance(action, Send):
        return {"kind": "send", "channel": action.channel, "template": action.template, "args": _args(action.args)}
    if isinstance(action, SetProfile):
        return {"kind": "set", "field": action.field, "value": serialize(action.value)}
    if isinstance(action, Emit):
        return {"kind": "emit", "event": action.event, "args": _args(action.args)}
    if isinstance(action, CallAction):
        return {"kind": "call", "name": action.name, "args": _args(action.args)}
    assert_never(action)  # mypy flags this line when ir.Action gains a kind the bundle format does not hold yet


class _Lowering:
    """Lowers one journey; holds the step-name -> id table."""

    def __init__(self, journey: Journey) -> None:
        self.journey = journey
        self.ids: dict[str, int] = {}
        for index, step in enumerate(journey.steps()):
            self.ids.setdefault(step.name, index)  # duplicates: the first wins, as in Journey.step_map

    def to(self, target: Target) -> int:
        try:
            return self.ids[target.name]
        except KeyError:
            raise PlanError(f"journey {self.journey.name}: unknown step {target.name!r}", codes.UNKNOWN_STEP) from None

    def flow(self, flow: Flow) -> dict[str, Any]:
        if isinstance(flow, Goto):
            return {"kind": "goto", "to": self.to(flow.target)}
        if isinstance(flow, Sleep):
            return {"kind": "sleep", "after_s": flow.duration.seconds, "to": self.to(flow.target)}
        if isinstance(flow, Wait):
            on: dict[str, list[list[Any]]] = {}
            for arm in flow.arms:  # source order within each event type: the first true guard wins
                on.setdefault(arm.event, []).append([serialize_opt(arm.where), self.to(arm.target)])
            timeout: dict[str, Any] | None = None
            if flow.timeout is not None:
                if flow.timeout.after is not None:
                    timeout = {"after_s": flow.timeout.after.seconds, "to": self.to(flow.timeout.target)}
                elif flow.timeout.at is not None:
                    timeout = {"at": serialize(flow.timeout.at), "to": self.to(flow.timeout.target)}
                else:
                    raise PlanError(f"journey {self.journey.name}: a wait timeout has neither `after` nor `at`")
            return {"kind": "wait", "on": on, "timeout": timeout}
        if isinstance(flow, Choose):
            return {
                "kind": "choose",
                "branches": [[serialize(b.condition), self.to(b.target)] for b in flow.branches],
                "otherwise": None if flow.otherwise is None else self.to(flow.otherwise),
            }
        if isinstance(flow, Experiment):
            variants = [
                {"name": v.name, "weight": v.weight, "to": self.to(v.target), "control": v.control}
                for v in flow.variants
            ]
            return {"kind": "experiment", "name": flow.name, "variants": variants}
        if isinstance(flow, End):
            return {"kind": "end", "outcome": flow.outcome}
        assert_never(flow)  # mypy flags this line when ir.Flow gains a kind the bundle format does not hold yet

    def steps(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for stage in self.journey.stages:
            for step in stage.steps:
                out.append(
                    {
                        "id": len(out),
                        "name": step.name,
                        "stage": stage.name,
                        "line": step.span.line if step.span is not None else None,
                        "actions": [action_dict(a) for a in step.actions],
                        "flow": self.flow(step.flow),
                    }
                )
        return out


def lower_journey(journey: Journey, schema: Schema | None, source: str | None = None) -> dict[str, Any]:
    """The plan dict of one journey version."""
    if journey.entry is None:
        raise PlanError(f"journey {journey.name} has no `entry on EVENT`", codes.MISSING_ENTRY)
    if journey.version is None:
        raise PlanError(f"journey {journey.name} has no `version`", codes.MISSING_VERSION)
    if not journey.steps():
        raise PlanError(f"journey {journey.name} has no steps")
    lowering = _Lowering(journey)
    reentry = journey.reentry
    exits: dict[str, list[dict[str, Any]]] = {}
    for ex in journey.exits:
        exits.setdefault(ex.event, []).append({"where": serialize_opt(ex.where)})
    caps: dict[str, dict[str, int]] = {}
    for cap in journey.caps:
        caps.setdefault(cap.channel, {"max": cap.max, "per_s": cap.per.seconds})  # duplicates: the checker's job
    return {
        "format": FORMAT,
        "journey": journey.name,
        "version": journey.version,
        "source": source,
        "title": journey.title,
        "owner": journey.owner,
        "experience": journey.experience,
        "schema": schema_dict(schema),
        "entry": {
            "event": journey.entry.event,
            "where": serialize_opt(journey.entry.where),
            "key": serialize_opt(journey.entry.key),
            "audience": serialize_opt(journey.audience),
        },
        "reentry": {
            "mode": "never" if reentry is None else reentry.mode,
            "after_s": reentry.after.seconds if reentry is not None and reentry.after is not None else None,
        },
        "exits": exits,
        "goals": [
            {
                "name": g.name,
                "event": g.event,
                "where": serialize_opt(g.where),
                "within_s": g.within.seconds if g.within is not None else None,
                "value": serialize_opt(g.value),
            }
            for g in journey.goals
        ],
        "caps": caps,
        "quiet": (
            None
            if journey.quiet is None
            else {"start_min": _minutes(journey.quiet.start), "end_min": _minutes(journey.quiet.end)}
        ),
        "entry_step": 0,
        "steps": lowering.steps(),
    }


def build_index(plans: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """index.json: event type -> [[id, version], …] for entries, exits and goals, and id -> latest version.

    Only the latest version of a journey takes new entries (older versions only finish the instances
    pinned to them), so `entries` lists latest versions; `exits` and `goals` list every version.
    """
    plans = sorted(plans, key=lambda p: (p["journey"], p["version"]))
    latest: dict[str, int] = {}
    for plan in plans:
        latest[plan["journey"]] = max(plan["version"], latest.get(plan["journey"], plan["version"]))
    entries: dict[str, list[list[Any]]] = {}
    exits: dict[str, list[list[Any]]] = {}
    goals: dict[str, list[list[Any]]] = {}
    for plan in plans:
        ref = [plan["journey"], plan["version"]]
        if latest[plan["journey"]] == plan["version"]:
            entries.setdefault(plan["entry"]["event"], []).append(ref)
        for event in plan["exits"]:
            exits.setdefault(event, []).append(ref)
        for event in sorted({g["event"] for g in plan["goals"]}):
            goals.setdefault(event, []).append(ref)
    return {"entries": entries, "exits": exits, "goals": goals, "latest": latest}
