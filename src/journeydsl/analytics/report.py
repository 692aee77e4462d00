"""Journey analytics (SPEC 8.5): figures per journey and version from a store's transition log and
action records, with the bundle's plans for step order, channel costs and experiments.

The plans are read through the bundle format's types (`runtime.plan_format.PlanJson`), defensively: a plan a store
recorded may come from an older bundle. The figures come from the store's aggregates (runtime/aggregates.py: counts
per journey version, kind, label and status; reach and transitions per step), which a durable store keeps as it
commits or counts in SQL, so a report over a million records reads a few hundred rows:
- `report_from_store(store, plans)` reads them from an open store;
- `build_report(transitions, actions, plans)` counts lists in hand the same way (runtime.aggregates.Aggregator);
- `report_from_aggregates` is what both share. Only the journey versions whose plan has an experiment step read
  their transitions and records one by one: a variant's figures need each instance's moves, goals and sends.
Sums of goal values and costs are added per aggregate row, so they may differ from a record-by-record sum in the
last bits of a float. Definitions:
- entries: `enter` records; reach of a step: distinct instances that reached it (visits: all arrivals);
- exits by reason (`exit` outcome = exit event), ends by outcome (`end` outcome, `none` when unnamed);
- goal conversions: `goal` records (once per instance by the engine), value: the sum of their values;
- cost: the channel cost (from the plan's schema; without a plan, the `cost` the engine put on the
  send record) of every send that goes out (`sent`, and `delayed`, which is sent later);
  suppressed sends cost nothing;
- ROI = (value - cost) / cost, null when the cost is 0;
- per experiment and variant: instances assigned (the transition out of the experiment step),
  converted (of those, instances with at least one goal), and a two-proportion z-test against control;
- lift against the control group (the holdout), per variant: `lift` = rate - control's rate (and `relative_lift`
  = rate / control's rate - 1), `incremental_conversions` = converted - control's rate * assigned (what the
  variant won beyond what its customers would have done as the holdout did), the variant's own goal `value` and
  send `cost` (of its instances), `incremental_value` and `incremental_cost` likewise from control's value and
  cost per customer, and `incremental_roi` = (incremental value - incremental cost) / incremental cost. Value over
  cost alone credits a variant with conversions that would have happened anyway; lift does not.
- `expectations` (top level): a goal's `expect N%` against its actual rate, per journey version and variant, with
  confidence intervals and verdicts (analytics/expect.py); the variants come from the same per-instance pass.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from journeydsl.analytics import expect
from journeydsl.analytics.stats import two_proportion_z_test
from journeydsl.runtime.aggregates import Aggregator, RecordAggregates, TransitionAggregates
from journeydsl.runtime.plan_format import PlanJson

if TYPE_CHECKING:
    from journeydsl.runtime.store import Store

Record = dict[str, Any]
PlanKey = tuple[str, int]
INSTANCE_FALLBACK = "~"  # marks an instance id made up from the customer when a record has none

SENT_STATUSES = ("sent", "delayed")
_LIFT_KEYS = (
    "lift",
    "relative_lift",
    "incremental_conversions",
    "incremental_value",
    "incremental_cost",
    "incremental_roi",
)


def instance_of(record: Mapping[str, Any]) -> str:
    """The instance a record belongs to; older records without `instance` fall back to the customer."""
    instance = record.get("instance")
    if instance:
        return str(instance)
    return f"{INSTANCE_FALLBACK}{record.get('journey')}/{record.get('version')}/{record.get('customer_id')}"


def _key(record: Mapping[str, Any]) -> PlanKey:
    """(journey, version) as runtime.aggregates normalises them, so the per-instance pass finds the same groups."""
    try:
        version = int(record.get("version") or 0)
    except (TypeError, ValueError):  # not a version at all: counted under 0, as the aggregates count it
        version = 0
    return (str(record.get("journey")), version)


def _number(value: Any) -> float | None:
    """A goal value or send cost that is a number (booleans are not)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


def _experiments_of(plan: PlanJson | None) -> list[dict[str, Any]]:
    """(experiment name, step name, variants with their target step names) from a plan."""
    steps = (plan.get("steps") if plan else None) or []
    names = {step["id"]: step["name"] for step in steps}
    found = []
    for step in steps:
        flow = step.get("flow")
        if flow and flow["kind"] == "experiment":
            variants = [
                {
                    "name": variant["name"],
                    "weight": variant.get("weight"),
                    "control": bool(variant.get("control")),
                    "target": names.get(variant.get("to")),
                }
                for variant in flow.get("variants", [])
            ]
            found.append({"name": flow.get("name"), "step": step["name"], "variants": variants})
    return found


@dataclass
class _Counts:
    """The figures of one journey version, read from the store's aggregates (no per-record work)."""

    entries: int = 0
    reach: dict[str, int] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    edges: dict[tuple[str | None, str], int] = field(default_factory=dict)  # from None: the entry
    exits: Counter[str] = field(default_factory=Counter)
    ends: Counter[str] = field(default_factory=Counter)
    goals: Counter[str] = field(default_factory=Counter)
    # Only goals with at least one numeric value (the old loops' `goal_value` keys): keeps the JSON's int/float.
    goal_value: dict[str, float] = field(default_factory=dict)
    converted: int = 0
    sends: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # channel -> status -> n
    record_cost: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # sum of the records' `cost`
    record_cost_known: dict[str, bool] = field(default_factory=lambda: defaultdict(lambda: True))


@dataclass
class _Instances:
    """Per instance of one journey version: what an experiment's variants need (who got which, who converted)."""

    moves: dict[str, list[tuple[str, str, Any]]] = field(default_factory=lambda: defaultdict(list))
    converted: set[str] = field(default_factory=set)
    goals: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # goal name -> instances
    value: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # goal value per instance
    # (channel, the record's own cost or None) of every send that went out
    sends: dict[str, list[tuple[str, float | None]]] = field(default_factory=lambda: defaultdict(list))


# Reads the transitions and records of the given journey versions, one instance at a time: the store's
# `transitions()`/`actions()` (or the lists build_report was given), called only when a plan has an experiment.
InstanceSource = Callable[[], tuple[Iterable[Mapping[str, Any]], Iterable[Mapping[str, Any]]]]


def _counts_of(records: RecordAggregates, moves: TransitionAggregates) -> dict[PlanKey, _Counts]:
    groups: dict[PlanKey, _Counts] = defaultdict(_Counts)
    for row in records.counts:
        group = groups[(row.journey, row.version)]
        label = row.label or ""
        if row.kind == "enter":
            group.entries += row.count
        elif row.kind == "exit":
            group.exits[label] += row.count
        elif row.kind == "end":
            group.ends[label] += row.count
        elif row.kind == "goal":
            group.goals[label] += row.count
            if row.priced:
                group.goal_value[label] = group.goal_value.get(label, 0.0) + row.total
        elif row.kind == "send":
            status = row.status or ""
            group.sends[label][status] += row.count
            if status in SENT_STATUSES:
                group.record_cost[label] += row.total
                if row.priced < row.count:  # a send that went out without a cost of its own: unknown, not 0
                    group.record_cost_known[label] = False
    for key, converted in records.converted.items():
        groups[key].converted += converted
    for step in moves.steps:
        group = groups[(step.journey, step.version)]
        group.reach[step.step] = group.reach.get(step.step, 0) + step.reach
        group.visits[step.step] = group.visits.get(step.step, 0) + step.visits
    for edge in moves.edges:
        group = groups[(edge.journey, edge.version)]
        group.edges[(edge.from_step, edge.to_step)] = group.edges.get((edge.from_step, edge.to_step), 0) + edge.count
    return groups


def _instances_of(source: InstanceSource, keys: set[PlanKey]) -> dict[PlanKey, _Instances]:
    """One pass over the transitions and records, keeping only the journey versions in `keys`."""
    found: dict[PlanKey, _Instances] = {key: _Instances() for key in keys}
    transitions, actions = source()
    for row in transitions:
        group = found.get(_key(row))
        if group is None or row.get("to_step") is None or row.get("from_step") is None:
            continue  # the entry says nothing about a variant
        group.moves[instance_of(row)].append((str(row["from_step"]), str(row["to_step"]), row.get("via")))
    for record in actions:
        group = found.get(_key(record))
        if group is None:
            continue
        kind = record.get("kind")
        if kind == "goal":
            instance = instance_of(record)
            group.converted.add(instance)
            group.goals[str(record.get("goal"))].add(instance)
            value = _number(record.get("value"))
            if value is not None:
                group.value[instance] += value
        elif kind == "send" and str(record.get("status")) in SENT_STATUSES:
            group.sends[instance_of(record)].append((str(record.get("channel")), _number(record.get("cost"))))
    return found


def report_from_aggregates(
    records: RecordAggregates,
    moves: TransitionAggregates,
    plans: Mapping[PlanKey, PlanJson] | None,
    instances: InstanceSource,
) -> dict[str, Any]:
    """The report from a store's aggregates; `instances` is read only for the plans that have an experiment."""
    plans = plans or {}
    groups = _counts_of(records, moves)
    with_experiments = {key for key in groups if _experiments_of(plans.get(key))}
    per_instance = _instances_of(instances, with_experiments) if with_experiments else {}
    journeys = [
        _journey_figures(key, groups[key], plans.get(key), per_instance.get(key, _Instances()))
        for key in sorted(groups)
    ]
    parts = [
        _expectations(key, groups[key], plans.get(key), per_instance.get(key, _Instances())) for key in sorted(groups)
    ]
    cost_known = all(j["cost"] is not None for j in journeys)
    total_value = sum(j["value"] for j in journeys)
    total_cost = sum(j["cost"] or 0.0 for j in journeys) if cost_known else None
    return {
        "journeys": journeys,
        "totals": {
            "entries": sum(j["entries"] for j in journeys),
            "value": total_value,
            "cost": total_cost,
            "roi": None if not total_cost else (total_value - total_cost) / total_cost,
        },
        "expectations": expect.section(
            [part for part in parts if part is not None], [key for key in sorted(groups) if key not in plans]
        ),
    }


def _expectations(key: PlanKey, group: _Counts, plan: PlanJson | None, instances: _Instances) -> dict[str, Any] | None:
    """Expected against actual for one journey version (analytics.expect), the variants from the same pass."""
    experiments = []
    for experiment in _experiments_of(plan):
        assigned = _assignments(experiment, instances)
        variants = []
        for variant in experiment["variants"]:
            members = assigned.get(variant["name"], set())
            reached = {goal: len(members & who) for goal, who in instances.goals.items()}
            variants.append(expect.VariantArm(variant["name"], variant["control"], expect.Arm(len(members), reached)))
        experiments.append(expect.ExperimentArms(experiment["name"], experiment["step"], variants))
    return expect.journey_expectations(key[0], key[1], plan, expect.Arm(group.entries, group.goals), experiments)


def build_report(
    transitions: Iterable[Mapping[str, Any]],
    actions: Iterable[Mapping[str, Any]],
    plans: Mapping[PlanKey, PlanJson] | None = None,
) -> dict[str, Any]:
    """The report from transitions and records in hand, counted as a store counts them (runtime.aggregates)."""
    transitions, actions = list(transitions), list(actions)  # read twice when a plan has an experiment
    folded = Aggregator()
    folded.add_records(actions)
    folded.add_transition_dicts(transitions)
    return report_from_aggregates(
        folded.record_aggregates(), folded.transition_aggregates(), plans, lambda: (transitions, actions)
    )


def report_from_store(store: Store, plans: Mapping[PlanKey, PlanJson] | None = None) -> dict[str, Any]:
    """The report from an open store's aggregates (a few hundred rows however many records it holds); its
    transitions and records are read only for the journey versions whose plan has an experiment."""
    return report_from_aggregates(
        store.record_aggregates(),
        store.transition_aggregates(),
        plans,
        lambda: (store.transitions(), store.actions()),
    )


def _journey_figures(key: PlanKey, group: _Counts, plan: PlanJson | None, instances: _Instances) -> dict[str, Any]:
    journey, version = key
    plan_steps = [(step["name"], step.get("stage")) for step in (plan.get("steps") if plan else None) or []]
    named = {name for name, _ in plan_steps}
    # Steps in plan order, then any step the log knows but the plan does not (a plan from another bundle).
    order = plan_steps + [(name, None) for name in sorted(group.reach) if name not in named]
    steps = [
        {
            "step": name,
            "stage": stage,
            "reach": group.reach.get(name, 0),
            "visits": group.visits.get(name, 0),
            "share": _ratio(group.reach.get(name, 0), group.entries),
        }
        for name, stage in order
    ]
    schema = plan.get("schema") if plan else None
    channels = (schema.get("channels") if schema else None) or {}
    sends: dict[str, dict[str, Any]] = {}
    cost: float | None = 0.0
    for channel, statuses in sorted(group.sends.items()):
        out = sum(statuses[status] for status in SENT_STATUSES)
        spec = channels.get(channel)
        unit = spec.get("cost") if spec else None
        if unit is not None:  # the plan's schema is the reference for prices
            channel_cost: float | None = out * float(unit)
        elif group.record_cost_known[channel]:  # without a plan, the engine's send records carry the cost
            channel_cost = group.record_cost[channel]
        else:
            channel_cost = None
        if cost is not None:
            cost = None if channel_cost is None else cost + channel_cost
        sends[channel] = {
            "sent": statuses["sent"],
            "delayed": statuses["delayed"],
            "suppressed": statuses["suppressed"],
            "unit_cost": unit,
            "cost": channel_cost,
        }
    value = sum(group.goal_value.values())
    goal_names = [goal["name"] for goal in (plan.get("goals") if plan else None) or []]
    goal_names += sorted(name for name in group.goals if name not in goal_names)
    goals = [
        {
            "goal": name,
            "conversions": group.goals.get(name, 0),
            "rate": _ratio(group.goals.get(name, 0), group.entries),
            "value": group.goal_value.get(name, 0.0),
        }
        for name in goal_names
    ]
    entries = {b: n for (a, b), n in group.edges.items() if a is None}
    moves = {(a, b): n for (a, b), n in group.edges.items() if a is not None}
    return {
        "journey": journey,
        "version": version,
        "title": plan.get("title") if plan else None,
        "owner": plan.get("owner") if plan else None,
        "entries": group.entries,
        "active": max(group.entries - sum(group.exits.values()) - sum(group.ends.values()), 0),
        "steps": steps,
        # `from` null: entries into the journey at that step.
        "transitions": [{"from": None, "to": b, "count": n} for b, n in sorted(entries.items())]
        + [{"from": a, "to": b, "count": n} for (a, b), n in sorted(moves.items())],
        "exits": dict(sorted(group.exits.items())),
        "ends": dict(sorted(group.ends.items())),
        "goals": goals,
        "converted": group.converted,
        "value": value,
        "sends": sends,
        "cost": cost,
        "roi": None if not cost else (value - cost) / cost,
        "experiments": [_experiment_figures(exp, instances, channels) for exp in _experiments_of(plan)],
    }


def _assigned_variant(experiment: Mapping[str, Any], moves: list[tuple[str, str, Any]]) -> str | None:
    """The variant an instance got: the transition out of the experiment step names it by its target,
    or by `via` when the engine records the variant there (needed when two variants share a target)."""
    variants = experiment["variants"]
    for from_step, to_step, via in moves:
        if from_step != experiment["step"]:
            continue
        if isinstance(via, str):
            label = via.split(":", 1)[-1]
            for variant in variants:
                if variant["name"] == label:
                    return str(variant["name"])
        by_target = [variant["name"] for variant in variants if variant["target"] == to_step]
        if len(by_target) == 1:
            return str(by_target[0])
    return None


def _instance_cost(sends: list[tuple[str, float | None]], channels: Mapping[str, Any]) -> float | None:
    """What one instance's sends cost: the plan's unit cost per channel, else the records' own cost."""
    total = 0.0
    for channel, own in sends:
        spec = channels.get(channel)
        unit = spec.get("cost") if isinstance(spec, Mapping) else None
        if unit is not None:
            total += float(unit)
        elif own is not None:
            total += own
        else:
            return None
    return total


def _lift(row: dict[str, Any], control: dict[str, Any]) -> dict[str, Any]:
    """A variant's figures against the control group's, scaled to the variant's number of customers."""
    n, base_n = row["assigned"], control["assigned"]
    if n == 0 or base_n == 0:
        return {}
    base_rate = control["converted"] / base_n
    rate = row["converted"] / n
    found: dict[str, Any] = {
        "lift": rate - base_rate,
        "relative_lift": None if base_rate == 0 else rate / base_rate - 1,
        "incremental_conversions": row["converted"] - base_rate * n,
        "incremental_value": row["value"] - control["value"] / base_n * n,
    }
    if row["cost"] is not None and control["cost"] is not None:
        extra = row["cost"] - control["cost"] / base_n * n
        found["incremental_cost"] = extra
        found["incremental_roi"] = None if extra <= 0 else (found["incremental_value"] - extra) / extra
    return found


def _assignments(experiment: Mapping[str, Any], group: _Instances) -> dict[str, set[str]]:
    """Variant name -> the instances it got."""
    assigned: dict[str, set[str]] = defaultdict(set)
    for instance, moves in group.moves.items():
        variant = _assigned_variant(experiment, moves)
        if variant is not None:
            assigned[variant].add(instance)
    return assigned


def _experiment_figures(
    experiment: Mapping[str, Any], group: _Instances, channels: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    channels = channels or {}
    assigned = _assignments(experiment, group)
    control = next((v for v in experiment["variants"] if v["control"]), None)
    control_n = len(assigned.get(control["name"], ())) if control else 0
    control_x = len(assigned.get(control["name"], set()) & group.converted) if control else 0
    rows = []
    for variant in experiment["variants"]:
        members = assigned.get(variant["name"], set())
        converted = len(members & group.converted)
        costs = [_instance_cost(group.sends.get(member, []), channels) for member in members]
        row: dict[str, Any] = {
            "variant": variant["name"],
            "control": variant["control"],
            "weight": variant["weight"],
            "assigned": len(members),
            "converted": converted,
            "rate": _ratio(converted, len(members)),
            "z": None,
            "p_value": None,
            "significant": False,
            "value": sum(group.value.get(member, 0.0) for member in members),
            "cost": None if None in costs else sum(c for c in costs if c is not None),
            **dict.fromkeys(_LIFT_KEYS),
        }
        if control is not None and not variant["control"]:
            row.update(two_proportion_z_test(converted, len(members), control_x, control_n).as_dict())
        rows.append(row)
    base = next((row for row in rows if row["control"]), None)
    if base is not None:
        for row in rows:
            if not row["control"]:
                row.update(_lift(row, base))
    measured = [row for row in rows if row["incremental_conversions"] is not None]
    return {
        "experiment": experiment["name"],
        "step": experiment["step"],
        "has_control": control is not None,
        "variants": rows,
        # All variants together against the holdout: what running the experiment's treatments won.
        "incremental_conversions": sum(row["incremental_conversions"] for row in measured) if measured else None,
        "incremental_value": sum(row["incremental_value"] for row in measured) if measured else None,
    }
