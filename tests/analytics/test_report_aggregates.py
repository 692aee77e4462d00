"""`journeydsl report` from the store's aggregates: the same report as the loops over every record it ran before.

The oracle is a copy of report.py's collection loops as they were before the report read aggregates
(`old_build_report` below, with the unchanged helpers for variants, costs and lift taken from report.py). The new
report must equal it on every store (memory://, a SQLite file, a PostgreSQL schema) for a real run of the solar
fixture, with and without plans, and on random records with odd fields; its text and HTML must be the same. Float
sums may differ in their last bits (added per aggregate row instead of per record), so floats compare to 1e-9.
"""

from __future__ import annotations

import math
import sqlite3
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from journeydsl.analytics.html import render_html
from journeydsl.analytics.report import (
    _LIFT_KEYS,
    SENT_STATUSES,
    PlanKey,
    _assigned_variant,
    _experiments_of,
    _instance_cost,
    _lift,
    _ratio,
    build_report,
    instance_of,
    report_from_store,
)
from journeydsl.analytics.stats import two_proportion_z_test
from journeydsl.analytics.text import render_text
from journeydsl.compile import compile_project
from journeydsl.project import load_project
from journeydsl.runtime import Engine
from journeydsl.runtime.bundle import Bundle, load_bundle
from journeydsl.runtime.plan_format import PlanJson
from journeydsl.runtime.store import Store, StoreError, Transition
from journeydsl.runtime.stores import open_store
from record_strategies import RECORDS

FIXTURE = Path(__file__).parents[1] / "testing" / "fixtures" / "solar"
KINDS = ["memory", "sqlite", "postgresql"]


# ------------------------------------------------------------------------------ the oracle: the loops as they were


class _OldGroup:
    def __init__(self) -> None:
        self.entries = 0
        self.reach: dict[str, set[str]] = defaultdict(set)
        self.visits: Counter[str] = Counter()
        self.edges: Counter[tuple[str, str]] = Counter()
        self.entry_edges: Counter[str] = Counter()
        self.moves: dict[str, list[tuple[str, str, Any]]] = defaultdict(list)
        self.exits: Counter[str] = Counter()
        self.ends: Counter[str] = Counter()
        self.goals: Counter[str] = Counter()
        self.goal_value: dict[str, float] = defaultdict(float)
        self.converted: set[str] = set()
        self.sends: dict[str, Counter[str]] = defaultdict(Counter)
        self.record_cost: dict[str, float] = defaultdict(float)
        self.record_cost_known: dict[str, bool] = defaultdict(lambda: True)
        self.instance_value: dict[str, float] = defaultdict(float)
        self.instance_sends: dict[str, list[tuple[str, float | None]]] = defaultdict(list)


def _old_key(record: Mapping[str, Any]) -> PlanKey:
    return (str(record.get("journey")), int(record.get("version") or 0))


def old_build_report(
    transitions: Iterable[Mapping[str, Any]],
    actions: Iterable[Mapping[str, Any]],
    plans: Mapping[PlanKey, PlanJson] | None = None,
) -> dict[str, Any]:
    plans = plans or {}
    groups: dict[PlanKey, _OldGroup] = defaultdict(_OldGroup)
    for row in transitions:
        group = groups[_old_key(row)]
        instance = instance_of(row)
        to_step = row.get("to_step")
        if to_step is None:
            continue
        group.reach[str(to_step)].add(instance)
        group.visits[str(to_step)] += 1
        if row.get("from_step") is not None:
            group.edges[(str(row["from_step"]), str(to_step))] += 1
            group.moves[instance].append((str(row["from_step"]), str(to_step), row.get("via")))
        else:
            group.entry_edges[str(to_step)] += 1
    for record in actions:
        group = groups[_old_key(record)]
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
    journeys = [_old_journey_figures(key, groups[key], plans.get(key)) for key in sorted(groups)]
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


def _old_journey_figures(key: PlanKey, group: _OldGroup, plan: PlanJson | None) -> dict[str, Any]:
    journey, version = key
    plan_steps = [(step["name"], step.get("stage")) for step in (plan.get("steps") if plan else None) or []]
    named = {name for name, _ in plan_steps}
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
        if unit is not None:
            channel_cost: float | None = out * float(unit)
        elif group.record_cost_known[channel]:
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
        "experiments": [_old_experiment_figures(exp, group, channels) for exp in _experiments_of(plan)],
    }


def _old_experiment_figures(experiment: Mapping[str, Any], group: _OldGroup, channels: Mapping[str, Any]) -> Any:
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
        "incremental_conversions": sum(row["incremental_conversions"] for row in measured) if measured else None,
        "incremental_value": sum(row["incremental_value"] for row in measured) if measured else None,
    }


# ------------------------------------------------------------------------------ comparing


def assert_same(got: Any, expected: Any, path: str = "report") -> None:
    """Equal values of equal types (an int where the old report had an int: its JSON is `0`, not `0.0`); floats to
    1e-9 relative, as sums added in another order differ in their last bits. The oracle predates the expectations
    section (issue 19, tests/analytics/test_expectations.py): it is left out of the comparison."""
    if path == "report" and isinstance(got, dict):
        got = {name: value for name, value in got.items() if name != "expectations"}
    assert type(got) is type(expected), f"{path}: {got!r} ({type(got).__name__}) != {expected!r}"
    if isinstance(expected, float):
        assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {got!r} != {expected!r}"
    elif isinstance(expected, dict):
        assert list(got) == list(expected), f"{path}: keys {list(got)} != {list(expected)}"
        for name in expected:
            assert_same(got[name], expected[name], f"{path}.{name}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), f"{path}: {len(got)} items != {len(expected)}"
        for n, (mine, theirs) in enumerate(zip(got, expected, strict=True)):
            assert_same(mine, theirs, f"{path}[{n}]")
    else:
        assert got == expected, f"{path}: {got!r} != {expected!r}"


# ------------------------------------------------------------------------------ stores


class Place:
    """One test's store: a MemoryStore, a SQLite file, or a PostgreSQL schema of its own (dropped at the end)."""

    def __init__(self, kind: str, folder: Path, postgres_url: str | None) -> None:
        self.kind, self.admin, self.opened = kind, postgres_url, list[Store]()
        self.schema = f"rep_{uuid.uuid4().hex[:12]}"
        if kind == "sqlite":
            self.url = f"sqlite:///{folder / f'{self.schema}.db'}"
        elif kind == "postgresql":
            self.url = f"{postgres_url}?schema={self.schema}"
        else:
            self.url = "memory://"

    def open(self, batch: int | None = None, mode: Any = "auto") -> Store:
        store = open_store(self.url, batch=batch, mode=mode)
        self.opened.append(store)
        return store

    def finish(self) -> None:
        for store in self.opened:
            try:
                store.abandon()
            except Exception:
                pass
        if self.kind == "postgresql" and self.admin is not None:
            with psycopg.connect(self.admin, autocommit=True) as connection:
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))


@pytest.fixture
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    kind: str = request.param
    url = request.getfixturevalue("postgres_url") if kind == "postgresql" else None
    made = Place(kind, tmp_path, url)
    try:
        yield made
    finally:
        made.finish()


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    project = load_project([FIXTURE / "journeys"], templates_dir=FIXTURE / "templates")
    return load_bundle(compile_project(project, ["journeys"]))


def solar_events(customers: int) -> list[dict[str, Any]]:
    """Quotes (a third in quiet hours: delayed sends), signed contracts (a goal with a value) and unsubscribes."""
    out = []
    for n in range(customers):
        cid = f"c{n}"
        profile = {"segment": "new", "consent_email": n % 7 != 0, "consent_sms": n % 2 == 0, "ltv": 0}
        hour = 22 if n % 3 == 0 else 10
        out.append({"id": f"{cid}-q", "type": "quote_requested", "customer_id": cid,
                    "at": f"2026-01-{1 + n % 20:02d}T{hour}:00:00Z", "profile": profile,
                    "data": {"roof_area_m2": (8, 20, 60)[n % 3], "zip": "28001"}})  # fmt: skip
        if n % 5 < 2:
            out.append({"id": f"{cid}-s", "type": "contract_signed", "customer_id": cid,
                        "at": f"2026-02-{1 + n % 25:02d}T12:00:00Z", "data": {"amount": 1000 + 37 * n}})  # fmt: skip
        elif n % 5 == 2:
            out.append({"id": f"{cid}-u", "type": "unsubscribed", "customer_id": cid, "at": "2026-01-25T12:00:00Z"})
    return sorted(out, key=lambda e: e["at"])


def plans_of(bundle: Bundle) -> dict[PlanKey, PlanJson]:
    return {key: bundle.plan(*key) for key in bundle.plans}


def without_experiments(plans: Mapping[PlanKey, Any]) -> dict[PlanKey, Any]:
    """The plans with every experiment step turned into a plain step."""
    plain: dict[PlanKey, Any] = {}
    for key, plan in plans.items():
        steps = [dict(step) for step in plan.get("steps") or []]
        for step in steps:
            if (step.get("flow") or {}).get("kind") == "experiment":
                step.pop("flow")
        plain[key] = {**plan, "steps": steps}
    return plain


# ------------------------------------------------------------------------------ a real run, every store


@pytest.mark.parametrize("place", KINDS, indirect=True)
def test_the_report_from_aggregates_equals_the_loops_on_every_store(place: Place, bundle: Bundle) -> None:
    store = place.open(batch=11)
    engine = Engine(bundle, store)
    events = solar_events(300)
    for event in events[: len(events) // 2]:
        engine.process(event)
    store.flush()
    for event in events[len(events) // 2 :]:
        engine.process(event)
    engine.advance("2026-06-01T00:00:00Z")
    store.flush()
    if place.kind != "memory":  # what `journeydsl report` does: a later process reads the store back
        store.close()
        store = place.open(mode="read")
    transitions, actions = list(store.transitions()), list(store.actions())
    plans = plans_of(bundle)
    for given_plans in (plans, {}, without_experiments(plans)):
        expected = old_build_report(transitions, actions, given_plans)
        assert_same(report_from_store(store, given_plans), expected)
        assert_same(build_report(transitions, actions, given_plans), expected)
    report = report_from_store(store, plans)
    (journey,) = report["journeys"]
    # The run exercises what is compared: goals with value, delayed and suppressed sends, an experiment, exits.
    assert journey["value"] > 0 and journey["converted"] > 0 and journey["exits"]
    assert all(journey["sends"]["email"][status] > 0 for status in ("sent", "delayed", "suppressed"))
    (experiment,) = journey["experiments"]
    assert sum(row["assigned"] for row in experiment["variants"]) > 0
    old = old_build_report(transitions, actions, plans)
    assert render_text(report, "the store") == render_text(old, "the store")
    source = {"store": place.url, "plans_from": "the store"}
    assert render_html(report, plans, source) == render_html(old, plans, source)


@pytest.mark.parametrize("place", ["sqlite"], indirect=True)
def test_records_are_read_one_by_one_only_for_plans_with_an_experiment(
    place: Place, bundle: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = place.open(batch=50)
    engine = Engine(bundle, store)
    for event in solar_events(60):
        engine.process(event)
    engine.close()
    store = place.open(mode="read")
    moves, actions = list(store.transitions()), list(store.actions())
    reads: list[str] = []

    def reading(name: str) -> Any:
        def read() -> Iterator[dict[str, Any]]:
            reads.append(name)
            return iter(())

        return read

    monkeypatch.setattr(store, "transitions", reading("transitions"))
    monkeypatch.setattr(store, "actions", reading("actions"))
    plain = without_experiments(bundle.plans)
    assert_same(report_from_store(store, plain), old_build_report(moves, actions, plain))
    assert_same(report_from_store(store), old_build_report(moves, actions))
    assert reads == []
    report_from_store(store, plans_of(bundle))  # the experiment's variants need each instance's moves
    assert reads == ["transitions", "actions"]


# ------------------------------------------------------------------------------ random records

TRANSITIONS = st.tuples(
    st.sampled_from(["j", "k"]),
    st.sampled_from([1, 2]),
    st.sampled_from(["c1", "c2"]),
    st.sampled_from(["c1/j/1", "c2/j/1", "c1/j/2", ""]),
    st.sampled_from([None, "split", "b"]),
    st.sampled_from(["split", "b", "c"]),
    st.just(1767225600.0),
    st.sampled_from([None, "variant:x", "variant:y"]),
)
UNITS = st.lists(st.tuples(st.lists(RECORDS, max_size=5), st.lists(TRANSITIONS, max_size=4)), max_size=8)
# An experiment at `split` on journey j version 1 (x to b, the control y to c) and a channel price for email.
PLANS: dict[PlanKey, Any] = {
    ("j", 1): {
        "steps": [
            {"id": 0, "name": "split", "stage": "s", "flow": {"kind": "experiment", "name": "e", "variants": [
                {"name": "x", "weight": 1, "to": 1}, {"name": "y", "weight": 1, "control": True, "to": 2}]}},
            {"id": 1, "name": "b", "stage": "s"},
            {"id": 2, "name": "c", "stage": "s"},
        ],
        "schema": {"channels": {"email": {"cost": 0.5}}},
        "goals": [{"name": "won"}],
    }
}  # fmt: skip


@pytest.mark.parametrize("place", KINDS, indirect=True)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(units=UNITS)
def test_random_records_report_as_the_loops_did(
    place: Place, units: list[tuple[list[dict[str, Any]], list[Transition]]]
) -> None:
    place.finish()
    place.schema = f"rep_{uuid.uuid4().hex[:12]}"
    if place.kind == "sqlite":
        place.url = place.url.rsplit("/", 1)[0] + f"/{place.schema}.db"
    elif place.kind == "postgresql":
        place.url = f"{place.admin}?schema={place.schema}"
    place.opened = []
    store = place.open(batch=3)
    for records, transitions in units:
        store.log_actions([dict(record) for record in records])
        store.log_transitions(list(transitions))
        store.end_unit()
    store.flush()
    moves, actions = list(store.transitions()), list(store.actions())
    for plans in (PLANS, None):
        expected = old_build_report(moves, actions, plans)
        assert_same(report_from_store(store, plans), expected)
        assert_same(build_report(moves, actions, plans), expected)


# ------------------------------------------------------------------------------ bad input


def test_a_version_that_is_not_a_number_is_counted_under_0_not_a_traceback() -> None:
    moves = [{"journey": "j", "version": "v2", "customer_id": "a", "instance": "a/j", "from_step": None,
              "to_step": "s"}]  # fmt: skip
    actions = [{"kind": "enter", "journey": "j", "version": "v2", "customer_id": "a", "instance": "a/j"}]
    (journey,) = build_report(moves, actions, PLANS)["journeys"]
    assert (journey["version"], journey["entries"], journey["steps"][0]["reach"]) == (0, 1, 1)


def test_empty_input_is_an_empty_report() -> None:
    assert build_report([], []) == {
        "journeys": [],
        "totals": {"entries": 0, "value": 0, "cost": 0, "roi": None},
        "expectations": {"confidence": 0.95, "min_entries": 30, "journeys": [], "below": [], "without_plan": []},
    }


def test_a_damaged_aggregate_table_is_a_store_error(tmp_path: Path, bundle: Bundle) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = Engine.open(bundle, store=url)
    for event in solar_events(5):
        engine.process(event)
    engine.close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("UPDATE agg_edges SET n = 'x'")
    db.close()
    store = open_store(url, mode="read")
    try:
        with pytest.raises(StoreError, match="agg_edges holds a row"):
            report_from_store(store)
    finally:
        store.close()
