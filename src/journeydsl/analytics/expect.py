"""Expected against actual (issue 19): a goal's `expect 12%` set against the share of entries that reached it.

Per goal with an expectation, per journey version: every entry together (`all`) and, when the plan has an
experiment, each variant of it. Each arm gives its entries, how many reached the goal, the rate, the 95% Wilson
interval of the rate (stats.wilson_interval), the expected rate, the difference and a verdict:
- `below` when the interval's upper bound is under the expectation (significantly below at 5%, two-sided),
- `above` when its lower bound is over it,
- `as expected` otherwise,
- `too few` below MIN_ENTRIES entries: an interval that wide says nothing, however it falls.
A variant also gives its lift over the control arm on that goal with Newcombe's interval (stats.difference_interval)
and the incremental conversions (reached - control's rate * entries).

A journey version is flagged (`below: true`) when the `all` arm of one of its goals, or a variant that is not the
control, is `below`. The control arm is a holdout that gets none of the journey's messages: it is not expected to
respond as the treated customers do, so its verdict is shown but flags nothing.

The expectations come from the plans (`expect_pct` of a plan goal), so a report on a store that recorded its plans
needs no sources (analytics.source.expectations_from_store). The section's shape is documented in
docs/guide/report.md; dashboards read it, so keep it stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from journeydsl.analytics.stats import ALPHA, difference_interval, wilson_interval
from journeydsl.runtime.plan_format import PlanJson

MIN_ENTRIES: Final = 30
BELOW: Final = "below"
ABOVE: Final = "above"
AS_EXPECTED: Final = "as expected"
TOO_FEW: Final = "too few"
VERDICTS: Final = (BELOW, ABOVE, AS_EXPECTED, TOO_FEW)


@dataclass(frozen=True)
class Arm:
    """Who an arm is: its entries (instances) and, per goal, how many of them reached it."""

    entries: int
    reached: Mapping[str, int]


@dataclass(frozen=True)
class VariantArm:
    name: str
    control: bool
    arm: Arm


@dataclass(frozen=True)
class ExperimentArms:
    name: str | None
    step: str
    variants: Sequence[VariantArm]


def expected_rates(plan: PlanJson | None) -> dict[str, float]:
    """Goal name -> expected rate (0 to 1] from the plan's `expect_pct`, in plan order. A value that is not a
    percentage (a plan from another tool) is left out rather than judged against."""
    found: dict[str, float] = {}
    for goal in (plan.get("goals") if plan else None) or []:
        pct = goal.get("expect_pct")
        if isinstance(pct, (int, float)) and not isinstance(pct, bool) and 0 < pct <= 100:
            found[str(goal["name"])] = float(pct) / 100.0
    return found


def verdict(reached: int, entries: int, expected: float, min_entries: int = MIN_ENTRIES) -> str:
    interval = wilson_interval(reached, entries)
    if interval is None or entries < min_entries:
        return TOO_FEW
    if interval.high < expected:
        return BELOW
    if interval.low > expected:
        return ABOVE
    return AS_EXPECTED


def arm_figures(reached: int, entries: int, expected: float) -> dict[str, Any]:
    # More goal records than entries only comes from a log that lost its `enter` records; the interval needs
    # a proportion, so the count is capped at the entries rather than failing the whole report.
    reached = min(reached, entries)
    interval = wilson_interval(reached, entries)
    rate = None if entries == 0 else reached / entries
    return {
        "entries": entries,
        "reached": reached,
        "rate": rate,
        "low": interval.low if interval else None,
        "high": interval.high if interval else None,
        "expected": expected,
        "difference": None if rate is None else rate - expected,
        "verdict": verdict(reached, entries, expected),
    }


def _variant_figures(variant: VariantArm, control: VariantArm | None, goal: str, expected: float) -> dict[str, Any]:
    reached = min(variant.arm.reached.get(goal, 0), variant.arm.entries)
    row: dict[str, Any] = {
        "variant": variant.name,
        "control": variant.control,
        **arm_figures(reached, variant.arm.entries, expected),
        "lift": None,
        "lift_low": None,
        "lift_high": None,
        "incremental": None,
    }
    if control is None or variant.control or control.arm.entries == 0 or variant.arm.entries == 0:
        return row
    base = min(control.arm.reached.get(goal, 0), control.arm.entries)
    interval = difference_interval(reached, variant.arm.entries, base, control.arm.entries)
    base_rate = base / control.arm.entries
    row["lift"] = reached / variant.arm.entries - base_rate
    row["lift_low"] = interval.low if interval else None
    row["lift_high"] = interval.high if interval else None
    row["incremental"] = reached - base_rate * variant.arm.entries
    return row


def journey_expectations(
    journey: str, version: int, plan: PlanJson | None, whole: Arm, experiments: Sequence[ExperimentArms]
) -> dict[str, Any] | None:
    """The section of one journey version; None when none of its goals has an expectation."""
    expected = expected_rates(plan)
    if not expected:
        return None
    goals = []
    for goal, rate in expected.items():
        runs = []
        for experiment in experiments:
            control = next((v for v in experiment.variants if v.control), None)
            runs.append(
                {
                    "experiment": experiment.name,
                    "step": experiment.step,
                    "has_control": control is not None,
                    "variants": [_variant_figures(v, control, goal, rate) for v in experiment.variants],
                }
            )
        all_arm = arm_figures(whole.reached.get(goal, 0), whole.entries, rate)
        goals.append({"goal": goal, "expect_pct": rate * 100.0, "all": all_arm, "experiments": runs})
    part = {"journey": journey, "version": version, "goals": goals}
    return {**part, "below": bool(flags(part))}


def arms(goal: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One goal's arms as rows to show (text, HTML): every entry, then each variant; `label` names the arm,
    `flags` says whether its verdict flags the journey, and the lift keys are None where there is no lift."""
    rows = [{"label": "all entries", "control": False, "lift": None, "incremental": None, **goal["all"]}]
    for run in goal["experiments"]:
        rows += [{"label": v["variant"] + (" (control)" if v["control"] else ""), **v} for v in run["variants"]]
    return [{**row, "flags": row["verdict"] == BELOW and not row["control"]} for row in rows]


def flags(part: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What flags a journey version: each goal whose `all` arm, or whose variant (not the control), is below."""
    found = []
    for goal in part["goals"]:
        arms = [(None, goal["all"])] + [
            (row["variant"], row) for run in goal["experiments"] for row in run["variants"] if not row["control"]
        ]
        found += [
            {"journey": part["journey"], "version": part["version"], "goal": goal["goal"], "variant": variant}
            for variant, arm in arms
            if arm["verdict"] == BELOW
        ]
    return found


def section(journeys: Sequence[dict[str, Any]], without_plan: Sequence[tuple[str, int]]) -> dict[str, Any]:
    """The report's `expectations` section from the journey versions' parts (journey_expectations)."""
    return {
        "confidence": 1.0 - ALPHA,
        "min_entries": MIN_ENTRIES,
        "journeys": list(journeys),
        "below": [flag for part in journeys for flag in flags(part)],
        "without_plan": [{"journey": journey, "version": version} for journey, version in without_plan],
    }
