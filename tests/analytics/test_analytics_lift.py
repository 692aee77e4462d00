"""The report's lift against the control group: incremental conversions, value and cost per variant."""

from __future__ import annotations

from typing import Any

import pytest

from journeydsl.analytics.html import render_html
from journeydsl.analytics.report import build_report
from journeydsl.analytics.text import render_text

PLAN: Any = {
    "steps": [
        {"id": 0, "name": "split", "stage": "s", "flow": {"kind": "experiment", "name": "offer", "variants": [
            {"name": "discount", "weight": 50, "to": 1},
            {"name": "control", "weight": 50, "control": True, "to": 2},
        ]}},
        {"id": 1, "name": "send_offer", "stage": "s"},
        {"id": 2, "name": "wait", "stage": "s"},
    ],
    "schema": {"channels": {"email": {"cost": 1.0}}},
    "goals": [{"name": "bought"}],
}  # fmt: skip


def records(arm: str, customers: int, buyers: int, value: float) -> tuple[list[Any], list[Any]]:
    """`customers` instances sent to `arm`; the first `buyers` of them buy for `value` each."""
    target = "send_offer" if arm == "discount" else "wait"
    transitions: list[Any] = []
    actions: list[Any] = []
    for number in range(customers):
        instance = f"{arm}-{number}"
        base = {"journey": "j", "version": 1, "customer_id": instance, "instance": instance}
        transitions += [
            {**base, "from_step": None, "to_step": "split"},
            {**base, "from_step": "split", "to_step": target},
        ]
        actions.append({**base, "kind": "enter"})
        if arm == "discount":
            actions.append({**base, "kind": "send", "channel": "email", "status": "sent"})
        if number < buyers:
            actions.append({**base, "kind": "goal", "goal": "bought", "value": value})
    return transitions, actions


def report() -> dict[str, Any]:
    t1, a1 = records("discount", 100, 30, 50.0)  # 30% buy, each for 50, each costs one email (1.0)
    t2, a2 = records("control", 100, 20, 50.0)  # 20% buy anyway, nothing sent
    return build_report(t1 + t2, a1 + a2, {("j", 1): PLAN})


def test_lift_counts_only_what_the_variant_added_to_the_holdout() -> None:
    (journey,) = report()["journeys"]
    (experiment,) = journey["experiments"]
    rows = {row["variant"]: row for row in experiment["variants"]}
    discount, control = rows["discount"], rows["control"]
    assert discount["value"] == 1500.0 and control["value"] == 1000.0
    assert discount["cost"] == 100.0 and control["cost"] == 0.0
    assert discount["lift"] == pytest.approx(0.10)
    assert discount["relative_lift"] == pytest.approx(0.5)
    assert discount["incremental_conversions"] == pytest.approx(10.0)  # 30 - 20% of 100
    assert discount["incremental_value"] == pytest.approx(500.0)  # 1500 - 1000 / 100 * 100
    assert discount["incremental_cost"] == pytest.approx(100.0)
    assert discount["incremental_roi"] == pytest.approx(4.0)  # (500 - 100) / 100
    # Value over cost alone would credit the variant with all 1500: (1500 - 100) / 100 = 14.
    assert control["lift"] is None and control["incremental_conversions"] is None
    assert experiment["incremental_conversions"] == pytest.approx(10.0)
    assert experiment["incremental_value"] == pytest.approx(500.0)


def test_the_text_and_html_reports_show_the_lift() -> None:
    built = report()
    text = render_text(built, "b.jbundle")
    assert "lift +10.0 pp (+50.0%) against control: +10.0 conversions, value +500.00, cost +100.00" in text
    assert "incremental ROI 4.00" in text
    assert "all variants against control: +10.0 conversions, value +500.00" in text
    html = render_html(built, {}, {"store": "memory://", "plans_from": "b.jbundle"})
    assert "<th>incremental conversions</th>" in html and "+10.0 pp" in html and "+500.00" in html


def test_without_a_control_group_there_is_no_lift() -> None:
    variants = [{"name": "discount", "weight": 50, "to": 1}, {"name": "plain", "weight": 50, "to": 2}]
    split = dict(PLAN["steps"][0], flow={**PLAN["steps"][0]["flow"], "variants": variants})
    plan = {**PLAN, "steps": [split, *PLAN["steps"][1:]]}
    t1, a1 = records("discount", 10, 3, 5.0)
    (journey,) = build_report(t1, a1, {("j", 1): plan})["journeys"]
    (experiment,) = journey["experiments"]
    assert experiment["has_control"] is False and experiment["incremental_conversions"] is None
    assert all(row["lift"] is None for row in experiment["variants"])


def test_an_empty_control_group_gives_no_lift() -> None:
    t1, a1 = records("discount", 10, 3, 5.0)
    (journey,) = build_report(t1, a1, {("j", 1): PLAN})["journeys"]
    rows = {row["variant"]: row for row in journey["experiments"][0]["variants"]}
    assert rows["discount"]["lift"] is None and rows["discount"]["value"] == 15.0
