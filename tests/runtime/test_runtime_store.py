"""Stores: memory:// and sqlite:// give the same records and transitions; SQLite commits in batches, keeps
timers across a reopen, and an uncommitted batch is simply redone."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from runtime_support import build_bundle

from journeydsl.runtime import Engine, SqliteStore, StoreError, open_store, store_sqlite
from journeydsl.runtime.jsonio import dumps, dumps_lines, loads

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
    second = Engine.open(bundle, store=url)
    assert second.pending_timers() == 3
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
    assert again.store.seen == set()
    assert _run(again, EVENTS) == _run(Engine.open(bundle), EVENTS)
    again.close()


def test_unknown_store_url() -> None:
    with pytest.raises(StoreError):
        open_store("redis://x")
    with pytest.raises(StoreError):
        open_store("sqlite:///")


# ---- the SQLite layout: one row per commit, customer log compaction, delivery of the committed lines


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


def test_sqlite_customer_log_compacts_and_reads_back(
    bundle: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No floor: a full copy as soon as the log holds more than twice the last copy (here every few commits).
    monkeypatch.setattr(store_sqlite, "COMPACT_FLOOR", 0)
    url = f"sqlite:///{tmp_path / 's.db'}"
    memory = Engine.open(bundle)
    first = Engine.open(bundle, store=url, batch=1)
    for event in EVENTS[:4]:
        assert first.process(event) == memory.process(event)
    rows = first.store._db.execute("SELECT full FROM customer_log ORDER BY n").fetchall()  # type: ignore[attr-defined]
    assert (1,) in rows and len(rows) < 4  # compacted: older rows deleted with the full copy
    first.close()
    second = Engine.open(bundle, store=url, batch=1)
    assert second.store.customers == _json(memory.store.customers)
    rest = [r for event in EVENTS[4:] for r in second.process(event)] + second.advance("2026-02-01T00:00:00Z")
    assert rest == [r for event in EVENTS[4:] for r in memory.process(event)] + memory.advance("2026-02-01T00:00:00Z")
    second.close()
    # close() left one full copy behind: the changes since the last copy outweighed it
    third = open_store(url)
    assert third._db.execute("SELECT DISTINCT full FROM customer_log").fetchall() == [(1,)]  # type: ignore[attr-defined]
    assert third.customers == _json(memory.store.customers)
    assert list(third.actions()) == list(memory.store.actions())
    assert list(third.transitions()) == list(memory.store.transitions())
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
            memory.store._transitions,  # type: ignore[attr-defined]
        )
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("delivered", "1"), ("clock", repr(memory.store.clock))])
    engine = Engine.open(bundle, store=f"sqlite:///{path}")
    store = engine.store
    assert isinstance(store, SqliteStore)
    tables = {row[0] for row in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"customers", "profiles", "seen", "outbox", "transitions"}
    assert store.take_deliverable() == early[1:]
    assert store.seen == memory.store.seen and store.customers == _json(customers)
    assert engine.pending_timers() == memory.pending_timers()
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


def test_sqlite_refuses_a_store_whose_state_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO seen_batches (ids) VALUES (?)", (b"not json",))
    with pytest.raises(StoreError, match="cannot open SQLite store"):
        open_store(f"sqlite:///{path}")
