"""Stores: memory:// and sqlite:// give the same records and transitions; SQLite commits in batches, keeps
timers across a reopen, and an uncommitted batch is simply redone."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from runtime_support import build_bundle

from journeydsl.runtime import Engine, MemoryStore, SqliteStore, StoreError, open_store
from journeydsl.runtime.jsonio import dumps, dumps_lines, loads
from journeydsl.runtime.store_sqlite import SCHEMA_VERSION

JOURNEY = """
schema s {
  profile { email: string }
  event start {}
  event done {}
  channel push { cost 0 }
}
journey j {
  version 1
  owner "o@x"
  uses s
  entry on start
  stage recognize {
    step hello { send push hi -> waiting }
    step waiting { wait { on done -> fin  after 2d -> late } }
    step late { end late }
    step fin { end ok }
  }
}
"""

EVENTS = [
    {"id": f"e{n}", "type": kind, "customer_id": f"c{n % 3}", "at": f"2026-01-0{1 + n // 3}T10:00:00Z"}
    for n, kind in enumerate(["start", "start", "start", "done", "start", "done"])
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_bundle(tmp_path_factory.mktemp("bundle"), [JOURNEY])


def _run(engine: Engine, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    records = [r for event in events for r in engine.process(event)]
    return records + engine.advance("2026-02-01T00:00:00Z")


def test_memory_and_sqlite_agree(bundle: Any, tmp_path: Path) -> None:
    memory = Engine.open(bundle)
    sqlite = Engine.open(bundle, store=f"sqlite:///{tmp_path / 's.db'}", batch=4)
    assert _run(memory, EVENTS) == _run(sqlite, EVENTS)
    assert list(memory.store.actions()) == list(sqlite.store.actions())
    transitions = list(sqlite.store.transitions())
    assert transitions == list(memory.store.transitions())
    assert transitions[0] == {
        "journey": "j",
        "version": 1,
        "customer_id": "c0",
        "instance": "c0/j/1",
        "from_step": None,
        "to_step": "hello",
        "at": "2026-01-01T10:00:00Z",
        "via": "start",
    }
    assert {"timer", "done", None} <= {t["via"] for t in transitions}
    sqlite.close()
    reopened = open_store(f"sqlite:///{tmp_path / 's.db'}")
    assert list(reopened.plans()) == [("j", 1)] and reopened.plans() == memory.store.plans()
    assert list(reopened.actions()) == list(memory.store.actions())
    reopened.close()


def test_sqlite_keeps_timers_and_seen_ids_across_a_reopen(bundle: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = Engine.open(bundle, store=url)
    early = [r for event in EVENTS[:3] for r in first.process(event)]
    first.close()
    assert _due(url) == 3  # the three customers' timers, in the due index
    second = Engine.open(bundle, store=url)
    assert second.process(EVENTS[0]) == []  # seen before the reopen
    late = second.advance("2026-02-01T00:00:00Z")
    assert [r["kind"] for r in late] == ["end", "end", "end"]
    reference = _run(Engine.open(bundle), EVENTS[:3])
    assert early + late == reference
    second.close()


def test_an_uncommitted_batch_is_redone(bundle: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}?batch=100"
    crashed = Engine.open(bundle, store=url)
    for event in EVENTS:
        crashed.process(event)
    # No commit: the process "dies" here; the connection is dropped without flushing.
    assert isinstance(crashed.store, SqliteStore)
    crashed.store._db.close()
    again = Engine.open(bundle, store=url)
    assert not any(again.store.seen_before(event["id"]) for event in EVENTS)
    assert again.store.customer_count() == 0
    assert _run(again, EVENTS) == _run(Engine.open(bundle), EVENTS)
    again.close()


def _due(url: str) -> int:
    """How many customers of the store at `url` have a timer (read from a read-only copy)."""
    reader = open_store(url, mode="read")
    try:
        count = 0
        while reader.pop_due(math.inf) is not None:
            count += 1
        return count
    finally:
        reader.close()


def test_unknown_store_url() -> None:
    with pytest.raises(StoreError):
        open_store("redis://x")
    with pytest.raises(StoreError):
        open_store("sqlite:///")


# ---- the SQLite layout: customers on demand, older layouts converted, delivery of the committed lines


def _json(value: Any) -> Any:
    return loads(dumps(value))  # tuples become lists, as in a store read back


def test_sqlite_hands_out_the_committed_lines(bundle: Any, tmp_path: Path) -> None:
    engine = Engine.open(bundle, store=f"sqlite:///{tmp_path / 's.db'}", batch=2)
    store = engine.store
    assert isinstance(store, SqliteStore)
    delivered: list[dict[str, Any]] = []
    printed = b""
    for event in EVENTS:
        engine.process(event)
        records, lines = store.take_deliverable_lines()
        delivered += records
        printed += lines
        assert lines == dumps_lines(records)
    store.flush()
    delivered += store.take_deliverable()
    memory = Engine.open(bundle)
    assert delivered == [r for event in EVENTS for r in memory.process(event)]
    assert memory.store.take_deliverable_lines() == (delivered, dumps_lines(delivered))  # the base class's
    assert memory.store.take_deliverable_lines() == ([], b"")
    assert printed == dumps_lines(delivered[: len(printed.splitlines())])
    engine.close()


def test_sqlite_loads_customers_on_demand_through_a_small_cache(bundle: Any, tmp_path: Path) -> None:
    """A cache of one customer: every other customer is read back from its row, and the run is unchanged."""
    url = f"sqlite:///{tmp_path / 's.db'}?cache=1"
    memory = Engine.open(bundle)
    first = Engine.open(bundle, store=url, batch=1)
    for event in EVENTS[:4]:
        assert first.process(event) == memory.process(event)
    assert isinstance(first.store, SqliteStore) and len(first.store._cache) <= 1
    first.close()
    second = Engine.open(bundle, store=url, batch=2)
    assert dict(second.store.scan()) == _json(dict(memory.store.scan()))
    rest = [r for event in EVENTS[4:] for r in second.process(event)] + second.advance("2026-02-01T00:00:00Z")
    assert rest == [r for event in EVENTS[4:] for r in memory.process(event)] + memory.advance("2026-02-01T00:00:00Z")
    assert second.store.customer_count() == memory.store.customer_count() == 3
    second.close()
    third = open_store(url)
    assert dict(third.scan()) == _json(dict(memory.store.scan()))
    assert list(third.actions()) == list(memory.store.actions())
    assert list(third.transitions()) == list(memory.store.transitions())
    assert third.in_flight_versions() == memory.store.in_flight_versions()
    third.close()


def test_sqlite_delivers_from_a_mark_inside_a_commit(bundle: Any, tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    engine = Engine.open(bundle, store=f"sqlite:///{path}", batch=100)
    records = _run(engine, EVENTS)
    engine.close()  # one commit holds every record, none delivered
    with sqlite3.connect(path) as db:
        db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('delivered', '3')")
    reopened = open_store(f"sqlite:///{path}")
    assert isinstance(reopened, SqliteStore)
    assert reopened.take_deliverable_lines() == (records[3:], dumps_lines(records[3:]))
    reopened.close()


def test_sqlite_converts_a_store_with_one_row_per_item(bundle: Any, tmp_path: Path) -> None:
    """A file in the layout before the per-commit rows (as the store wrote it until then) opens as it was."""
    memory = Engine.open(bundle)
    early = [r for event in EVENTS[:3] for r in memory.process(event)]
    assert isinstance(memory.store, MemoryStore)
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
            CREATE TABLE customers (id TEXT PRIMARY KEY, state BLOB NOT NULL);
            CREATE TABLE profiles (id TEXT PRIMARY KEY, profile BLOB NOT NULL);
            CREATE TABLE seen (id TEXT PRIMARY KEY) WITHOUT ROWID;
            CREATE TABLE outbox (seq INTEGER PRIMARY KEY, record BLOB NOT NULL);
            CREATE TABLE transitions (
              seq INTEGER PRIMARY KEY, journey TEXT NOT NULL, version INTEGER NOT NULL, customer_id TEXT NOT NULL,
              instance TEXT NOT NULL, from_step TEXT, to_step TEXT NOT NULL, at REAL NOT NULL, via TEXT);
            """
        )
        customers = memory.store.customers
        db.executemany(
            "INSERT INTO customers VALUES (?, ?)",
            [(c, dumps({"i": s["i"], "c": s["c"]})) for c, s in customers.items()],
        )
        db.executemany("INSERT INTO profiles VALUES (?, ?)", [(c, dumps(s["p"])) for c, s in customers.items()])
        db.executemany("INSERT INTO seen VALUES (?)", [(i,) for i in memory.store.seen])
        db.executemany("INSERT INTO outbox VALUES (?, ?)", [(n, dumps(r)) for n, r in enumerate(early, start=1)])
        db.executemany(
            "INSERT INTO transitions (journey, version, customer_id, instance, from_step, to_step, at, via)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            memory.store._transitions,
        )
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("delivered", "1"), ("clock", repr(memory.store.clock))])
    engine = Engine.open(bundle, store=f"sqlite:///{path}")
    store = engine.store
    assert isinstance(store, SqliteStore)
    tables = {row[0] for row in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"profiles", "transitions"}
    columns = [row[1] for row in store._db.execute("PRAGMA table_info(customers)")]
    assert columns == ["id", "state", "profile", "due"]
    assert store._db.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    assert store.take_deliverable() == early[1:]
    assert memory.store.seen and all(store.seen_before(event_id) for event_id in memory.store.seen)
    assert dict(store.scan()) == _json(customers)
    assert list(store.transitions()) == list(memory.store.transitions())
    rest = [r for event in EVENTS[3:] for r in engine.process(event)] + engine.advance("2026-02-01T00:00:00Z")
    assert rest == [r for event in EVENTS[3:] for r in memory.process(event)] + memory.advance("2026-02-01T00:00:00Z")
    assert list(store.actions()) == list(memory.store.actions())
    engine.close()


def test_sqlite_refuses_a_database_that_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO customers (name) VALUES ('Ada')")
    with pytest.raises(StoreError, match="not a journeydsl store"):
        open_store(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:  # left as it was: nothing converted or dropped
        assert db.execute("SELECT name FROM customers").fetchall() == [("Ada",)]


def test_sqlite_refuses_a_customer_whose_state_is_not_json(bundle: Any, tmp_path: Path) -> None:
    """A damaged row is found when its customer is loaded: a StoreError naming the table and the customer."""
    path = tmp_path / "s.db"
    engine = Engine.open(bundle, store=f"sqlite:///{path}")
    _run(engine, EVENTS)
    engine.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE customers SET state = ? WHERE id = 'c1'", (b"not json",))
    db.close()
    store = open_store(f"sqlite:///{path}")
    assert store.load("c0") is not None  # the others are sound
    message = f"cannot read SQLite store {path}: customers row 'c1' is not JSON"
    with pytest.raises(StoreError, match=message):
        store.load("c1")
    with pytest.raises(StoreError, match=message):  # counting instances in SQL finds it too, and names it
        store.in_flight_versions()
    store.close()
    with pytest.raises(StoreError, match=message):  # the engine counts them on open
        Engine.open(bundle, store=f"sqlite:///{path}")
