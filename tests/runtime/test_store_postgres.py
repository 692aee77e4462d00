"""The PostgreSQL store (runtime/store_postgres.py) beyond the contract every store keeps (test_store_contract.py):
its URL, its schema version, its single-owner lock, delivery workers sharing the outbox with SKIP LOCKED, the
retention of seen ids, clear errors for a server it cannot reach and for damaged rows, the due-timer window
against memory://, a SIGKILLed `journeydsl run` losing nothing, and a million customers in a bounded memory."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from runtime_support import build_bundle
from test_runtime_crash import JOURNEY, UNTIL, _by_key, _events, cli_command

from journeydsl.compile import write_bundle
from journeydsl.runtime import state as S
from journeydsl.runtime import store_postgres as P
from journeydsl.runtime.store import StoreBusyError, StoreError
from journeydsl.runtime.store_memory import MemoryStore
from journeydsl.runtime.store_postgres import DueWindow, PostgresStore, parse_url
from journeydsl.runtime.stores import open_store
from pg_server import free_port


def _drop(admin_url: str, schema: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    """A schema of its own for one test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    _drop(postgres_url, name)


@pytest.fixture
def url(postgres_url: str, schema: str) -> str:
    return f"{postgres_url}?schema={schema}"


class Opened:
    """Stores opened by a test, abandoned at its end whatever happened (each holds connections)."""

    def __init__(self) -> None:
        self.stores: list[PostgresStore] = []

    def __call__(self, url: str, **options: Any) -> PostgresStore:
        store = open_store(url, **options)
        assert isinstance(store, PostgresStore)
        self.stores.append(store)
        return store


@pytest.fixture
def opened() -> Iterator[Opened]:
    made = Opened()
    yield made
    for store in made.stores:
        store.abandon()


def customer(step: int = 2, active: int = 1, email: str = "a@x") -> dict[str, Any]:
    inst = S.new_instance("j", 1, None, 1, {"at": 1000.0, "type": "start"})
    inst[S.STEP], inst[S.ACTIVE] = step, active
    return {"p": {"email": email}, "i": {"j": inst}, "c": {}}


def admin(postgres_url: str, schema: str) -> psycopg.Connection[Any]:
    connection = psycopg.connect(postgres_url, autocommit=True)
    connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    return connection


# ---------------------------------------------------------------------------------------------- the URL


def test_url_parameters_are_the_stores_or_libpqs() -> None:
    settings_ = parse_url(
        "postgresql://me@db.example:6543/jd?batch=50&schema=prod&cache=20&seen_retention=2w&sslmode=disable"
    )
    assert (settings_.batch, settings_.schema, settings_.cache, settings_.seen_retention) == (
        50,
        "prod",
        20,
        14 * 86400,
    )
    assert settings_.conninfo == "postgresql://me@db.example:6543/jd?sslmode=disable"
    assert settings_.display == "postgresql://me@db.example:6543/jd?schema=prod"
    default = parse_url("postgres://me@h/jd")
    assert (default.batch, default.schema, default.cache, default.seen_retention) == (
        1000,
        "public",
        10_000,
        30 * 86400,
    )
    assert default.display == "postgresql://me@h:5432/jd"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u@h/db?nonsense=1", 'invalid URI query parameter: "nonsense"'),
        ("postgresql://u@h/db?batch=2&batch=3", "batch is given twice"),
        ("postgresql://u@h/db?sslmode=disable&sslmode=require", "sslmode is given twice"),
        ("postgresql://u@h/db?batch=0", "batch must be a whole number from 1, not '0'"),
        ("postgresql://u@h/db?batch=x", "batch must be a whole number from 1"),
        ("postgresql://u@h/db?batch", r"batch needs a value"),
        ("postgresql://u@h/db?cache=-1", "cache must be a whole number from 0"),
        ("postgresql://u@h/db?schema=Bad-Name", "schema must be a lower-case name"),
        ("postgresql://u@h/db?schema=1abc", "schema must be a lower-case name"),
        ("postgresql://u@h/db?seen_retention=30", "seen_retention must be a whole number and a unit"),
        ("postgresql://u@h/db?seen_retention=0d", "seen_retention must be a whole number and a unit"),
        ("postgresql://u@h/db?seen_retention=3y", "seen_retention must be a whole number and a unit"),
        ("postgresql://u@h:notaport/db", "invalid store URL"),
        ("postgresql://u@h/db#frag", "no #fragment"),
        ("postgresq://u@h/db", "use postgresql://"),
    ],
)
def test_bad_urls_are_named(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        parse_url(url)


def test_a_password_is_never_shown() -> None:
    for url in (
        "postgresql://u:s3cr3tpw@h/db?nonsense=1",
        "postgresql://u@h/db?password=s3cr3tpw&batch=0",
        "postgresql://u:s3cr3tpw@h:bad/db",
    ):
        with pytest.raises(StoreError) as raised:
            parse_url(url)
        assert "s3cr3tpw" not in str(raised.value) and "***" in str(raised.value)
    port = free_port()
    with pytest.raises(StoreError) as raised:
        open_store(f"postgresql://u:s3cr3tpw@127.0.0.1:{port}/db")
    assert "s3cr3tpw" not in str(raised.value)


# ---------------------------------------------------------------------------------------------- connecting


def test_a_closed_port_is_a_clear_error() -> None:
    port = free_port()
    with pytest.raises(StoreError) as raised:
        open_store(f"postgresql://someone@127.0.0.1:{port}/jd")
    message = str(raised.value)
    assert message.startswith(f"cannot connect to the PostgreSQL store postgresql://someone@127.0.0.1:{port}/jd: ")
    assert "Connection refused" in message and "\n" not in message


def test_a_missing_database_and_user_are_clear_errors(postgres_url: str) -> None:
    base = postgres_url.rsplit("/", 1)[0]
    with pytest.raises(StoreError, match=r'/no_such_db: database "no_such_db" does not exist$'):
        open_store(f"{base}/no_such_db")
    host = base.split("@", 1)[1]
    with pytest.raises(StoreError, match=r'role "nobody" does not exist'):
        open_store(f"postgresql://nobody@{host}/journeydsl_test")


def test_run_on_an_unreachable_server_says_so_in_one_line(tmp_path: Path) -> None:
    bundle = write_bundle(build_bundle(tmp_path / "src", [JOURNEY]), tmp_path / "b.jbundle")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(_events(12, 1)) + "\n", encoding="utf-8")
    port = free_port()
    result = subprocess.run(
        cli_command("run", bundle, "--events", events, "--store", f"postgresql://u:pw1234@127.0.0.1:{port}/jd"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and result.stdout == ""
    assert "Traceback" not in result.stderr and "pw1234" not in result.stderr
    assert f"cannot connect to the PostgreSQL store postgresql://u@127.0.0.1:{port}/jd" in result.stderr


# ---------------------------------------------------------------------------------------------- schema


def test_the_schema_is_created_with_its_version(opened: Opened, url: str, postgres_url: str, schema: str) -> None:
    opened(url, mode="write").close()
    with admin(postgres_url, schema) as connection:
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [(P.SCHEMA_VERSION,)]
        tables = {
            row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        }
        # ids order by code point whatever the database's collation, so timer ties break as in memory://
        collation = connection.execute(
            "SELECT collation_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = 'customers' AND column_name = 'id'",
            (schema,),
        ).fetchone()
    assert collation == ("C",)
    assert tables == {
        "schema_version", "meta", "plans", "customers", "seen", "transitions", "events", "outbox", "dead_deliveries"
    }  # fmt: skip
    opened(url, mode="write").close()  # opening again changes nothing


def test_a_newer_schema_is_refused(opened: Opened, url: str, postgres_url: str, schema: str) -> None:
    opened(url, mode="write").close()
    with admin(postgres_url, schema) as connection:
        connection.execute("UPDATE schema_version SET version = %s", (P.SCHEMA_VERSION + 1,))
    for mode in ("write", "read", "deliver"):
        with pytest.raises(StoreError, match=f"its schema is version {P.SCHEMA_VERSION + 1}, newer than"):
            opened(url, mode=mode)


def test_an_older_schema_is_migrated(opened: Opened, url: str, postgres_url: str, schema: str) -> None:
    with admin(postgres_url, schema) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        connection.execute("CREATE TABLE schema_version (version integer NOT NULL)")
        connection.execute("INSERT INTO schema_version VALUES (0)")
    store = opened(url, mode="write")
    store.save("c", customer(), 5.0, True)
    store.close()
    with admin(postgres_url, schema) as connection:
        assert connection.execute("SELECT version FROM schema_version").fetchone() == (P.SCHEMA_VERSION,)


def test_a_schema_of_something_else_is_refused(opened: Opened, url: str, postgres_url: str, schema: str) -> None:
    with admin(postgres_url, schema) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        connection.execute("CREATE TABLE customers (name text)")
    with pytest.raises(
        StoreError, match="is not a journeydsl store: schema .* has tables customers but no schema_version"
    ):
        opened(url, mode="write")
    with admin(postgres_url, schema) as connection:  # left as it was
        assert connection.execute("SELECT count(*) FROM customers").fetchone() == (0,)


def test_reading_a_store_that_is_not_there(opened: Opened, url: str) -> None:
    for mode in ("read", "deliver"):
        with pytest.raises(StoreError, match="no journeydsl store in .*: run events into it first"):
            opened(url, mode=mode)


def test_a_damaged_row_is_named(opened: Opened, url: str, postgres_url: str, schema: str) -> None:
    store = opened(url, mode="write")
    for cid in ("a", "b", "c"):
        store.save(cid, customer(), None, True)
    store.close()
    with admin(postgres_url, schema) as connection:
        connection.execute("UPDATE customers SET state = 'not json' WHERE id = 'a'")
        connection.execute("""UPDATE customers SET state = '[{"j": [1, 2]}, {}]' WHERE id = 'b'""")
        connection.execute("""UPDATE customers SET profile = '[1]' WHERE id = 'c'""")
    store = opened(url, mode="write")
    with pytest.raises(StoreError, match=r"customers row 'a' is not JSON"):
        store.load("a")
    with pytest.raises(StoreError, match=r"customers row 'b' has an instance 'j' that has 2 slots"):
        store.load("b")
    with pytest.raises(StoreError, match=r"customers row 'c' has a profile of type list"):
        store.load("c")


# ---------------------------------------------------------------------------------------------- ownership


def test_one_writer_at_a_time(opened: Opened, url: str) -> None:
    owner = opened(url, mode="write")
    with pytest.raises(StoreBusyError, match=rf"is in use by another journeydsl process \(pid {os.getpid()} on "):
        opened(url, mode="write")
    copy = opened(url)  # auto: reads
    assert copy.read_only and not owner.read_only
    copy.save("x", customer(), None, True)
    with pytest.raises(StoreError, match="this copy cannot commit its changes"):
        copy.flush()
    with pytest.raises(StoreError, match="cannot record the plans"):
        opened(url, mode="read").record_plans({("j", 1): {"journey": "j"}})
    # the owner lets go a moment later: a writer that waits gets the store
    threading.Timer(0.3, owner.close).start()
    started = time.monotonic()
    waited = opened(url, mode="write", wait=10.0)
    assert not waited.read_only and 0.2 < time.monotonic() - started < 5


def test_an_owner_that_dies_frees_the_store(opened: Opened, url: str) -> None:
    code = (
        "import sys, time; from journeydsl.runtime.stores import open_store; "
        "s = open_store(sys.argv[1], mode='write'); print('owned', flush=True); time.sleep(60)"
    )
    process = subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline() == "owned\n"
        with pytest.raises(StoreBusyError, match=rf"pid {process.pid} on .*server backend \d+"):
            opened(url, mode="write")
        process.kill()
        process.wait(timeout=30)
        opened(url, mode="write", wait=10.0)  # the server dropped the dead session's lock
    finally:
        process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_a_delivery_store_only_delivers(opened: Opened, url: str) -> None:
    opened(url, mode="write").close()
    worker = opened(url, mode="deliver")
    assert worker.claim_outbox(10, 30.0) == [] and worker.dead_deliveries() == []
    for attempt in (
        lambda: worker.load("c"),
        lambda: worker.save("c", customer(), None, True),
        lambda: worker.pop_due(1.0),
        lambda: worker.seen_before("e"),
        lambda: list(worker.scan()),
        lambda: worker.take_deliverable_lines(),
        lambda: list(worker.actions()),
    ):
        with pytest.raises(StoreError, match="was opened for delivery only"):
            attempt()


# ---------------------------------------------------------------------------------------------- delivery workers


def test_two_workers_never_get_the_same_row(opened: Opened, url: str) -> None:
    owner = opened(url, mode="write", batch=1000)
    owner.log_actions([{"kind": "send", "key": f"k{n}", "n": n} for n in range(600)])
    owner.flush()
    workers = [opened(url, mode="deliver") for _ in range(3)]
    claimed: list[list[int]] = [[] for _ in workers]
    start = threading.Barrier(len(workers))

    def work(index: int) -> None:
        start.wait()
        while items := workers[index].claim_outbox(7, lease=60.0):
            claimed[index] += [item.seq for item in items]
            workers[index].outbox_delivered([item.seq for item in items])

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = [seq for seqs in claimed for seq in seqs]
    assert sorted(everything) == list(range(1, 601))  # each row once, none lost
    assert sum(1 for seqs in claimed if seqs) >= 2  # they did share the work


def test_a_claim_skips_a_row_another_worker_is_claiming(
    opened: Opened, url: str, postgres_url: str, schema: str
) -> None:
    owner = opened(url, mode="write", batch=1)
    owner.log_actions([{"kind": "send", "key": f"k{n}"} for n in range(3)])
    owner.end_unit()
    with admin(postgres_url, schema) as other:
        other.execute("BEGIN")
        other.execute("SELECT seq FROM outbox WHERE seq = 1 FOR UPDATE")  # a claim in flight elsewhere
        started = time.monotonic()
        items = opened(url, mode="deliver").claim_outbox(10, lease=60.0)
        assert [item.seq for item in items] == [2, 3] and time.monotonic() - started < 5
        other.execute("ROLLBACK")
    assert [item.seq for item in owner.claim_outbox(10, lease=60.0)] == [1]


# ---------------------------------------------------------------------------------------------- seen ids


def test_seen_ids_are_forgotten_after_the_retention(opened: Opened, url: str, postgres_url: str, schema: str) -> None:
    store = opened(f"{url}&seen_retention=1h", mode="write", batch=1)
    store.add_seen("old", 1000.0)
    store.add_seen("recent", 9000.0)
    store.clock = 9000.0
    store.end_unit()  # the first commit purges, before its own ids are in
    store.clock = 9100.0
    store.add_seen("newer", 9100.0)
    store.end_unit()  # within a tenth of the retention (6 minutes) of the last purge: none
    assert store.seen_before("old")
    store.clock = 9400.0
    store.add_seen("x", 9400.0)
    store.end_unit()  # a tenth of the retention on: ids dated before 9400 - 3600 go
    with admin(postgres_url, schema) as connection:
        left = {row[0] for row in connection.execute("SELECT id FROM seen")}
    assert left == {"recent", "newer", "x"}
    assert not store.seen_before("old") and store.seen_before("recent")
    store.close()
    assert not opened(url, mode="write").seen_before("old")


def test_the_customer_cache_is_bounded(opened: Opened, url: str) -> None:
    store = opened(f"{url}&cache=3", mode="write", batch=100)
    for n in range(10):
        store.save(f"c{n}", customer(email=f"{n}@x"), None, True)
    store.flush()
    assert len(store._cache) == 3
    assert [store.load(f"c{n}")["p"]["email"] for n in range(10)] == [f"{n}@x" for n in range(10)]  # type: ignore[index]
    assert len(store._cache) == 3


# ---------------------------------------------------------------------------------------------- the due window


class _Table:
    """The committed due times of a store, as the window's fetch reads them."""

    def __init__(self) -> None:
        self.due: dict[str, float] = {}
        self.fetches = 0

    def fetch(self, after: tuple[float, str] | None, limit: int) -> list[tuple[float, str]]:
        self.fetches += 1
        rows = sorted((due, cid) for cid, due in self.due.items())
        return [row for row in rows if after is None or row > after][:limit]


_CUSTOMERS = [f"c{n}" for n in range(12)]
_operation = st.one_of(
    st.tuples(st.just("save"), st.sampled_from(_CUSTOMERS), st.one_of(st.none(), st.integers(0, 12).map(float))),
    st.tuples(st.just("pop"), st.integers(0, 13).map(float)),
    st.tuples(st.just("commit")),
)


@settings(max_examples=400, deadline=None)
@given(operations=st.lists(_operation, max_size=80))
def test_the_due_window_pops_what_memory_pops(operations: list[tuple[Any, ...]]) -> None:
    """Small pages (2) and a small heap bound (4), so paging, look-ahead and trimming all happen."""
    page, heap = P.DUE_PAGE, P.MAX_HEAP
    P.DUE_PAGE, P.MAX_HEAP = 2, 4
    try:
        model, table = MemoryStore(), _Table()
        window = DueWindow(table.fetch)
        for operation in operations:
            if operation[0] == "save":
                _, cid, due = operation
                model.save(cid, {}, due, False)
                window.saved(cid, due)
            elif operation[0] == "pop":
                assert window.pop(operation[1]) == model.pop_due(operation[1])
            else:  # what the store's commit does: the window's `over` goes to the table
                for cid, due in window.over.items():
                    if due is None:
                        table.due.pop(cid, None)
                    else:
                        table.due[cid] = due
                window.committed()
                assert len(window._heap) <= 4 or window.over
        while (found := model.pop_due(100.0)) is not None:
            assert window.pop(100.0) == found
        assert window.pop(100.0) is None
    finally:
        P.DUE_PAGE, P.MAX_HEAP = page, heap


def test_pops_after_a_commit_need_no_query_while_the_page_lasts() -> None:
    table = _Table()
    table.due = {f"c{n}": float(n) for n in range(10)}
    window = DueWindow(table.fetch)
    assert window.pop(0.0) == (0.0, "c0")
    window.saved("c0", 50.0)
    window.committed()
    table.due["c0"] = 50.0
    assert [window.pop(5.0) for _ in range(6)][-1] is None and table.fetches == 1


@pytest.mark.parametrize("batch", [1, 4])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(_operation | st.tuples(st.just("reopen")), max_size=50))
def test_the_store_pops_what_memory_pops_with_small_pages(
    postgres_url: str, batch: int, operations: list[tuple[Any, ...]]
) -> None:
    page, heap = P.DUE_PAGE, P.MAX_HEAP
    P.DUE_PAGE, P.MAX_HEAP = 2, 4
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{postgres_url}?schema={schema}"
    model = MemoryStore()
    store = open_store(url, batch=batch, mode="write")
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
                store.close()
                store = open_store(url, batch=batch, mode="write")
        while (found := model.pop_due(100.0)) is not None:
            assert store.pop_due(100.0) == found
        assert store.pop_due(100.0) is None
    finally:
        P.DUE_PAGE, P.MAX_HEAP = page, heap
        store.abandon()
        _drop(postgres_url, schema)


# ---------------------------------------------------------------------------------------------- crash safety


def _run(command: list[str], kill_after_lines: int | None, errors: Path) -> str:
    """One `journeydsl run`; with `kill_after_lines`, SIGKILLed once it printed that many lines (plus a random
    delay, so kills also land between prints)."""
    with errors.open("wb") as err_sink:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err_sink)
        assert process.stdout is not None
        lines = []
        while kill_after_lines is None or len(lines) < kill_after_lines:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        if kill_after_lines is not None:
            time.sleep(random.uniform(0, 0.02))
            os.kill(process.pid, signal.SIGKILL)
        lines.append(process.stdout.read())
        process.stdout.close()
        code = process.wait(timeout=300)
    if kill_after_lines is None:
        assert code == 0, errors.read_text()[-3000:]
    return b"".join(lines).decode()


def test_sigkill_loses_and_duplicates_nothing(tmp_path: Path, postgres_url: str) -> None:
    bundle = write_bundle(build_bundle(tmp_path / "src", [JOURNEY]), tmp_path / "b.jbundle")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(_events(2000, 5)) + "\n", encoding="utf-8")
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    try:

        def command(store: str) -> list[str]:
            return cli_command("run", bundle, "--events", events, "--store", store, "--until", UNTIL, "--batch", "3")

        memory = _by_key(_run(command("memory://"), None, tmp_path / "memory.err"))
        reference = _by_key(_run(command(f"{postgres_url}?schema={schemas[0]}"), None, tmp_path / "ref.err"))
        assert reference == memory and len(reference) > 700  # the same records as memory://, key by key
        crashy = command(f"{postgres_url}?schema={schemas[1]}")
        rng = random.Random(5)
        outputs = [_run(crashy, rng.randint(1, len(reference) // 5), tmp_path / "crash.err") for _ in range(3)]
        outputs.append(_run(crashy, None, tmp_path / "last.err"))
        assert all(outputs[:-1]), "an interrupted run printed nothing"
        combined: dict[str, dict[str, object]] = {}
        for output in outputs:
            for key, record in _by_key(output).items():
                combined.setdefault(key, record)
        assert combined == reference
    finally:
        for name in schemas:
            _drop(postgres_url, name)


# ---------------------------------------------------------------------------------------------- memory bound

CUSTOMERS = 1_000_000
DUE_EVERY = 2000  # one stored customer in this many has a timer due in the run
RSS_BOUND_MB = 160  # the serving process (about 80 MB measured); all million states in memory would take GBs

_PROCESS = """
import json, sys
from journeydsl.runtime import Engine
from journeydsl.runtime.jsonio import loads
bundle, url, events, until = sys.argv[1:5]
engine = Engine.open(bundle, store=url, batch=20)
records = []
with open(events, "rb") as lines:
    for line in lines:
        records += engine.process(loads(line))
records += engine.advance(until)
assert not engine.dead_letters, engine.dead_letters
engine.close()
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so it would report the forking pytest process's size
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
json.dump({"rss_kb": peak, "records": records}, sys.stdout)
"""


def _template(bundle: Path) -> tuple[dict[str, Any], float]:
    """A real customer state: one quote with consent, so the customer waits in `waiting` (a 2-day timer)."""
    from journeydsl.runtime import Engine

    engine = Engine.open(str(bundle))
    event = {"id": "t", "type": "quote", "customer_id": "tpl", "at": "2026-01-01T10:00:00Z", "data": {"roof": 50}}
    engine.process({**event, "profile": {"consent_email": True}})
    store = engine.store
    assert isinstance(store, MemoryStore)
    state = store.load("tpl")
    assert state is not None
    return state, store._due["tpl"]


def _million(tmp_path: Path, postgres_url: str, schema: str) -> tuple[Path, str, dict[str, Any], float, float]:
    """A store of CUSTOMERS customers waiting in `waiting`, one in DUE_EVERY with its timer due in the run (the
    others a year later): (bundle, store URL, the state, its due time, the far due time)."""
    bundle = write_bundle(build_bundle(tmp_path / "src", [JOURNEY]), tmp_path / "b.jbundle")
    state, due = _template(bundle)
    url = f"{postgres_url}?schema={schema}"
    PostgresStore.from_url(url, mode="write").close()  # the schema
    far = due + 365 * 86400.0
    with admin(postgres_url, schema) as connection:
        connection.execute(
            "INSERT INTO customers (id, state, profile, due, active)"
            " SELECT 'm' || g, %s, %s, CASE WHEN g %% %s = 0 THEN %s ELSE %s END, '[[\"solar\", 1]]'::jsonb"
            " FROM generate_series(1, %s) g",
            (P.dumps((state["i"], state["c"])), P.dumps(state["p"]), DUE_EVERY, due, far, CUSTOMERS),
        )
        connection.execute("ANALYZE customers")
    return bundle, url, state, due, far


def _million_events(count: int, first_minute: int = 0) -> list[dict[str, Any]]:
    """Half of them a stored customer signing, half a new customer asking for a quote."""
    rng = random.Random(3 + first_minute)
    events = []
    for n in range(first_minute, first_minute + count):
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1767268800 + 60 * n))  # from 2026-01-01T12:00Z
        if n % 2:  # a stored customer signs
            cid = f"m{rng.randint(1, CUSTOMERS)}"
            events.append({"id": f"e{n}", "type": "signed", "customer_id": cid, "at": at, "data": {"amount": 9}})
        else:  # a new one asks for a quote
            events.append({"id": f"e{n}", "type": "quote", "customer_id": f"new{n}", "at": at, "data": {"roof": n}})
    return events


def test_a_million_customers_in_bounded_memory(tmp_path: Path, postgres_url: str, schema: str) -> None:
    bundle, url, state, due, far = _million(tmp_path, postgres_url, schema)
    events = _million_events(300)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    until = "2026-01-10T00:00:00Z"
    result = subprocess.run(
        [sys.executable, "-c", _PROCESS, str(bundle), url, str(path), until],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    rss_mb = report["rss_kb"] / 1024
    assert rss_mb < RSS_BOUND_MB, f"peak RSS {rss_mb:.0f} MB with {CUSTOMERS} customers in the store"
    expected = _expected_million(bundle, state, due, far, events, until)
    assert report["records"] == expected


def _expected_million(
    bundle: Path, state: dict[str, Any], due: float, far: float, events: list[dict[str, Any]], until: str
) -> list[dict[str, Any]]:
    """The records of memory:// holding only the customers a run touches: every event's customer and every stored
    customer whose timer was due."""
    from journeydsl.runtime import Engine

    model = MemoryStore()
    touched = {event["customer_id"] for event in events if event["customer_id"].startswith("m")}
    touched |= {f"m{g}" for g in range(DUE_EVERY, CUSTOMERS + 1, DUE_EVERY)}
    for cid in touched:
        fresh = json.loads(json.dumps(state))
        model.save(cid, fresh, due if int(cid[1:]) % DUE_EVERY == 0 else far, True)
    engine = Engine.open(str(bundle), store=model)
    expected = [record for event in events for record in engine.process(event)] + engine.advance(until)
    fired = {record["customer_id"] for record in expected if record["customer_id"].startswith("m")}
    assert len(fired) >= CUSTOMERS // DUE_EVERY  # the due timers of stored customers did fire
    return expected


SERVE_RSS_BOUND_MB = 200  # `serve` with its HTTP stack, metrics and relay (about 100 MB measured)


def test_serve_holds_a_million_customers_in_bounded_memory(tmp_path: Path, postgres_url: str, schema: str) -> None:
    from service.service_support import Served

    bundle, url, state, due, far = _million(tmp_path, postgres_url, schema)
    events = _million_events(300)
    until = "2026-01-10T00:00:00Z"
    config = tmp_path / "delivery.toml"
    config.write_text('[default]\nsink = "jsonl"\npath = "delivered.jsonl"\n', encoding="utf-8")
    with Served(
        tmp_path, bundle, "--clock", "event", "--delivery", str(config), "--max-skew", "none", store=url
    ) as srv:
        for start in range(0, len(events), 50):
            status, body = srv.post_events(events[start : start + 50])
            assert status == 202 and body["accepted"] == 50, body
        status, _, _ = srv.request("POST", "/v1/clock", json.dumps({"until": until}).encode(), {})
        assert status == 200
        expected = _expected_million(bundle, state, due, far, events, until)
        sink = tmp_path / "delivered.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            not sink.exists() or len(sink.read_bytes().splitlines()) < len(expected)
        ):
            time.sleep(0.1)
        assert srv.process is not None
        status_text = Path(f"/proc/{srv.process.pid}/status").read_text()
        peak_kb = int(next(line for line in status_text.splitlines() if line.startswith("VmHWM:")).split()[1])
        assert srv.stop() == 0
    delivered = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
    assert sorted(delivered, key=lambda r: r["key"]) == sorted(expected, key=lambda r: r["key"])
    assert peak_kb / 1024 < SERVE_RSS_BOUND_MB, f"serve peaked at {peak_kb / 1024:.0f} MB with {CUSTOMERS} customers"


def test_times_given_as_whole_numbers_are_kept(opened: Opened, url: str) -> None:
    """Arrays go to the server in binary, typed by their first element: an int among floats must not break it."""
    store = opened(url, mode="write", batch=10)
    store.save("a", customer(), 5, True)
    store.save("b", customer(), 5.5, True)
    store.add_seen("e1", 7)
    store.add_seen("e2", 7.25)
    store.log_transitions([("j", 1, "a", "a/j/1", None, "s", 3, None), ("j", 1, "b", "b/j/1", "s", "t", 3.5, "v")])
    store.flush()
    assert [t["at"] for t in store.transitions()] == ["1970-01-01T00:00:03Z", "1970-01-01T00:00:03.500Z"]
    assert store.pop_due(10) == (5.0, "a") and store.pop_due(10) == (5.5, "b")
    assert store.seen_before("e1") and store.seen_before("e2")


class _Counting:
    """A connection that counts the statements sent through it."""

    def __init__(self, connection: Any) -> None:
        self.connection, self.count = connection, 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return self.connection.execute(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)


def test_prefetch_answers_the_next_events_without_a_query_each(opened: Opened, url: str) -> None:
    store = opened(url, mode="write", batch=100)
    for n in range(3):
        store.save(f"c{n}", customer(email=f"{n}@x"), None, True)
        store.add_seen(f"e{n}", 1.0)
    store.close()
    store = opened(url, mode="write")
    store.prefetch(["c0", "c1", "nobody", "c0"], ["e0", "e9"])
    counting = store._db = _Counting(store._db)  # type: ignore[assignment]
    try:
        assert [store.load(cid)["p"]["email"] for cid in ("c0", "c1")] == ["0@x", "1@x"]  # type: ignore[index]
        assert store.load("nobody") is None
        assert store.seen_before("e0") and not store.seen_before("e9")
        assert counting.count == 0
        assert store.load("c2") is not None and counting.count == 1  # not prefetched: asked for
        # what this process then adds is no longer "missing"
        store.save("nobody", customer(email="n@x"), None, True)
        store.add_seen("e9", 2.0)
        store.end_unit()
        assert store.seen_before("e9")
        store._cache.clear()
        found = store.load("nobody")
        assert found is not None and found["p"] == {"email": "n@x"}
    finally:
        store._db = counting.connection


def test_a_lost_connection_is_a_store_error(opened: Opened, url: str, postgres_url: str) -> None:
    store = opened(url, mode="write")
    store.save("c", customer(), None, True)
    (backend,) = store._db.execute("SELECT pg_backend_pid()").fetchone()  # type: ignore[misc]
    with psycopg.connect(postgres_url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (backend,))
    with pytest.raises(StoreError, match=r"^cannot commit to the PostgreSQL store postgresql://\S+: "):
        store.flush()
    store.abandon()  # closing what is left raises nothing
    again = opened(url, mode="write", wait=10.0)  # the lock went with the session; the unit was not committed
    assert again.load("c") is None


def test_records_nobody_took_are_read_back_from_the_outbox(
    opened: Opened, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(P, "FRESH_LIMIT", 2)  # serve never takes them: memory holds only a few
    store = opened(url, mode="write", batch=1)
    for n in range(5):
        store.log_actions([{"kind": "send", "key": f"k{n}"}])
        store.end_unit()
    assert store._fresh_records == [] and store._backlog
    copy = opened(url, mode="read")
    with pytest.raises(StoreError, match="was opened read-only: this copy cannot deliver records"):
        copy.take_deliverable()
    records, lines = store.take_deliverable_lines()
    assert [r["key"] for r in records] == [f"k{n}" for n in range(5)]
    assert lines == b"".join(b'{"kind":"send","key":"k%d"}\n' % n for n in range(5))
    store.log_actions([{"kind": "send", "key": "k5"}])
    store.end_unit()
    assert [r["key"] for r in store.take_deliverable()] == ["k5"]
    store.close()
    assert opened(url, mode="write").take_deliverable() == []


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800"])
def test_an_id_postgresql_cannot_hold_is_named(opened: Opened, url: str, text: str) -> None:
    store = opened(url, mode="write")
    store.prefetch([text, "ok"], [text])  # skipped there: named when asked for
    with pytest.raises(StoreError, match=r"cannot hold the customer id .*: PostgreSQL text has no NUL"):
        store.load(text)
    with pytest.raises(StoreError, match=r"cannot hold the event id .*: PostgreSQL text has no NUL"):
        store.seen_before(text)
    assert store.load("ok") is None and not store.seen_before("ok")


def test_without_psycopg_the_url_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` fails as if it were not installed
    monkeypatch.delitem(sys.modules, "journeydsl.runtime.store_postgres")
    with pytest.raises(StoreError, match="the postgresql:// store needs the Python package 'psycopg', which is not"):
        open_store("postgresql://u@127.0.0.1/db")
