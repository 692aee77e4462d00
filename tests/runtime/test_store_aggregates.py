"""Store aggregates (runtime/aggregates.py) against the Python loops analytics ran before, on every store.

Each store's `record_aggregates`, `transition_aggregates` and `in_flight_steps` must give what report.py's
`build_report` computes from `actions()`/`transitions()` and what a scan of the customers gives: on a real run of
the solar fixture, and on random records (odd kinds, missing fields, booleans as values, several commits). SQLite
keeps its aggregates in tables as it commits, so a store converted from schema version 3 (records already there)
and a copy that may not convert it are checked too; damaged aggregate tables are refused with a StoreError.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from journeydsl.analytics.report import build_report
from journeydsl.compile import compile_project
from journeydsl.project import load_project
from journeydsl.runtime import Engine
from journeydsl.runtime import state as S
from journeydsl.runtime.aggregates import RecordAggregates, TransitionAggregates
from journeydsl.runtime.bundle import Bundle, load_bundle
from journeydsl.runtime.store import Store, StoreError, Transition
from journeydsl.runtime.store_memory import MemoryStore
from journeydsl.runtime.store_sqlite import SCHEMA_VERSION
from journeydsl.runtime.stores import open_store
from record_strategies import RECORDS

FIXTURE = Path(__file__).parents[1] / "testing" / "fixtures" / "solar"
KINDS = ["memory", "sqlite", "postgresql"]


@pytest.fixture(scope="module")
def bundle_files() -> Bundle:
    project = load_project([FIXTURE / "journeys"], templates_dir=FIXTURE / "templates")
    return load_bundle(compile_project(project, ["journeys"]))


def solar_events(customers: int) -> list[dict[str, Any]]:
    """Quotes (some in quiet hours), signed contracts (a goal) and unsubscribes, spread over January."""
    out = []
    for n in range(customers):
        cid = f"c{n}"
        profile = {"segment": "new", "consent_email": n % 7 != 0, "consent_sms": n % 2 == 0, "ltv": 0}
        day = 1 + n % 20
        hour = 22 if n % 3 == 0 else 10
        out.append(
            {
                "id": f"{cid}-q",
                "type": "quote_requested",
                "customer_id": cid,
                "at": f"2026-01-{day:02d}T{hour}:00:00Z",
                "data": {"roof_area_m2": (8, 20, 60)[n % 3], "zip": "28001"},
                "profile": profile,
            }
        )
        if n % 5 < 2:
            at = f"2026-02-{1 + n % 25:02d}T12:00:00Z"
            out.append({"id": f"{cid}-s", "type": "contract_signed", "customer_id": cid, "at": at,
                        "data": {"amount": 1000 + 37 * n}})  # fmt: skip
        elif n % 5 == 2:
            out.append({"id": f"{cid}-u", "type": "unsubscribed", "customer_id": cid, "at": "2026-01-25T12:00:00Z"})
    return sorted(out, key=lambda e: e["at"])


class Place:
    """Where one test's store lives: a SQLite file, a PostgreSQL schema of its own, or one MemoryStore."""

    def __init__(self, kind: str, folder: Path, postgres_url: str | None) -> None:
        self.kind, self.memory, self.opened = kind, MemoryStore(), list[Store]()
        self.schema = f"agg_{uuid.uuid4().hex[:12]}"
        self.admin = postgres_url
        if kind == "sqlite":
            self.url = f"sqlite:///{folder / f'{self.schema}.db'}"
        elif kind == "postgresql":
            self.url = f"{postgres_url}?schema={self.schema}"
        else:
            self.url = "memory://"

    def open(self, batch: int | None = None, mode: Any = "auto") -> Store:
        if self.kind == "memory":
            return self.memory
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


# ---------------------------------------------------------------------------------------------- the reference


def report_figures(records: RecordAggregates, steps: TransitionAggregates) -> dict[tuple[str, int], dict[str, Any]]:
    """The report's figures per journey version from the aggregates alone (what report.py reads instead of its
    loops): entries, exits, ends, goals with value, converted, sends per channel and status with record costs,
    reach and visits per step, transitions."""
    found: dict[tuple[str, int], dict[str, Any]] = {}

    def group(journey: str, version: int) -> dict[str, Any]:
        return found.setdefault(
            (journey, version),
            {"entries": 0, "exits": {}, "ends": {}, "goals": {}, "value": 0.0, "converted": 0, "sends": {},
             "reach": {}, "visits": {}, "transitions": []},
        )  # fmt: skip

    for row in records.counts:
        figures = group(row.journey, row.version)
        if row.kind == "enter":
            figures["entries"] += row.count
        elif row.kind == "exit":
            figures["exits"][row.label] = row.count
        elif row.kind == "end":
            figures["ends"][row.label] = row.count
        elif row.kind == "goal":
            figures["goals"][row.label] = row.count
            figures["value"] += row.total
        elif row.kind == "send":
            figures["sends"].setdefault(row.label, {})[row.status] = row.count
    for (journey, version), n in records.converted.items():
        group(journey, version)["converted"] = n
    for step in steps.steps:
        figures = group(step.journey, step.version)
        figures["reach"][step.step], figures["visits"][step.step] = step.reach, step.visits
    for edge in steps.edges:
        group(edge.journey, edge.version)["transitions"].append(
            {"from": edge.from_step, "to": edge.to_step, "count": edge.count}
        )
    return found


def loop_figures(transitions: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """The same figures from report.py's loops over every record (`build_report`, no plans), plus the converted
    instances and sends by status counted here directly."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for journey in build_report(transitions, actions)["journeys"]:
        key = (journey["journey"], journey["version"])
        found[key] = {
            "entries": journey["entries"],
            "exits": journey["exits"],
            "ends": journey["ends"],
            "goals": {goal["goal"]: goal["conversions"] for goal in journey["goals"]},
            "value": journey["value"],
            "converted": journey["converted"],
            "sends": {},
            "reach": {step["step"]: step["reach"] for step in journey["steps"]},
            "visits": {step["step"]: step["visits"] for step in journey["steps"]},
            "transitions": journey["transitions"],
        }
    for record in actions:
        if record.get("kind") == "send":
            key = (str(record.get("journey")), int(record.get("version") or 0))
            by_status = found[key]["sends"].setdefault(str(record.get("channel")), {})
            status = str(record.get("status"))
            by_status[status] = by_status.get(status, 0) + 1
    return found


def assert_same(mine: dict[Any, dict[str, Any]], loops: dict[Any, dict[str, Any]]) -> None:
    assert sorted(mine) == sorted(loops)
    for key, figures in loops.items():
        got = dict(mine[key])
        assert got.pop("value") == pytest.approx(figures["value"], rel=1e-12, abs=1e-12)
        expected = {name: value for name, value in figures.items() if name != "value"}
        assert got == expected, key


def costs_by_channel(actions: list[dict[str, Any]]) -> dict[tuple[str, int, str, str], tuple[float, int]]:
    """Sum of numeric send costs and how many sends had one, per journey version, channel and status."""
    found: dict[tuple[str, int, str, str], tuple[float, int]] = {}
    for record in actions:
        if record.get("kind") != "send":
            continue
        key = (str(record.get("journey")), int(record.get("version") or 0), str(record.get("channel")),
               str(record.get("status")))  # fmt: skip
        total, priced = found.get(key, (0.0, 0))
        cost = record.get("cost")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            total, priced = total + cost, priced + 1
        found[key] = (total, priced)
    return found


def rounded(records: RecordAggregates) -> RecordAggregates:
    """Sums of floats added in another order differ in their last bits: compared to 9 places."""
    counts = tuple(dataclasses.replace(row, total=round(row.total, 9)) for row in records.counts)
    return RecordAggregates(counts, records.converted)


def check_store(store: Store) -> None:
    """Every aggregate of `store` equals the loops over its records, transitions and customers."""
    transitions, actions = list(store.transitions()), list(store.actions())
    records, steps = store.record_aggregates(), store.transition_aggregates()
    assert_same(report_figures(records, steps), loop_figures(transitions, actions))
    costs = {
        (row.journey, row.version, row.label, row.status): (row.total, row.priced)
        for row in records.counts
        if row.kind == "send"
    }
    expected = costs_by_channel(actions)
    assert sorted(costs) == sorted(expected)
    for key, (total, priced) in expected.items():
        assert costs[key][1] == priced
        assert costs[key][0] == pytest.approx(total, rel=1e-12, abs=1e-12)
    kinds = Counter((str(a.get("journey")), int(a.get("version") or 0), a.get("kind")) for a in actions)
    assert {(r.journey, r.version, r.kind): 0 for r in records.counts}.keys() >= {
        k for k in kinds if isinstance(k[2], str)
    }
    active: Counter[tuple[str, int, Any]] = Counter()
    timers: Counter[tuple[str, int, Any]] = Counter()
    for _, customer in store.scan():
        for inst in customer["i"].values():
            if inst[S.ACTIVE]:
                active[(inst[S.JOURNEY], inst[S.VERSION], inst[S.STEP])] += 1
                timers[(inst[S.JOURNEY], inst[S.VERSION], inst[S.STEP])] += inst[S.TIMER] is not None
    assert {(r.journey, r.version, r.step): (r.active, r.timers) for r in store.in_flight_steps()} == {
        key: (n, timers[key]) for key, n in active.items()
    }


# ---------------------------------------------------------------------------------------------- a real run


@pytest.mark.parametrize("place", KINDS, indirect=True)
def test_a_run_s_aggregates_equal_the_report_s_loops(place: Place, bundle_files: Bundle) -> None:
    store = place.open(batch=7)
    engine = Engine(bundle_files, store)
    events = solar_events(240)
    half = len(events) // 2
    for event in events[:half]:
        engine.process(event)
    check_store(store)  # mid-run: instances in flight, some waiting on timers, records pending a commit
    assert store.in_flight_steps(), "the check above saw no instance in flight"
    assert any(row.timers for row in store.in_flight_steps())
    for event in events[half:]:
        engine.process(event)
    engine.advance("2026-06-01T00:00:00Z")
    check_store(store)
    records = store.record_aggregates()
    assert records.converted and any(row.kind == "goal" and row.total > 0 for row in records.counts)
    assert {row.status for row in records.counts if row.kind == "send"} >= {"sent", "delayed", "suppressed"}
    assert any(edge.from_step is None for edge in store.transition_aggregates().edges)
    if place.kind != "memory":  # what a later process reads back
        store.close()
        check_store(place.open(mode="read"))


# ---------------------------------------------------------------------------------------------- random records

TRANSITIONS = st.tuples(
    st.sampled_from(["j", "k"]),
    st.sampled_from([1, 2]),
    st.sampled_from(["c1", "c2"]),
    st.sampled_from(["c1/j/1", "c2/j/1", "c1/j/2", ""]),
    st.sampled_from([None, "a", "b"]),
    st.sampled_from(["a", "b", "c"]),
    st.just(1767225600.0),
    st.sampled_from([None, "variant:x"]),
)
UNITS = st.lists(st.tuples(st.lists(RECORDS, max_size=5), st.lists(TRANSITIONS, max_size=4)), max_size=8)


@pytest.mark.parametrize("place", KINDS, indirect=True)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(units=UNITS)
def test_random_records_aggregate_as_the_loops_count_them(
    place: Place, units: list[tuple[list[dict[str, Any]], list[Transition]]]
) -> None:
    if place.kind == "memory":
        place.memory = MemoryStore()
    else:
        place.finish()
        place.schema = f"agg_{uuid.uuid4().hex[:12]}"
        place.url = (
            place.url.rsplit("/", 1)[0] + f"/{place.schema}.db" if place.kind == "sqlite"
            else f"{place.admin}?schema={place.schema}"
        )  # fmt: skip
        place.opened = []
    store = place.open(batch=3)
    for records, transitions in units:
        store.log_actions([dict(record) for record in records])
        store.log_transitions(list(transitions))
        store.end_unit()
    check_store(store)


# ---------------------------------------------------------------------------------------------- sqlite's tables


def _downgrade(path: Path) -> None:
    """Make a store look written by the journeydsl before aggregate tables (schema version 3, a row per outbox
    record)."""
    with sqlite3.connect(path) as db:
        for table in ("agg_records", "agg_converted", "agg_edges", "agg_reach", "agg_steps"):
            db.execute(f"DROP TABLE {table}")
        db.execute(
            "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, key TEXT, record BLOB NOT NULL, delivered INTEGER NOT NULL"
            " DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, not_before REAL, claimed_until REAL, error TEXT)"
        )
        for first, _, lines in db.execute("SELECT first, last, lines FROM outbox_pages").fetchall():
            db.executemany(
                "INSERT INTO outbox (seq, record) VALUES (?, ?)", enumerate(lines.split(b"\n")[:-1], start=first)
            )
        db.execute("DROP TABLE outbox_pages")
        db.execute("DROP TABLE outbox_claims")
        db.execute("DELETE FROM meta WHERE k IN ('outbox_floor', 'aggregates_folded')")
        db.execute("DELETE FROM meta WHERE k = 'aggregates_backlog'")
        db.execute("UPDATE meta SET v = '3' WHERE k = 'schema_version'")
    db.close()


@pytest.mark.parametrize("place", ["sqlite"], indirect=True)
def test_a_store_of_schema_3_is_read_and_converted(place: Place, bundle_files: Bundle) -> None:
    path = Path(place.url.removeprefix("sqlite:///"))
    store = place.open(batch=5)
    engine = Engine(bundle_files, store)
    events = solar_events(80)
    for event in events[:100]:
        engine.process(event)
    expected = (store.record_aggregates(), store.transition_aggregates())
    engine.close()
    _downgrade(path)
    # A copy that may not convert it counts from the records themselves.
    reader = place.open(mode="read")
    assert rounded(reader.record_aggregates()) == rounded(expected[0])
    assert reader.transition_aggregates() == expected[1]
    reader.close()
    # The owner converts it; the records already there are folded in when first asked for, after new ones came.
    store = place.open(batch=5)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        assert db.execute("SELECT v FROM meta WHERE k = 'aggregates_backlog'").fetchone() != ("0 0",)
    db.close()
    engine = Engine(bundle_files, store)
    for event in events[100:]:
        engine.process(event)
    engine.advance("2026-06-01T00:00:00Z")
    check_store(store)
    engine.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT v FROM meta WHERE k = 'aggregates_backlog'").fetchone() == ("0 0",)
    db.close()
    check_store(place.open(mode="read"))


@pytest.mark.parametrize("place", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE agg_records SET n = 'many'", "table agg_records holds a row"),
        ("UPDATE agg_steps SET reach = x'00'", "table agg_steps holds a row"),
        ("UPDATE meta SET v = 'lots' WHERE k = 'aggregates_backlog'", "holds an aggregates backlog 'lots'"),
    ],
)
def test_damaged_aggregate_tables_are_refused(place: Place, statement: str, message: str) -> None:
    store = place.open()
    store.log_actions([{"kind": "enter", "journey": "j", "version": 1}])
    store.log_transitions([("j", 1, "c1", "c1/j/1", None, "a", 1.0, None)])
    store.end_unit()
    store.close()
    with sqlite3.connect(place.url.removeprefix("sqlite:///")) as db:
        db.execute(statement)
    db.close()
    store = place.open()
    with pytest.raises(StoreError, match=message):
        store.record_aggregates()
        store.transition_aggregates()
