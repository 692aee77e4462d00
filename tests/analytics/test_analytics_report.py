"""Report figures against counts computed independently from the action records of the same run."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from journeydsl.analytics import overlay_counts, overlay_counts_by_version, overlay_from_transitions
from journeydsl.analytics.report import build_report
from journeydsl.analytics.source import bundle_beside
from journeydsl.analytics.stats import two_proportion_z_test
from journeydsl.cli import main
from journeydsl.compile import compile_project
from journeydsl.project import load_project
from journeydsl.runtime import Engine
from journeydsl.runtime.bundle import load_bundle

FIXTURE = Path(__file__).parents[1] / "testing" / "fixtures" / "solar"
COST = {"email": 0.002, "sms": 0.04}  # written independently of the plan: SPEC 3.1's schema


def events(customers: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for n in range(customers):
        cid = f"c{n}"
        profile = {
            "segment": rng.choice(["new", "active", "churned"]),
            "consent_email": rng.random() < 0.85,
            "consent_sms": rng.random() < 0.5,
            "ltv": 0,
        }
        day = rng.randint(1, 20)
        out.append(
            {
                "id": f"{cid}-q",
                "type": "quote_requested",
                "customer_id": cid,
                "at": f"2026-01-{day:02d}T{rng.choice([10, 22])}:00:00Z",  # 22:00 is inside the quiet hours
                "data": {"roof_area_m2": rng.choice([8, 20, 60]), "zip": "28001"},
                "profile": profile,
            }
        )
        roll = rng.random()
        if roll < 0.45:
            out.append(
                {
                    "id": f"{cid}-s",
                    "type": "contract_signed",
                    "customer_id": cid,
                    "at": f"2026-02-{rng.randint(1, 25):02d}T12:00:00Z",
                    "data": {"amount": rng.randint(1000, 20000)},
                }
            )
        elif roll < 0.55:
            out.append({"id": f"{cid}-u", "type": "unsubscribed", "customer_id": cid, "at": "2026-01-25T12:00:00Z"})
    return sorted(out, key=lambda e: e["at"])


@pytest.fixture(scope="module")
def bundle_files() -> dict[str, bytes]:
    project = load_project([FIXTURE / "journeys"], templates_dir=FIXTURE / "templates")
    return compile_project(project, ["journeys"])


@pytest.fixture(scope="module")
def ran(bundle_files: dict[str, bytes]) -> tuple[Engine, list[dict[str, Any]], list[dict[str, Any]]]:
    engine = Engine.open(bundle_files, store="memory://")
    for event in events(600, seed=11):
        engine.process(event)
    engine.advance("2026-06-01T00:00:00Z")
    return engine, list(engine.store.transitions()), list(engine.store.actions())


def test_figures_match_the_action_records(bundle_files: dict[str, bytes], ran: Any) -> None:
    engine, transitions, actions = ran
    plans = load_bundle(bundle_files).plans
    report = build_report(transitions, actions, plans)
    (journey,) = report["journeys"]
    mine = [a for a in actions if a["journey"] == "solar_onboarding"]
    kinds = Counter(a["kind"] for a in mine)
    assert journey["entries"] == kinds["enter"] > 100
    # Reach of steps that always act: one record per arrival, each instance arrives at most once here.
    reach = {s["step"]: s["reach"] for s in journey["steps"]}
    arrivals = Counter((a["step"], a["kind"]) for a in mine)
    assert reach["welcome"] == arrivals[("welcome", "enter")]
    assert reach["offer_small"] == arrivals[("offer_small", "send")]
    assert reach["advisor_call"] == arrivals[("advisor_call", "call")]
    assert reach["nudge_urgent"] == arrivals[("nudge_urgent", "send")]
    assert reach["done"] == arrivals[("done", "end")]
    assert journey["ends"] == dict(Counter(a["outcome"] for a in mine if a["kind"] == "end"))
    assert journey["exits"] == dict(Counter(a["outcome"] for a in mine if a["kind"] == "exit"))
    assert journey["exits"].get("unsubscribed", 0) > 0
    goals = [a for a in mine if a["kind"] == "goal"]
    assert journey["goals"][0]["conversions"] == len(goals) > 0
    value = sum(a["value"] for a in goals)
    assert journey["value"] == pytest.approx(value)
    out = [a for a in mine if a["kind"] == "send" and a["status"] in ("sent", "delayed")]
    assert any(a["status"] == "delayed" for a in out)
    assert any(a["kind"] == "send" and a["status"] == "suppressed" for a in mine)
    cost = sum(COST[a["channel"]] for a in out)
    assert journey["cost"] == pytest.approx(cost)
    assert journey["roi"] == pytest.approx((value - cost) / cost)
    # Experiments: the engine's own record of each instance's variant, and goals per instance.
    assigned: dict[str, set[str]] = {}
    for cid in {a["customer_id"] for a in mine}:
        for instance in engine.instances(cid):
            variant = instance["variants"].get("nudge_copy")
            if variant:
                assigned.setdefault(variant, set()).add(instance["id"])
    converted = {a["instance"] for a in goals}
    (experiment,) = journey["experiments"]
    rows = {row["variant"]: row for row in experiment["variants"]}
    for variant, members in assigned.items():
        assert rows[variant]["assigned"] == len(members)
        assert rows[variant]["converted"] == len(members & converted)
    control = assigned["control"]
    expected = two_proportion_z_test(
        len(assigned["friendly"] & converted), len(assigned["friendly"]), len(control & converted), len(control)
    )
    assert rows["friendly"]["z"] == pytest.approx(expected.z)
    assert rows["friendly"]["p_value"] == pytest.approx(expected.p_value)
    assert rows["control"]["z"] is None


def test_overlay_counts_agree_with_the_report(ran: Any) -> None:
    _, transitions, actions = ran
    steps, edges = overlay_from_transitions(transitions)["solar_onboarding"]
    (journey,) = build_report(transitions, actions)["journeys"]
    assert steps == {s["step"]: s["reach"] for s in journey["steps"] if s["reach"]}
    assert edges[("ENTRY", "welcome")] == journey["entries"]
    assert edges[("welcome", "size_roof")] == steps["size_roof"]


def test_report_from_hand_written_records() -> None:
    transitions = [
        {"journey": "j", "version": 1, "customer_id": "a", "instance": "a/j/1", "from_step": None, "to_step": "s1"},
        {"journey": "j", "version": 1, "customer_id": "a", "instance": "a/j/1", "from_step": "s1", "to_step": "s2"},
    ]
    actions = [
        {"kind": "enter", "journey": "j", "version": 1, "customer_id": "a", "instance": "a/j/1"},
        {"kind": "send", "journey": "j", "version": 1, "channel": "push", "status": "sent", "cost": 0},
    ]
    (journey,) = build_report(transitions, actions)["journeys"]
    assert journey["cost"] == 0 and journey["roi"] is None  # ROI is null when nothing cost anything
    assert journey["steps"] == [
        {"step": "s1", "stage": None, "reach": 1, "visits": 1, "share": 1.0},
        {"step": "s2", "stage": None, "reach": 1, "visits": 1, "share": 1.0},
    ]
    actions[1].pop("cost")  # no plan and no cost on the record: unknown, not zero
    (journey,) = build_report(transitions, actions)["journeys"]
    assert journey["cost"] is None and journey["roi"] is None


def test_report_cli_on_a_sqlite_store(bundle_files: dict[str, bytes], tmp_path: Path) -> None:
    from journeydsl.compile import write_bundle

    write_bundle(bundle_files, tmp_path / "journeys.jbundle")
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events(80, seed=5)))
    runner = CliRunner()
    store = f"sqlite:///{tmp_path / 'state.db'}"
    result = runner.invoke(
        main,
        [
            "run",
            str(tmp_path / "journeys.jbundle"),
            "--events",
            str(tmp_path / "events.jsonl"),
            "--store",
            store,
            "--until",
            "2026-06-01T00:00:00Z",
        ],
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    result = runner.invoke(main, ["report", "--store", store, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"]["plans_from"] == "the store"  # the runtime records the plans it ran
    assert bundle_beside(store) == tmp_path / "journeys.jbundle"  # the fallback for stores that do not
    (journey,) = report["journeys"]
    assert journey["entries"] == sum(1 for r in records if r["kind"] == "enter")
    assert [e["experiment"] for e in journey["experiments"]] == ["nudge_copy"]
    text = runner.invoke(main, ["report", "--store", store, "--bundle", str(tmp_path / "journeys.jbundle")])
    assert text.exit_code == 0 and "experiment nudge_copy (step nudge):" in text.stdout
    html = runner.invoke(main, ["report", "--store", store, "--format", "html", "-o", str(tmp_path / "r.html")])
    assert html.exit_code == 0, html.output
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 2  # the funnel and the overlay diagram, inline
    assert 'class="funnel"' in page and "reached" in page
    for external in ('src="http', 'href="http', "<link", "<script src", "@import"):
        assert external not in page
    steps, _ = overlay_counts(store)["solar_onboarding"]
    assert steps["welcome"] == journey["entries"]
    assert overlay_counts_by_version(store) == {("solar_onboarding", 3): overlay_counts(store)["solar_onboarding"]}


def test_report_cli_errors_are_messages(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["report", "--store", f"sqlite:///{tmp_path / 'none.db'}"])
    assert missing.exit_code == 1 and "no store at" in missing.output
    bad = runner.invoke(main, ["report", "--store", "mongodb://x"])
    assert bad.exit_code == 1 and "unknown store URL" in bad.output
    (tmp_path / "not.db").write_text("this is not sqlite")
    garbage = runner.invoke(main, ["report", "--store", f"sqlite:///{tmp_path / 'not.db'}"])
    assert garbage.exit_code == 1 and "Traceback" not in garbage.output


def test_render_overlay_draws_the_store_counts(bundle_files: dict[str, bytes], tmp_path: Path) -> None:
    engine = Engine.open(bundle_files, store=f"sqlite:///{tmp_path / 'state.db'}")
    for event in events(40, seed=2):
        engine.process(event)
    engine.advance("2026-06-01T00:00:00Z")
    engine.close()
    store = f"sqlite:///{tmp_path / 'state.db'}"
    steps, edges = overlay_counts(store)["solar_onboarding"]
    runner = CliRunner()
    args = ["render", str(FIXTURE / "journeys"), "--templates", str(FIXTURE / "templates"), "-o", str(tmp_path / "d")]
    result = runner.invoke(main, [*args, "--format", "dot", "--overlay", store])
    assert result.exit_code == 0, result.output
    dot = (tmp_path / "d" / "solar_onboarding.dot").read_text()
    assert f"reached {steps['welcome']}" in dot and f"reached {steps['lost']}" in dot
    assert f"({edges[('ENTRY', 'welcome')]})" in dot and "penwidth=6.00" in dot  # the busiest edge is widest
    mermaid = runner.invoke(main, [*args, "--format", "mermaid", "--overlay", store])
    assert mermaid.exit_code == 1 and "Mermaid has no edge widths" in mermaid.output
    missing = runner.invoke(main, [*args, "--overlay", f"sqlite:///{tmp_path / 'none.db'}"])
    assert missing.exit_code == 1 and "no store at" in missing.output
