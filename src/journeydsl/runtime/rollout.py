"""What deploying a new bundle does to the instances in flight (runtime layer; reads bundle plans and a store).

`journeydsl plan NEW.jbundle --store URL` is the `terraform plan` of journeys: for every journey version that
has instances in flight (or, with `--old OLD.jbundle` and no store, every version of the old bundle), it says
whether the new bundle keeps those instances on their version (the version is in the new bundle with a
byte-identical plan), changes the plan they run under (the same version number, a different plan), or orphans
them (the version is gone). For each journey whose latest version changes it also lists the steps the new
version removes, renames or changes, with the customers standing on each, and the experiment weights and caps
that change (new weights re-bucket new entries only).

Steps are compared by name, with their targets written as step names (step ids are positions, which a new step
renumbers), and without their source line. A step that disappears while another with the same content appears
is a rename.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from journeydsl.runtime.inflight import InFlight

KEPT = "kept"  # the version is in the new bundle with the same plan: its instances go on as they are
CHANGED = "changed"  # the same version number with a different plan: instances run on under the new plan
ORPHANED = "orphaned"  # the version is not in the new bundle: `run` refuses it (or ends them with --allow-orphans)
MIGRATED = "migrated"  # the new latest version migrates them (`migrate from V`) at their next event or timer


@dataclass(frozen=True, slots=True)
class StepChange:
    step: str
    change: str  # "removed", "renamed" or "changed"
    customers: int | None  # active instances on the step (None without a store)
    renamed_to: str | None = None


@dataclass(frozen=True, slots=True)
class VersionOutcome:
    journey: str
    version: int
    fate: str  # KEPT, CHANGED or ORPHANED
    customers: int | None  # active instances on this version (None without a store)


@dataclass(frozen=True, slots=True)
class JourneyChange:
    journey: str
    old_version: int | None
    new_version: int | None
    steps: tuple[StepChange, ...] = ()
    experiments: tuple[str, ...] = ()  # "name: a 50% / b 50% -> a 80% / b 20%"
    caps: tuple[str, ...] = ()  # "email: 2 per 1d -> 3 per 1d"


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    versions: tuple[VersionOutcome, ...]
    journeys: tuple[JourneyChange, ...] = field(default=())

    @property
    def orphans(self) -> int:
        """Instances the new bundle would orphan (versions gone; 1 per version without a store)."""
        return sum(v.customers if v.customers is not None else 1 for v in self.versions if v.fate == ORPHANED)

    def as_json(self) -> dict[str, Any]:
        return {
            "versions": [asdict(v) for v in self.versions],
            "journeys": [asdict(j) for j in self.journeys],
            "orphaned": self.orphans,
        }


Plans = dict[tuple[str, int], dict[str, Any]]


def plan_rollout(new: Plans, old: Plans, in_flight: InFlight | None = None) -> RolloutPlan:
    """What `new` does to the versions in flight.

    old: the plans the instances run on now (a store's recorded plans, or the old bundle's); in_flight: the
    store's active instances (None: every version of `old` counts as in flight, with unknown numbers)."""
    if in_flight is not None:
        counted: dict[tuple[str, int], int | None] = dict(in_flight.versions())
    else:
        counted = {key: None for key in old}
    new_latest = latest_versions(new)
    steps_of: dict[tuple[str, int], dict[str, int]] = {}
    if in_flight is not None:
        for row in in_flight.steps:
            steps_of.setdefault((row.journey, row.version), {})[row.step] = row.active
    versions = []
    for (journey, version), customers in sorted(counted.items()):
        moved = _moves(new, new_latest, journey, version)
        if moved is not None:
            # Instances on moved steps migrate; the others stay on the version, which must then be in the bundle
            # (without a store, every step of the old plan where an instance can rest, a wait or a sleep, counts).
            standing = steps_of.get((journey, version)) or {
                str(step.get("name")): 1
                for step in (old.get((journey, version)) or {}).get("steps") or []
                if (step.get("flow") or {}).get("kind") in ("wait", "sleep")
            }
            stranded = sum(count for step, count in standing.items() if step not in moved)
            if stranded and (journey, version) not in new:
                versions.append(VersionOutcome(journey, version, ORPHANED, stranded if customers is not None else None))
                continue
            fate = MIGRATED
        elif (journey, version) not in new:
            fate = ORPHANED
        elif (journey, version) in old and _canonical(old[(journey, version)]) != _canonical(new[(journey, version)]):
            fate = CHANGED
        else:
            fate = KEPT
        versions.append(VersionOutcome(journey, version, fate, customers))
    on_step: dict[tuple[str, int, str], int] = {}  # active instances per (journey, version, step name)
    if in_flight is not None:
        for row in in_flight.steps:
            on_step[(row.journey, row.version, row.step)] = row.active
    journeys = []
    old_latest = latest_versions(old)
    for journey in sorted(set(old_latest) | set(new_latest)):
        before, after = old_latest.get(journey), new_latest.get(journey)
        if (
            before is not None
            and before == after
            and _canonical(old[(journey, before)]) == _canonical(new[(journey, before)])
        ):
            continue
        journeys.append(_journey_change(journey, before, after, old, new, on_step, in_flight is not None))
    return RolloutPlan(tuple(versions), tuple(journeys))


def _moves(new: Plans, latest: dict[str, int], journey: str, version: int) -> set[str] | None:
    """The old steps the new latest version of `journey` migrates from `version`, or None without a migration."""
    if journey not in latest:
        return None
    for migration in new[(journey, latest[journey])].get("migrations") or []:
        if migration.get("from") == version:
            return set(migration.get("moves") or {})
    return None


def latest_versions(keys: Iterable[tuple[str, int]]) -> dict[str, int]:
    """journey -> its highest version among (journey, version) keys."""
    latest: dict[str, int] = {}
    for journey, version in keys:
        latest[journey] = max(version, latest.get(journey, version))
    return latest


def _journey_change(
    journey: str,
    before: int | None,
    after: int | None,
    old: Plans,
    new: Plans,
    on_step: dict[tuple[str, int, str], int],
    counted: bool,
) -> JourneyChange:
    if before is None or after is None:
        return JourneyChange(journey, before, after)
    old_plan, new_plan = old[(journey, before)], new[(journey, after)]
    new_steps = _steps(new_plan)
    # Renames first: a step gone whose content reappears under a new name (targets named as in the old plan);
    # then every old step compared with its targets renamed, so a step that only points at a renamed one is kept.
    plain = _steps(old_plan)
    added = {name: body for name, body in new_steps.items() if name not in plain}
    renames: dict[str, str] = {}
    for name, body in plain.items():
        if name not in new_steps:
            match = next((other for other, other_body in added.items() if other_body == body), None)
            if match is not None:
                renames[name] = match
                del added[match]
    old_steps = _steps(old_plan, renames)
    if renames:  # a renamed step that points at another renamed one: match again with the renames applied
        for name, target in list(renames.items()):
            if old_steps[name] != new_steps[target]:
                del renames[name]
        old_steps = _steps(old_plan, renames)
    changes: list[StepChange] = []
    for name, body in old_steps.items():
        customers = on_step.get((journey, before, name), 0)
        shown = customers if counted else None
        if name in renames:
            changes.append(StepChange(name, "renamed", shown, renames[name]))
        elif name not in new_steps:
            changes.append(StepChange(name, "removed", shown))
        elif new_steps[name] != body:
            changes.append(StepChange(name, "changed", shown))
    return JourneyChange(
        journey,
        before,
        after,
        tuple(changes),
        tuple(_changes(_experiments(old_plan), _experiments(new_plan), " (new entries only)")),
        tuple(_changes(_caps(old_plan), _caps(new_plan))),
    )


def _steps(plan: dict[str, Any], renames: dict[str, str] | None = None) -> dict[str, str]:
    """Each step's content as canonical JSON, its targets named (through `renames`), without its name, id and
    line (the name is the key; ids are positions)."""
    renames = renames or {}
    names = {
        index: renames.get(str(step.get("name")), step.get("name"))
        for index, step in enumerate(plan.get("steps") or [])
    }
    return {str(step.get("name")): _canonical(_named(step, names)) for step in plan.get("steps") or []}


def _named(step: dict[str, Any], names: dict[int, Any]) -> dict[str, Any]:
    body = {key: value for key, value in step.items() if key not in ("id", "line", "name")}
    flow = json.loads(json.dumps(body.get("flow") or {}))
    kind = flow.get("kind")
    if "to" in flow:
        flow["to"] = names.get(flow["to"], flow["to"])
    if kind == "wait":
        flow["on"] = {
            event: [[guard, names.get(to, to)] for guard, to in arms] for event, arms in (flow.get("on") or {}).items()
        }
        if flow.get("timeout"):
            flow["timeout"]["to"] = names.get(flow["timeout"]["to"], flow["timeout"]["to"])
    elif kind == "choose":
        flow["branches"] = [[condition, names.get(to, to)] for condition, to in flow.get("branches") or []]
        if flow.get("otherwise") is not None:
            flow["otherwise"] = names.get(flow["otherwise"], flow["otherwise"])
    elif kind == "experiment":
        for variant in flow.get("variants") or []:
            variant["to"] = names.get(variant.get("to"), variant.get("to"))
    body["flow"] = flow
    return body


def _canonical(value: Any) -> str:
    """One text per value, whatever the key order; a plan without where its source lay (file, lines), which
    changes nothing its instances do."""
    if isinstance(value, dict) and "steps" in value:
        value = {key: item for key, item in value.items() if key != "source"}
        value["steps"] = [{k: v for k, v in s.items() if k != "line"} for s in value["steps"]]
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _experiments(plan: dict[str, Any]) -> dict[str, str]:
    found = {}
    for step in plan.get("steps") or []:
        flow = step.get("flow") or {}
        if flow.get("kind") == "experiment":
            found[str(flow.get("name"))] = " / ".join(
                f"{v.get('name')} {v.get('weight')}%" for v in flow.get("variants") or []
            )
    return found


def _caps(plan: dict[str, Any]) -> dict[str, str]:
    return {str(channel): _canonical(rule) for channel, rule in (plan.get("caps") or {}).items()}


def _changes(before: dict[str, str], after: dict[str, str], note: str = "") -> list[str]:
    """`name: old -> new` for each name whose text differs between two plans."""
    return [
        f"{name}: {before.get(name, '(none)')} -> {after.get(name, '(none)')}{note}"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


def rollout_text(plan: RolloutPlan) -> str:
    """The plan for people."""
    lines = []
    if not plan.versions:
        lines.append("nothing in flight")
    for outcome in plan.versions:
        count = "" if outcome.customers is None else f" ({outcome.customers} in flight)"
        what = {
            KEPT: "kept on its version",
            CHANGED: "runs on under a changed plan of the same version",
            ORPHANED: "ORPHANED: the new bundle lacks this version",
            MIGRATED: "migrated (the steps its migration moves) at the next event or timer",
        }[outcome.fate]
        lines.append(f"{outcome.journey} v{outcome.version}{count}: {what}")
    for change in plan.journeys:
        before = "-" if change.old_version is None else f"v{change.old_version}"
        after = "-" if change.new_version is None else f"v{change.new_version}"
        lines.append(f"{change.journey}: latest {before} -> {after}")
        for step in change.steps:
            on = "" if step.customers is None else f" ({step.customers} on it)"
            to = f" -> {step.renamed_to}" if step.renamed_to else ""
            lines.append(f"  step {step.step}: {step.change}{to}{on}")
        lines.extend(f"  experiment {text}" for text in change.experiments)
        lines.extend(f"  cap {text}" for text in change.caps)
    if plan.orphans:
        counted = all(v.customers is not None for v in plan.versions)
        what = f"{plan.orphans} instance(s)" if counted else "the instances of the versions marked ORPHANED"
        lines.append(f"{what} would be orphaned: build with --keep PREVIOUS.jbundle, or `run` will refuse")
    return "\n".join(lines) + "\n"
