"""Journey + Schema (IR) -> the plan of docs/bundle-format.md (`journeys/<id>/<v>/plan.json`).

The compiler's writer of the format that `journeydsl.runtime.plan_format` defines: its output is typed with those
TypedDicts, so a field the format does not have, or one it lacks, is a mypy error here. Lowering resolves step
names to ids (source order), turns durations into seconds and times of day into minutes, indexes wait arms and
exits by event type (keeping the arms' source order in the wait's `order`), and serializes every expression. It
assumes a checked journey: what the checker should have refused raises `JourneyLoweringError` instead of guessing.
`analytics/plan_ir.py` is its inverse, and tests/analytics/test_plan_roundtrip.py holds them to that.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, assert_never, cast

from journeydsl.compile.expr import serialize, serialize_opt
from journeydsl.diagnostics import Code, codes
from journeydsl.ir import (
    DEFAULT_SETTLE,
    Action,
    Arg,
    CallAction,
    Choose,
    ContactPolicy,
    Emit,
    End,
    Experiment,
    FieldDef,
    Flow,
    Goal,
    Goto,
    Journey,
    Quiet,
    Schema,
    Send,
    SetProfile,
    Sleep,
    Target,
    TypeRef,
    Wait,
)
from journeydsl.runtime import plan_format as pf


class JourneyLoweringError(ValueError):
    """A journey that cannot be lowered (unknown step, missing entry…): the checker should have said so.

    Not the runtime's `PlanError` (runtime/expr.py), which the runtime raises for a malformed serialized expression.
    """

    def __init__(self, message: str, code: Code = codes.SYNTAX_ERROR) -> None:
        super().__init__(message)
        self.code = code


def type_dict(ref: TypeRef) -> pf.TypeJson:
    if ref.name not in pf.TYPE_NAMES:
        raise JourneyLoweringError(f"unknown type {ref.name!r}")
    out: pf.TypeJson = {"type": cast(pf.TypeName, ref.name), "nullable": ref.nullable}
    if ref.name == "enum":
        out["members"] = list(ref.members)
    if ref.name == "list" and ref.item is not None:
        out["item"] = type_dict(ref.item)
    return out


def _fields(fields: Iterable[FieldDef]) -> dict[str, pf.TypeJson]:
    return {f.name: type_dict(f.type) for f in fields}


def schema_dict(schema: Schema | None) -> pf.SchemaJson:
    """The schema the runtime validates events against; an empty one when the journey has none."""
    if schema is None:
        return {"name": None, "profile": {}, "events": {}, "channels": {}}
    out: pf.SchemaJson = {
        "name": schema.name,
        "profile": _fields(schema.profile),
        "events": {e.name: _fields(e.fields) for e in schema.events},
        "channels": {c.name: {"cost": c.cost, "requires": c.requires} for c in schema.channels},
    }
    if schema.policy is not None:  # only then: a plan of a schema without a policy stays byte for byte what it was
        out["policy"] = policy_dict(schema.policy)
    return out


def policy_dict(policy: ContactPolicy) -> pf.PolicyJson:
    """The schema's contact policy as the runtime reads it (duplicate caps: the first wins, the checker reports)."""
    caps: dict[str, pf.CapJson] = {}
    for cap in policy.caps:
        caps.setdefault(cap.channel, {"max": cap.max, "per_s": cap.per.seconds})
    priority = policy.priority
    settle = policy.settle if policy.settle is not None else DEFAULT_SETTLE
    return {
        "caps": caps,
        "priority": (
            None
            if priority is None
            else {"kind": cast(Literal["journeys", "experiences"], priority.kind), "names": list(priority.names)}
        ),
        "quiet": _quiet(policy.quiet),
        "settle_s": settle.seconds,
        "conflict": cast(Literal["suppress", "delay"], policy.conflict),
    }


def _quiet(quiet: Quiet | None) -> pf.QuietJson | None:
    return None if quiet is None else {"start_min": _minutes(quiet.start), "end_min": _minutes(quiet.end)}


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    try:
        return int(hours) * 60 + int(minutes)
    except ValueError as err:
        raise JourneyLoweringError(f"quiet hours {hhmm!r} are not HH:MM", codes.BAD_LITERAL) from err


def _args(args: tuple[Arg, ...]) -> pf.Args:
    return {arg.name: serialize(arg.value) for arg in args}


def action_dict(action: Action) -> pf.Action:
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
            raise JourneyLoweringError(
                f"journey {self.journey.name}: unknown step {target.name!r}", codes.UNKNOWN_STEP
            ) from None

    def flow(self, flow: Flow) -> pf.Flow:
        if isinstance(flow, Goto):
            return {"kind": "goto", "to": self.to(flow.target)}
        if isinstance(flow, Sleep):
            return {"kind": "sleep", "after_s": flow.duration.seconds, "to": self.to(flow.target)}
        if isinstance(flow, Wait):
            on: dict[str, list[pf.Arm]] = {}
            for arm in flow.arms:  # source order within each event type: the first true guard wins
                on.setdefault(arm.event, []).append([serialize_opt(arm.where), self.to(arm.target)])
            timeout: pf.AfterJson | pf.AtJson | None = None
            if flow.timeout is not None:
                if flow.timeout.after is not None:
                    timeout = {"after_s": flow.timeout.after.seconds, "to": self.to(flow.timeout.target)}
                elif flow.timeout.at is not None:
                    timeout = {"at": serialize(flow.timeout.at), "to": self.to(flow.timeout.target)}
                else:
                    raise JourneyLoweringError(
                        f"journey {self.journey.name}: a wait timeout has neither `after` nor `at`"
                    )
            # `on` is keyed by event type, and canonical JSON sorts keys: `order` keeps the order across types.
            order = [arm.event for arm in flow.arms]
            return {"kind": "wait", "on": on, "timeout": timeout, "order": order}
        if isinstance(flow, Choose):
            return {
                "kind": "choose",
                "branches": [[serialize(b.condition), self.to(b.target)] for b in flow.branches],
                "otherwise": None if flow.otherwise is None else self.to(flow.otherwise),
            }
        if isinstance(flow, Experiment):
            variants: list[pf.VariantJson] = [
                {"name": v.name, "weight": v.weight, "to": self.to(v.target), "control": v.control}
                for v in flow.variants
            ]
            return {"kind": "experiment", "name": flow.name, "variants": variants}
        if isinstance(flow, End):
            return {"kind": "end", "outcome": flow.outcome}
        assert_never(flow)  # mypy flags this line when ir.Flow gains a kind the bundle format does not hold yet

    def migrations(self) -> list[pf.MigrationJson]:
        """`migrate from N { … }` blocks, sorted by the version they come from; old steps stay names (this plan
        does not know the old one's ids), new steps become ids."""
        out: list[pf.MigrationJson] = []
        seen: set[int] = set()
        for migration in sorted(self.journey.migrations, key=lambda m: m.from_version):
            source = migration.from_version
            if source in seen or self.journey.version is None or not 0 < source < self.journey.version:
                raise JourneyLoweringError(
                    f"journey {self.journey.name}: cannot migrate from version {source}", codes.MIGRATION_BAD_VERSION
                )
            seen.add(source)
            moves: dict[str, int] = {}
            names = [move.source for move in migration.moves] + list(migration.keep)
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                raise JourneyLoweringError(
                    f"journey {self.journey.name}: step {twice[0]!r} of version {source} is moved or kept twice",
                    codes.MIGRATION_BAD_VERSION,
                )
            for move in migration.moves:
                if move.target not in self.ids:
                    raise JourneyLoweringError(
                        f"journey {self.journey.name}: a migration moves to unknown step {move.target!r}",
                        codes.MIGRATION_UNKNOWN_STEP,
                    )
                moves[move.source] = self.ids[move.target]
            out.append({"from": source, "moves": dict(sorted(moves.items())), "keep": list(migration.keep)})
        return out

    def steps(self) -> list[pf.StepJson]:
        out: list[pf.StepJson] = []
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


def _reentry(journey: Journey) -> pf.ReentryJson:
    reentry = journey.reentry
    if reentry is None:  # not written: never
        return {"mode": "never", "after_s": None}
    if reentry.mode not in pf.REENTRY_MODES:
        raise JourneyLoweringError(f"journey {journey.name}: unknown reentry mode {reentry.mode!r}")
    after = reentry.after.seconds if reentry.after is not None else None
    return {"mode": cast(pf.ReentryMode, reentry.mode), "after_s": after}


def lower_journey(journey: Journey, schema: Schema | None, source: str | None = None) -> pf.PlanJson:
    """The plan of one journey version."""
    if journey.entry is None:
        raise JourneyLoweringError(f"journey {journey.name} has no `entry on EVENT`", codes.MISSING_ENTRY)
    if journey.version is None:
        raise JourneyLoweringError(f"journey {journey.name} has no `version`", codes.MISSING_VERSION)
    if not journey.steps():
        raise JourneyLoweringError(f"journey {journey.name} has no steps")
    lowering = _Lowering(journey)
    exits: dict[str, list[pf.ExitJson]] = {}
    for ex in journey.exits:
        exits.setdefault(ex.event, []).append({"where": serialize_opt(ex.where)})
    caps: dict[str, pf.CapJson] = {}
    for cap in journey.caps:
        caps.setdefault(cap.channel, {"max": cap.max, "per_s": cap.per.seconds})  # duplicates: the checker's job
    plan: pf.PlanJson = {
        "format": pf.FORMAT,
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
        "reentry": _reentry(journey),
        "exits": exits,
        "goals": [_goal(g) for g in journey.goals],
        "caps": caps,
        "quiet": _quiet(journey.quiet),
        "entry_step": 0,
        "steps": lowering.steps(),
    }
    if journey.migrations:  # only then: a plan without migrations stays byte for byte what it was
        plan["migrations"] = lowering.migrations()
    return plan


def _goal(goal: Goal) -> pf.GoalJson:
    out: pf.GoalJson = {
        "name": goal.name,
        "event": goal.event,
        "where": serialize_opt(goal.where),
        "within_s": goal.within.seconds if goal.within is not None else None,
        "value": serialize_opt(goal.value),
    }
    if goal.expect is not None:  # only then: a plan without it stays byte for byte what it was
        out["expect_pct"] = goal.expect
    return out


def build_index(plans: Iterable[pf.PlanJson]) -> pf.IndexJson:
    """index.json: journey -> its latest version, the one that takes new entries (older versions only finish the
    instances pinned to them).

    Bundles written before issue 13 also listed, per event type, the journeys it enters, exits and reaches goals
    of: nothing read those tables (the engine builds them from the plans when it opens), so they are not written.
    """
    latest: dict[str, int] = {}
    for plan in plans:
        latest[plan["journey"]] = max(plan["version"], latest.get(plan["journey"], plan["version"]))
    return {"latest": dict(sorted(latest.items()))}
