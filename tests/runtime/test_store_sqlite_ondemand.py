"""The SQLite store loads customers on demand (issue 15, item 2): timers from an index by due time, a bounded
cache, seen ids with a retention window, delivery workers beside the owner, and older layouts converted on open
without losing anything."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.runtime import MemoryStore, SqliteStore, Store, StoreError, open_store, store_sqlite
from journeydsl.runtime.store import OpenMode
from journeydsl.runtime.store_sqlite import DeliveryStore

# A state with one active instance of j v1 whose timer is `due` (or none).
INSTANCE = ["j", 1, None, 1, 1, 0, 1.0, None, 2, None, None, None, None, 1.0]


def customer(due: float | None = None, journey: str = "j", active: int = 1) -> dict[str, Any]:
    inst = list(INSTANCE)
    inst[0], inst[4], inst[7] = journey, active, due
    return {"p": {"email": "x@y"}, "i": {journey: inst}, "c": {}}


# ---- pop_due against the memory store

IDS = st.sampled_from(["a", "b", "c", "d", "e", "Z", "é", "a2"])
DUES = st.none() | st.sampled_from([1.0, 2.0, 2.5, 3.0, 10.0, 11.0])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("save"), IDS, DUES),
        st.tuples(st.just("pop"), st.sampled_from([0.5, 2.0, 3.0, 10.0, 100.0])),
        st.tuples(st.just("commit")),
        st.tuples(st.just("reopen")),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(ops=OPS, page=st.sampled_from([1, 2, 3, 512]))
def test_pop_due_agrees_with_the_memory_store(ops: list[tuple[Any, ...]], page: int) -> None:
    """Random saves, pops, commits and reopens: the same customers come out in the same (due, id) order; a small
    page makes the reads of the due index and the merge with pending saves happen at every step."""
    saved_page = store_sqlite.PAGE
    store_sqlite.PAGE = page
    try:
        with tempfile_dir() as folder:
            url = f"sqlite:///{folder}/s.db?batch=1000"
            memory = MemoryStore()
            sqlite = open_store(url)
            for op in ops:
                if op[0] == "save":
                    memory.save(op[1], customer(op[2]), op[2], False)
                    sqlite.save(op[1], customer(op[2]), op[2], False)
                elif op[0] == "pop":
                    assert sqlite.pop_due(op[1]) == memory.pop_due(op[1])
                elif op[0] == "commit":
                    sqlite.flush()
                else:
                    sqlite.close()
                    sqlite = open_store(url)
            while (found := memory.pop_due(math.inf)) is not None:
                assert sqlite.pop_due(math.inf) == found
            assert sqlite.pop_due(math.inf) is None
            sqlite.close()
    finally:
        store_sqlite.PAGE = saved_page


class tempfile_dir:  # noqa: N801 - a context manager named as the function it stands for
    """tempfile.TemporaryDirectory as a path (hypothesis runs many examples in one test: no tmp_path)."""

    def __enter__(self) -> Path:
        import tempfile

        self._folder = tempfile.TemporaryDirectory()
        return Path(self._folder.name)

    def __exit__(self, *exc: object) -> None:
        self._folder.cleanup()


def test_a_timer_saved_inside_the_open_page_comes_out_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_sqlite, "PAGE", 2)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    for n, cid in enumerate("abcdef"):
        store.save(cid, customer(float(10 + n)), float(10 + n), True)
    store.flush()
    assert store.pop_due(10.0) == (10.0, "a")  # the page now holds b (11); its cursor is at (11, b)
    store.save("z", customer(10.5), 10.5, True)  # inside the page, committed before the next pop
    store.save("c", customer(None), None, False)  # c loses its timer
    store.flush()
    assert [store.pop_due(100.0) for _ in range(5)] == [(10.5, "z"), (11.0, "b"), (13.0, "d"), (14.0, "e"), (15.0, "f")]
    assert store.pop_due(100.0) is None
    store.close()


# ---- loading, the cache, counting


def test_customers_are_read_on_demand_through_a_bounded_cache(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}?cache=5&batch=50"
    store = open_store(url)
    assert isinstance(store, SqliteStore)
    for n in range(200):
        store.save(f"c{n}", customer(float(n) if n % 2 else None), float(n) if n % 2 else None, True)
        store.end_unit()
    assert store.customer_count() == 200  # 150 committed, 50 pending
    store.flush()
    assert len(store._cache) == 5
    for n in range(200):
        loaded = store.load(f"c{n}")
        assert loaded == {**customer(float(n) if n % 2 else None), "p": {"email": "x@y"}}
        assert len(store._cache) <= 5
    assert store.load("nobody") is None
    loaded = store.load("c7")
    assert loaded is store.load("c7")  # the cached dict: the engine changes it in place, then saves it
    store.close()
    again = open_store(url)
    assert again.customer_count() == 200 and sum(1 for _ in again.scan()) == 200
    again.close()


def test_in_flight_versions_are_counted_in_sql_as_the_scan_counts_them(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}?batch=1000")
    for n in range(30):
        store.save(f"c{n}", customer(None, journey=f"j{n % 3}", active=int(n % 4 != 0)), None, True)
        if n == 19:
            store.flush()  # ten stay pending
    expected = Store.in_flight_versions(store)  # the base class's scan
    assert store.in_flight_versions() == expected and sum(expected.values()) == 22
    store.flush()
    assert store.in_flight_versions() == expected
    store.close()


# ---- seen ids


def test_seen_ids_are_forgotten_after_the_retention_window(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}?seen_retention=1h"
    store = open_store(url)
    store.add_seen("old", 0.0)
    store.add_seen("recent", 3000.0)
    store.clock = 3000.0
    store.flush()
    assert store.seen_before("old") and store.seen_before("recent") and not store.seen_before("other")
    store.clock = 3600.0 + 1000.0  # "old" is now more than an hour before the clock
    store.add_seen("new", 4600.0)
    store.flush()
    assert not store.seen_before("old") and store.seen_before("recent") and store.seen_before("new")
    store.close()
    default = open_store(f"sqlite:///{tmp_path / 's.db'}")  # 30 days: nothing more is forgotten
    default.clock = 30 * 86_400.0
    default.add_seen("x", 30 * 86_400.0)
    default.flush()
    assert default.seen_before("recent") and default.seen_before("new")
    default.close()


# ---- delivery workers


def _records(store: Store, count: int) -> None:
    store.log_actions([{"kind": "send", "key": f"k{n}", "n": n} for n in range(count)])
    store.flush()


def test_a_delivery_worker_beside_the_owner(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(StoreError, match="no store at"):
        open_store(url, mode="deliver")
    owner = open_store(url, mode="write")
    _records(owner, 5)
    worker = open_store(url, mode="deliver")  # no lock taken: the owner holds it
    assert isinstance(worker, DeliveryStore)
    claimed = worker.claim_outbox(3, lease=60.0)
    assert [item.record["n"] for item in claimed] == [0, 1, 2] and all(item.attempts == 0 for item in claimed)
    assert [item.record["n"] for item in owner.claim_outbox(10, lease=60.0)] == [3, 4]  # the owner's own claims
    assert worker.claim_outbox(10, lease=60.0) == []  # all leased
    worker.outbox_delivered([claimed[0].seq])
    worker.outbox_retry(claimed[1].seq, 1, 0.0, "503")
    worker.outbox_dead(claimed[2].seq, 5, "400 bad request")
    worker.close()
    worker = open_store(url, mode="deliver")
    assert [(item.record["n"], item.attempts) for item in worker.claim_outbox(10, lease=0.0)] == [(1, 1)]
    (dead,) = worker.dead_deliveries()
    assert (dead.record["n"], dead.attempts, dead.error) == (2, 5, "400 bad request")
    for refused in (
        lambda: worker.load("c1"),
        lambda: worker.save("c1", customer(), None, True),
        lambda: worker.pop_due(1.0),
        lambda: worker.seen_before("e1"),
        lambda: worker.take_deliverable(),
        lambda: list(worker.actions()),
    ):
        with pytest.raises(StoreError, match="opened for delivery only"):
            refused()
    with pytest.raises(StoreError, match="claim_outbox: limit must be a whole number from 1, not 0"):
        worker.claim_outbox(0, 1.0)
    with pytest.raises(StoreError, match="claim_outbox: lease must be a number of seconds from 0, not -1.0"):
        worker.claim_outbox(1, -1.0)
    worker.close()
    owner.close()
    reader = open_store(url, mode="read")
    with pytest.raises(StoreError, match="opened read-only: this copy cannot claim"):
        reader.claim_outbox(1, 1.0)
    reader.close()


def test_workers_never_claim_the_same_record(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    owner = open_store(url, mode="write")
    _records(owner, 300)
    taken: list[list[int]] = [[], [], []]

    def work(mine: list[int]) -> None:
        worker = open_store(url, mode="deliver")
        while items := worker.claim_outbox(7, lease=600.0):
            mine += [item.seq for item in items]
            worker.outbox_delivered([item.seq for item in items])
        worker.close()

    threads = [threading.Thread(target=work, args=(mine,)) for mine in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = [seq for mine in taken for seq in mine]
    assert sorted(everything) == list(range(1, 301))  # each once
    assert owner.claim_outbox(10, lease=1.0) == []
    owner.close()


def test_a_delivery_worker_refuses_an_older_layout(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_store(path)
    with pytest.raises(StoreError, match="not in the current layout"):
        open_store(f"sqlite:///{path}", mode="deliver")


# ---- a store written by the previous journeydsl (the log layout) converts without loss

OLD_COMMIT = "d72a2a2"  # the last commit whose store_sqlite.py wrote the log layout


def _old_module() -> ModuleType:
    root = Path(__file__).resolve().parents[2]
    try:
        source = subprocess.run(
            ["git", "show", f"{OLD_COMMIT}:src/journeydsl/runtime/store_sqlite.py"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip(f"needs the repository's history (git show {OLD_COMMIT})")
    spec = importlib.util.spec_from_loader("old_store_sqlite", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    # Not registered for sqlite: URLs (today's store keeps the scheme), and opened by hand instead.
    code = source.decode().replace('schemes = ("sqlite",)', "schemes = ()")
    # Its day's class attribute `durable` is an instance attribute today (set in `init` below).
    code = code.replace("    durable = True\n", "", 1)
    exec(compile(code, f"{OLD_COMMIT}:store_sqlite.py", "exec"), module.__dict__)  # noqa: S102
    old = module.SqliteStore
    # It implements the interface of its day, not today's abstract methods (only its own are used here), and its
    # base class of the day made the dicts it reads the store into.
    old.__abstractmethods__ = frozenset()
    base_init = old.__init__

    def init(self: Any, path: str) -> None:
        self.customers, self.seen = {}, set()
        base_init(self, path)
        self.durable = True

    old.__init__ = init
    return module


OLD_CUSTOMERS = {
    "c0": customer(None, active=0),
    "c1": customer(50.0),
    "c2": {"p": {}, "i": {"j|k": ["j", 1, "k", 1, 1, 0, 1.0, 20.0, 2, None, None, None, None]}, "c": {"j|p": [1.0]}},
}


def _old_store(path: Path) -> list[dict[str, Any]]:
    """A store at `path` written by the old code over three commits; the records it holds."""
    old = _old_module()
    store = old.SqliteStore(str(path))
    records = [{"kind": "send", "key": f"k{n}", "customer_id": f"c{n % 3}"} for n in range(5)]
    store.record_plans({("j", 1): {"journey": "j", "version": 1, "steps": []}})
    for n, (cid, state) in enumerate(OLD_CUSTOMERS.items()):
        store.customers[cid] = {"p": dict(state["p"]), "i": state["i"], "c": state["c"]}
        store.touch(cid)
        store.touch_profile(cid)
        store.add_seen(f"e{n}")
        store.log_event({"id": f"e{n}", "type": "start", "customer_id": cid, "at": 1.0})
        store.log_transitions([("j", 1, cid, f"{cid}/j/1", None, "hello", 1.0, "start")])
        store.clock = float(n + 1)
        store.flush()
    store.log_actions(records)
    store.flush()
    store.take_deliverable()  # `run` printed them all ...
    store.log_actions([{"kind": "exit", "key": "k5"}])  # ... and this one was committed, not printed
    store.flush()
    store._db.close()  # as a crash leaves it: the delivered mark went with the last commit
    return [*records, {"kind": "exit", "key": "k5"}]


def test_a_store_in_the_log_layout_converts_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    records = _old_store(path)
    store = open_store(f"sqlite:///{path}")
    assert isinstance(store, SqliteStore)
    tables = {row[0] for row in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"customer_log", "seen_batches", "outbox_batches"}
    assert dict(store.scan()) == OLD_CUSTOMERS
    assert all(store.seen_before(f"e{n}") for n in range(3)) and not store.seen_before("e3")
    assert store.clock == 3.0 and store.plans() == {("j", 1): {"journey": "j", "version": 1, "steps": []}}
    assert list(store.actions()) == records
    assert store.take_deliverable() == records[5:]  # only what `run` had not printed
    assert [e["id"] for e in store.events()] == ["e0", "e1", "e2"]
    assert [t["customer_id"] for t in store.transitions()] == ["c0", "c1", "c2"]
    assert store.pop_due(100.0) == (20.0, "c2") and store.pop_due(100.0) == (50.0, "c1")
    assert store.pop_due(100.0) is None
    assert store.in_flight_versions() == {("j", 1): 2}
    store.close()
    again = open_store(f"sqlite:///{path}", mode="read")  # converted once: a read-only copy opens it now
    assert dict(again.scan()) == OLD_CUSTOMERS and list(again.actions()) == records
    again.close()


def test_a_read_only_copy_refuses_an_older_layout(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_store(path)
    with pytest.raises(StoreError, match="layout of an older journeydsl, which only its owner converts"):
        open_store(f"sqlite:///{path}", mode="read")


def test_a_store_from_a_newer_journeydsl_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    open_store(url).close()
    import sqlite3

    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("UPDATE meta SET v = '6' WHERE k = 'schema_version'")
    db.close()
    modes: list[OpenMode] = ["auto", "read", "deliver"]
    for mode in modes:
        with pytest.raises(StoreError, match="schema version 6, and this journeydsl reads version 5"):
            open_store(url, mode=mode)


# ---- far more customers than the cache


def test_many_customers_stay_on_disk(tmp_path: Path) -> None:
    """100,000 customers, their timers popped in order, all scanned and counted, while the store holds at most its
    cache of 1,000 in memory: Python allocations stay far below the customers' decoded size (about 90 MB)."""
    import tracemalloc

    url = f"sqlite:///{tmp_path / 's.db'}?batch=10000&cache=1000"
    count = 100_000
    writer = open_store(url)
    for n in range(count):
        due = float((n * 7919) % count)  # every due time once, in scattered order
        writer.save(f"c{n:06d}", customer(due), due, True)
        writer.end_unit()
    writer.close()
    tracemalloc.start()
    try:
        store = open_store(url)
        previous = (-1.0, "")
        for _ in range(count):
            found = store.pop_due(math.inf)
            assert found is not None and found > previous
            previous = found
            if found[0] % 1000 == 0:  # a customer is saved again now and then, with a later timer
                state = store.load(found[1])
                assert state is not None
                store.save(found[1], state, found[0] + count, False)
            store.end_unit()
        assert store.customer_count() == count and sum(1 for _ in store.scan()) == count
        assert store.in_flight_versions() == {("j", 1): count}
        _, peak = tracemalloc.get_traced_memory()
        store.close()
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20, f"peak {peak / 1e6:.1f} MB"  # measured: 1.5 MB
