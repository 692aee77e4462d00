"""The store contract (runtime/store.py), one suite over every store: memory://, sqlite:/// and postgresql://.

Each test talks to a store only through the Store interface, so a store that passes them is one the engine can
run on: customers loaded and saved, scanned and counted; timers popped in (due, id) order; seen ids; the clock
and everything else kept across a reopen (durable stores); `batch` units per commit and `abandon` dropping the
uncommitted ones; the outbox handed to `run` and claimed and settled by delivery workers; in-flight versions.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from journeydsl.runtime import state as S
from journeydsl.runtime.store import Store, StoreError
from journeydsl.runtime.store_memory import MemoryStore
from journeydsl.runtime.stores import open_store

KINDS = ["memory", "sqlite", "postgresql"]
DURABLE = ["sqlite", "postgresql"]

Opener = Callable[..., Store]


class Stores:
    """Opens the stores of one test: every open of one `Stores` reaches the same place (a SQLite file, a
    PostgreSQL schema of its own), and everything opened is closed (abandoned) at the end."""

    def __init__(self, kind: str, tmp_path: Path, postgres_url: str | None) -> None:
        self.kind = kind
        self.opened: list[Store] = []
        self.memory: MemoryStore | None = None
        if kind == "sqlite":
            self.url = f"sqlite:///{tmp_path / 'contract.db'}"
        elif kind == "postgresql":
            assert postgres_url is not None
            self.schema = f"contract_{uuid.uuid4().hex[:12]}"
            self.admin_url = postgres_url
            self.url = f"{postgres_url}?schema={self.schema}"
        else:
            self.url = "memory://"

    def open(self, batch: int | None = None, mode: Any = "write") -> Store:
        if self.kind == "memory":  # one store object stands for "the same place" across reopens
            if self.memory is None:
                self.memory = MemoryStore()
            return self.memory
        store = open_store(self.url, batch=batch, mode=mode)
        self.opened.append(store)
        return store

    def reopen(self, store: Store, batch: int | None = None, mode: Any = "write") -> Store:
        store.close()
        return self.open(batch=batch, mode=mode)

    def finish(self) -> None:
        for store in self.opened:
            try:
                store.abandon()
            except Exception:
                pass
        if self.kind == "postgresql":
            with psycopg.connect(self.admin_url, autocommit=True) as connection:
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))


@pytest.fixture
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    kind: str = request.param
    url = request.getfixturevalue("postgres_url") if kind == "postgresql" else None
    made = Stores(kind, tmp_path, url)
    try:
        yield made
    finally:
        made.finish()


def customer(*instances: tuple[str, int, int], email: str = "a@x", caps: float | None = None) -> dict[str, Any]:
    """A customer state: one instance per (journey, version, active), keyed by journey and position."""
    found: dict[str, Any] = {}
    for number, (journey, version, active) in enumerate(instances):
        inst = S.new_instance(journey, version, None, number + 1, {"at": 1000.0, "type": "start", "data": {"n": 1}})
        inst[S.ACTIVE] = active
        inst[S.STEP] = 2
        found[f"{journey}#{number}"] = inst
    return {"p": {"email": email}, "i": found, "c": {} if caps is None else {"email": [caps]}}


def record(n: int) -> dict[str, Any]:
    return {"kind": "send", "key": f"c{n}/j/1:hello:{n}", "channel": "email", "data": {"n": n, "text": "é\n"}}


# ---------------------------------------------------------------------------------------------- customers


@pytest.mark.parametrize("stores", KINDS, indirect=True)
def test_load_save_scan_and_count(stores: Stores) -> None:
    store = stores.open()
    assert store.load("nobody") is None
    assert store.customer_count() == 0
    alice = customer(("j", 1, 1), caps=5.5)
    store.save("alice", alice, None, True)
    store.save("bob", customer(("j", 2, 0), email="b@x"), 50.0, True)
    assert store.load("alice") == alice
    assert store.customer_count() == 2
    store.end_unit()
    store.flush()
    store.save("carol", customer(), None, True)  # pending, not committed
    assert store.customer_count() == 3
    assert dict(store.scan()) == {"alice": alice, "bob": customer(("j", 2, 0), email="b@x"), "carol": customer()}
    loaded = store.load("alice")
    assert loaded is not None
    loaded["p"]["email"] = "new@x"  # the engine changes the dict in place, then saves it
    store.save("alice", loaded, None, True)
    store.end_unit()
    if stores.kind != "memory":
        store = stores.reopen(store)
    again = store.load("alice")
    assert again is not None and again["p"] == {"email": "new@x"} and again["c"] == {"email": [5.5]}
    assert again["i"] == alice["i"]
    assert store.customer_count() == 3
    assert sorted(cid for cid, _ in store.scan()) == ["alice", "bob", "carol"]


@pytest.mark.parametrize("stores", KINDS, indirect=True)
def test_a_state_saved_without_its_profile_keeps_the_profile(stores: Stores) -> None:
    store = stores.open()
    store.save("c", customer(email="first@x"), None, True)
    store.end_unit()
    store.flush()
    loaded = store.load("c")
    assert loaded is not None
    loaded["i"] = customer(("j", 1, 1))["i"]
    store.save("c", loaded, 10.0, False)
    store.end_unit()
    store.flush()
    if stores.kind != "memory":
        store = stores.reopen(store)
    found = store.load("c")
    assert found is not None and found["p"] == {"email": "first@x"} and len(found["i"]) == 1


@pytest.mark.parametrize("stores", KINDS, indirect=True)
def test_in_flight_versions_counts_active_instances(stores: Stores) -> None:
    store = stores.open()
    store.save("a", customer(("j", 1, 1), ("k", 2, 1)), None, True)
    store.save("b", customer(("j", 1, 1), ("j", 2, 0)), None, True)
    store.end_unit()
    store.flush()
    store.save("c", customer(("j", 2, 1)), None, True)  # pending
    assert store.in_flight_versions() == {("j", 1): 2, ("k", 2): 1, ("j", 2): 1}
    store.save("a", customer(("k", 2, 0)), None, True)  # a pending change overrides the committed row
    assert store.in_flight_versions() == {("j", 1): 1, ("j", 2): 1}
    store.end_unit()
    store.flush()
    assert store.in_flight_versions() == {("j", 1): 1, ("j", 2): 1}


# ---------------------------------------------------------------------------------------------- timers


@pytest.mark.parametrize("stores", KINDS, indirect=True)
def test_pop_due_in_due_then_id_order(stores: Stores) -> None:
    store = stores.open()
    for cid, due in [("b", 20.0), ("a", 20.0), ("c", 10.0), ("d", None), ("é", 20.0), ("Z", 20.0), ("e", 99.0)]:
        store.save(cid, customer(), due, True)
    store.end_unit()
    store.flush()
    store.save("f", customer(), 15.0, True)  # pending, due between committed ones
    store.save("c", customer(), 30.0, True)  # pending, overrides its committed 10.0
    popped = []
    while (found := store.pop_due(50.0)) is not None:
        popped.append(found)
    assert popped == [(15.0, "f"), (20.0, "Z"), (20.0, "a"), (20.0, "b"), (20.0, "é"), (30.0, "c")]
    assert store.pop_due(50.0) is None  # popped customers have no timer until saved
    store.save("a", customer(), 40.0, True)
    assert store.pop_due(39.0) is None
    assert store.pop_due(40.0) == (40.0, "a")
    store.end_unit()
    if stores.kind != "memory":  # committed: the popped ones stay without a timer
        store = stores.reopen(store)
    assert store.pop_due(98.0) is None
    assert store.pop_due(1000.0) == (99.0, "e")


@pytest.mark.parametrize("stores", KINDS, indirect=True)
def test_pop_due_pages_through_many_timers(stores: Stores) -> None:
    store = stores.open(batch=1000)
    for n in range(700):
        store.save(f"c{n:04d}", customer(), float(n // 3), True)
    store.flush()
    # saved while pages are open: one before the page read, one inside it, one far after it
    order = []
    for step in range(700):
        found = store.pop_due(1e9)
        assert found is not None
        order.append(found)
        if step == 10:
            store.save("late", customer(), 500.5, True)
            store.save("c0699", customer(), 0.5, True)  # now due before everything left
            store.save("c0001", customer(), 150.0, True)  # popped already: due again
    rest = []
    while (found := store.pop_due(1e9)) is not None:
        rest.append(found)
    popped = order + rest
    assert popped[:11] == sorted(popped[:11]) and popped[11:] == sorted(popped[11:])
    assert popped[11] == (0.5, "c0699") and (233.0, "c0699") not in popped
    assert (150.0, "c0001") in popped and (500.5, "late") in popped
    assert len(popped) == 702 and len({cid for _, cid in popped}) == 701


# ---------------------------------------------------------------------------------------------- seen, clock


@pytest.mark.parametrize("stores", KINDS, indirect=True)
def test_seen_ids_and_the_clock_persist(stores: Stores) -> None:
    store = stores.open()
    assert store.clock is None
    assert not store.seen_before("e1")
    store.add_seen("e1", 100.0)
    assert store.seen_before("e1")  # pending
    store.clock = 100.0
    store.end_unit()
    assert store.seen_before("e1")
    if stores.kind != "memory":
        store = stores.reopen(store)
    assert store.seen_before("e1") and not store.seen_before("e2")
    assert store.clock == 100.0


# ---------------------------------------------------------------------------------------------- commits


@pytest.mark.parametrize("stores", DURABLE, indirect=True)
def test_batch_commits_and_abandon_drops_the_rest(stores: Stores) -> None:
    store = stores.open(batch=3)

    def unit(n: int) -> None:
        store.save(f"c{n}", customer(("j", 1, 1)), 10.0 + n, True)
        store.add_seen(f"e{n}", 10.0 + n)
        store.log_actions([record(n)])
        store.clock = 10.0 + n
        store.end_unit()

    for n in range(5):  # units 0-2 commit together; 3 and 4 are pending
        unit(n)
    store.abandon()
    store = stores.open(batch=3)
    assert [store.seen_before(f"e{n}") for n in range(5)] == [True, True, True, False, False]
    assert store.load("c2") is not None and store.load("c3") is None
    assert store.clock == 12.0
    assert [r["key"] for r in store.take_deliverable()] == [record(n)["key"] for n in range(3)]
    assert store.pop_due(100.0) == (10.0, "c0")
    assert [r["key"] for r in store.actions()] == [record(n)["key"] for n in range(3)]


@pytest.mark.parametrize("stores", DURABLE, indirect=True)
def test_take_deliverable_hands_out_committed_records_once(stores: Stores) -> None:
    store = stores.open(batch=2)
    store.log_actions([record(1)])
    store.end_unit()
    assert store.take_deliverable() == []  # not committed yet
    store.log_actions([record(2), record(3)])
    store.end_unit()
    records, lines = store.take_deliverable_lines()
    assert records == [record(1), record(2), record(3)]
    assert lines.decode().splitlines() == [
        f'{{"kind":"send","key":"c{n}/j/1:hello:{n}","channel":"email","data":{{"n":{n},"text":"é\\n"}}}}'
        for n in (1, 2, 3)
    ]
    assert store.take_deliverable() == []
    store.log_actions([record(4)])
    store.end_unit()
    store.abandon()  # the mark for 1-3 was never committed: they are handed out again
    store = stores.open()
    assert store.take_deliverable() == [record(1), record(2), record(3)]
    store = stores.reopen(store)  # close commits the mark
    assert store.take_deliverable() == []


# ---------------------------------------------------------------------------------------------- outbox


@pytest.mark.parametrize("stores", KINDS, indirect=True)
def test_outbox_claim_and_settle(stores: Stores) -> None:
    store = stores.open()
    store.log_actions([record(n) for n in range(1, 6)])
    store.end_unit()
    store.flush()
    first = store.claim_outbox(2, lease=30.0)
    assert [(item.record, item.attempts) for item in first] == [(record(1), 0), (record(2), 0)]
    assert first[0].seq < first[1].seq
    second = store.claim_outbox(10, lease=30.0)  # the first two are leased
    assert [item.record for item in second] == [record(3), record(4), record(5)]
    assert store.claim_outbox(10, lease=30.0) == []
    seq = {item.record["key"]: item.seq for item in first + second}
    store.outbox_delivered([seq[record(1)["key"]], seq[record(3)["key"]]])
    store.outbox_retry(seq[record(2)["key"]], 1, time.time() + 3600, "503 from the sink")
    store.outbox_retry(seq[record(4)["key"]], 2, 0.0, "timeout")
    store.outbox_dead(seq[record(5)["key"]], 7, "400 from the sink")
    again = store.claim_outbox(10, lease=30.0)
    assert [(item.record, item.attempts) for item in again] == [(record(4), 2)]  # 2 waits, 1/3 done, 5 dead
    dead = store.dead_deliveries()
    assert [(d.record, d.attempts, d.error) for d in dead] == [(record(5), 7, "400 from the sink")]
    # a lease that ran out makes the row claimable again
    store.outbox_retry(seq[record(4)["key"]], 3, 0.0, "timeout")
    assert [item.attempts for item in store.claim_outbox(10, lease=0.0)] == [3]
    time.sleep(0.01)
    assert [item.record for item in store.claim_outbox(10, lease=30.0)] == [record(4)]


# ---------------------------------------------------------------------------------------------- pop_due property


_CUSTOMERS = ["a", "b", "c", "d", "e", "f"]
_operation = st.one_of(
    st.tuples(st.just("save"), st.sampled_from(_CUSTOMERS), st.one_of(st.none(), st.integers(0, 8).map(float))),
    st.tuples(st.just("pop"), st.integers(0, 9).map(float)),
    st.tuples(st.just("commit")),
    st.tuples(st.just("reopen")),
)
_counter = itertools.count()


@pytest.mark.parametrize("stores", DURABLE, indirect=True)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(_operation, max_size=40), batch=st.sampled_from([1, 3, 1000]))
def test_pop_due_agrees_with_memory(stores: Stores, operations: list[tuple[Any, ...]], batch: int) -> None:
    """Random saves, pops, commits and reopens: the store pops exactly what memory:// pops."""
    model = MemoryStore()
    # A fresh place per example: a new file, or a new schema (dropped with the others at the end).
    if stores.kind == "sqlite":
        stores.url = stores.url.rsplit("/", 1)[0] + f"/prop{next(_counter)}.db"
    else:
        stores.schema = f"contract_{uuid.uuid4().hex[:12]}"
        stores.url = f"{stores.admin_url}?schema={stores.schema}"
    store = stores.open(batch=batch)
    try:
        for operation in operations:
            if operation[0] == "save":
                _, cid, due = operation
                model.save(cid, customer(), due, False)
                store.save(cid, customer(), due, False)
                store.end_unit()
            elif operation[0] == "pop":
                assert store.pop_due(operation[1]) == model.pop_due(operation[1]), operation
            elif operation[0] == "commit":
                store.flush()
            else:
                store = stores.reopen(store, batch=batch)
        while (found := model.pop_due(100.0)) is not None:
            assert store.pop_due(100.0) == found
        assert store.pop_due(100.0) is None
    finally:
        store.abandon()
        if stores.kind == "postgresql":
            with psycopg.connect(stores.admin_url, autocommit=True) as connection:
                connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(stores.schema)))


def test_the_suite_covers_every_store_scheme() -> None:
    from journeydsl.runtime.stores import STORE_MODULES

    assert set(STORE_MODULES) <= {"memory", "sqlite", "postgresql", "postgres"}


def test_an_unknown_store_error_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        open_store("postgresql://nobody@127.0.0.1:1/x?nonsense=1")
