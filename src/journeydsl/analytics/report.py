"""Journey analytics (SPEC 8.5): figures per journey and version from a store's transition log and
action records, with the bundle's plans for step order, channel costs and experiments.

The plans are read through the bundle format's types (`runtime.plan_format.PlanJson`), defensively: a plan a store
recorded may come from an older bundle. `build_report(transitions, actions, plans)` is pure (lists in, a JSON-able
dict out), so it is
tested against counts computed independently from the same records; `report_from_store` wires it
to a store URL. Definitions:
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
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from journeydsl.analytics.stats import two_proportion_z_test
from journeydsl.runtime.plan_format import PlanJson

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
    return (str(record.get("journey")), int(record.get("version") or 0))


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


class _Group:
    """Everything collected for one journey version."""

    def __init__(self) -> None:
        self.entries = 0
        self.reach: dict[str, set[str]] = defaultdict(set)
        self.visits: Counter[str] = Counter()
        self.edges: Counter[tuple[str, str]] = Counter()
        self.entry_edges: Counter[str] = Counter()  # entry step -> entries through it
        self.moves: dict[str, list[tuple[str, str, Any]]] = defaultdict(list)  # instance -> (from, to, via)
        self.exits: Counter[str] = Counter()
        self.ends: Counter[str] = Counter()
        self.goals: Counter[str] = Counter()
        self.goal_value: dict[str, float] = defaultdict(float)
        self.converted: set[str] = set()
        self.sends: dict[str, Counter[str]] = defaultdict(Counter)  # channel -> status -> n
        self.record_cost: dict[str, float] = defaultdict(float)  # channel -> sum of the records' own `cost`
        self.record_cost_known: dict[str, bool] = defaultdict(lambda: True)
        self.instances: set[str] = set()
        self.instance_value: dict[str, float] = defaultdict(float)  # goal value per instance
        # per instance: (channel, the record's own cost or None) of every send that went out
        self.instance_sends: dict[str, list[tuple[str, float | None]]] = defaultdict(list)


def build_report(
    transitions: Iterable[Mapping[str, Any]],
    actions: Iterable[Mapping[str, Any]],
    plans: Mapping[PlanKey, PlanJson] | None = None,
) -> dict[str, Any]:
    plans = plans or {}
    groups: dict[PlanKey, _Group] = defaultdict(_Group)
    for row in transitions:
        group = groups[_key(row)]
        instance = instance_of(row)
        to_step = row.get("to_step")
        if to_step is None:
            continue
        group.instances.add(instance)
        group.reach[str(to_step)].add(instance)
        group.visits[str(to_step)] += 1
        if row.get("from_step") is not None:
            group.edges[(str(row["from_step"]), str(to_step))] += 1
            group.moves[instance].append((str(row["from_step"]), str(to_step), row.get("via")))
        else:  # the entry into the journey: drawn as the edge from the entry policy
            group.entry_edges[str(to_step)] += 1
    for record in actions:
        group = groups[_key(record)]
        kind = record.get("kind")
        if kind == "enter":
            group.entries += 1
        elif kind == "exit":
            group.exits[str(record.get("outcome"))] += 1
        elif kind == "end":
            group.ends[str(record.get("outcome") or "none")] += 1
        elif kind == "goal":
            name = str(record.get("goal"))
            group.goals[name] += 1
            value = record.get("value")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                group.goal_value[name] += float(value)
                group.instance_value[instance_of(record)] += float(value)
            group.converted.add(instance_of(record))
        elif kind == "send":
            channel, status = str(record.get("channel")), str(record.get("status"))
            group.sends[channel][status] += 1
            if status in SENT_STATUSES:
                cost = record.get("cost")
                if isinstance(cost, (int, float)) and not isinstance(cost, bool):
                    group.record_cost[channel] += float(cost)
                    group.instance_sends[instance_of(record)].append((channel, float(cost)))
                else:
                    group.record_cost_known[channel] = False
                    group.instance_sends[instance_of(record)].append((channel, None))
    journeys = [_journey_figures(key, groups[key], plans.get(key)) for key in sorted(groups)]
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
    }


def _journey_figures(key: PlanKey, group: _Group, plan: PlanJson | None) -> dict[str, Any]:
    journey, version = key
    plan_steps = [(step["name"], step.get("stage")) for step in (plan.get("steps") if plan else None) or []]
    named = {name for name, _ in plan_steps}
    # Steps in plan order, then any step the log knows but the plan does not (a plan from another bundle).
    order = plan_steps + [(name, None) for name in sorted(group.reach) if name not in named]
    steps = [
        {
            "step": name,
            "stage": stage,
            "reach": len(group.reach.get(name, ())),
            "visits": group.visits.get(name, 0),
            "share": _ratio(len(group.reach.get(name, ())), group.entries),
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
    return {
        "journey": journey,
        "version": version,
        "title": plan.get("title") if plan else None,
        "owner": plan.get("owner") if plan else None,
        "entries": group.entries,
        "active": max(group.entries - sum(group.exits.values()) - sum(group.ends.values()), 0),
        "steps": steps,
        # `from` null: entries into the journey at that step.
        "transitions": [{"from": None, "to": b, "count": n} for b, n in sorted(group.entry_edges.items())]
        + [{"from": a, "to": b, "count": n} for (a, b), n in sorted(group.edges.items())],
        "exits": dict(sorted(group.exits.items())),
        "ends": dict(sorted(group.ends.items())),
        "goals": goals,
        "converted": len(group.converted),
        "value": value,
        "sends": sends,
        "cost": cost,
        "roi": None if not cost else (value - cost) / cost,
        "experiments": [_experiment_figures(exp, group, channels) for exp in _experiments_of(plan)],
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


def _experiment_figures(
    experiment: Mapping[str, Any], group: _Group, channels: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    channels = channels or {}
    assigned: dict[str, set[str]] = defaultdict(set)
    for instance, moves in group.moves.items():
        variant = _assigned_variant(experiment, moves)
        if variant is not None:
            assigned[variant].add(instance)
    control = next((v for v in experiment["variants"] if v["control"]), None)
    control_n = len(assigned.get(control["name"], ())) if control else 0
    control_x = len(assigned.get(control["name"], set()) & group.converted) if control else 0
    rows = []
    for variant in experiment["variants"]:
        members = assigned.get(variant["name"], set())
        converted = len(members & group.converted)
        costs = [_instance_cost(group.instance_sends.get(member, []), channels) for member in members]
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
            "value": sum(group.instance_value.get(member, 0.0) for member in members),
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
