"""Bad store input is refused cleanly (issue 12, items C and D).

Store URLs: every query parameter is checked, unknown ones are refused with the list of known ones.
Store files: everything the SQLite store reads is checked for the shapes the engine relies on; a damaged
store raises StoreError naming the file and what is wrong (`journeydsl run`: `error: ...`, exit 1), never
a TypeError or a traceback, and is never half used. The corpus in fuzz/stores/ (see its README) holds
one file per way of breaking a store, in the log layout (converted on open, so every damage is found
then) and in the current layout (fuzz/stores/rows: customers are checked when loaded); the hypothesis
tests damage a valid store of each at random, row by row and byte by byte.
"""

from __future__ import annotations

import json
import math
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import build_bundle

from journeydsl.cli import main
from journeydsl.compile import write_bundle
from journeydsl.runtime import SqliteStore, Store, StoreError, open_store, store_sqlite
from journeydsl.runtime.jsonio import dumps, loads
from journeydsl.runtime.store import OpenMode

CORPUS = Path(__file__).parent / "fuzz" / "stores"  # stores in the log layout (schema version 2), converted on open
ROWS = CORPUS / "rows"  # stores in the current layout (schema version 3)
FOLDERS = {"log": CORPUS, "rows": ROWS}


def _named(prefix: str, *kinds: str) -> list[tuple[str, str]]:
    return [(kind, path.name) for kind in kinds for path in sorted(FOLDERS[kind].glob(f"{prefix}-*"))]


OPEN_REFUSED = _named("open", "log", "rows")
LOAD_REFUSED = _named("load", "rows")
READ_REFUSED = _named("read", "log", "rows")
SAFETY_NET = "damage the checks missed"  # the store's catch-all message: a shape its checks missed

JOURNEY = """
schema s {
  profile { email: string }
  event start {}
  channel push { cost 0 }
}
journey j {
  version 1
  owner "o@x"
  uses s
  entry on start
  stage one {
    step hello { send push hi -> done }
    step done { end ok }
  }
}
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    return write_bundle(build_bundle(root / "src", [JOURNEY]), root / "b.jbundle")


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("events") / "events.jsonl"
    path.write_text('{"id":"e9","type":"start","customer_id":"c9","at":"2026-01-03T10:00:00Z"}\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def known_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Events for the corpus store's own customers, so a run loads each of them."""
    path = tmp_path_factory.mktemp("events") / "known.jsonl"
    lines = [f'{{"id":"k{n}","type":"start","customer_id":"c{n}","at":"2026-01-02T1{n}:00:00Z"}}\n' for n in range(3)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _build(path: Path, name: str, kind: str = "log") -> Path:
    """The corpus store `name` of the `kind` folder at `path`."""
    folder = FOLDERS[kind]
    source = folder / name
    if source.suffix == ".bin":
        path.write_bytes(source.read_bytes())
    else:
        valid = (folder / "valid.sql").read_text(encoding="utf-8")
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA synchronous=OFF")  # a scratch file: no fsync on the shared test machine
            db.executescript(valid if name == "valid.sql" else valid + source.read_text(encoding="utf-8"))
        db.close()
    return path


def _run(bundle: Path, events: Path, store: str) -> Any:
    return CliRunner().invoke(main, ["run", str(bundle), "--events", str(events), "--store", store])


# ---- store URLs


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sqlite:///{dir}/s.db?batch=abc", "batch must be a whole number from 1, not 'abc'"),
        ("sqlite:///{dir}/s.db?batch=0", "batch must be a whole number from 1, not '0'"),
        ("sqlite:///{dir}/s.db?batch=-3", "batch must be a whole number from 1"),
        ("sqlite:///{dir}/s.db?batch=2.5", "batch must be a whole number from 1"),
        ("sqlite:///{dir}/s.db?batch=", "batch must be a whole number from 1, not ''"),
        ("sqlite:///{dir}/s.db?batch", "batch must be a whole number from 1"),
        ("sqlite:///{dir}/s.db?batch=99999999999999999999", "batch must be a whole number from 1"),
        ("sqlite:///{dir}/s.db?batch=1&batch=2", "batch is given twice"),
        ("sqlite:///{dir}/s.db?synchronous=off", "synchronous must be normal or full, not 'off'"),
        (
            "sqlite:///{dir}/s.db?sync=full",
            "unknown parameter 'sync' (known: batch, synchronous, cache, seen_retention)",
        ),
        ("sqlite:///{dir}/s.db?x", "unknown parameter 'x' (known: batch, synchronous, cache, seen_retention)"),
        ("sqlite:///{dir}/s.db?cache=-1", "cache must be a whole number of customers from 0, not '-1'"),
        ("sqlite:///{dir}/s.db?cache=lots", "cache must be a whole number of customers from 0, not 'lots'"),
        ("sqlite:///{dir}/s.db?cache", "cache must be a whole number of customers from 0, not ''"),
        ("sqlite:///{dir}/s.db?cache=1&cache=2", "cache is given twice"),
        ("sqlite:///{dir}/s.db?seen_retention=30", "seen_retention must be a duration above zero such as 30d"),
        ("sqlite:///{dir}/s.db?seen_retention=0d", "seen_retention must be a duration above zero"),
        ("sqlite:///{dir}/s.db?seen_retention=1w", "not '1w'"),
        ("sqlite:///{dir}/s.db?seen_retention=-1d", "seen_retention must be a duration above zero"),
        ("sqlite:///{dir}/s.db?batch=5&", "unknown parameter ''"),
        ("sqlite:///{dir}/s.db#top", "a store URL has no #fragment"),
        ("sqlite://localhost/s.db", "use sqlite:///PATH"),
        ("sqlite:{dir}/s.db", "use sqlite:///PATH"),
        ("memory://?x", "memory:// takes no path and no parameters"),
        ("memory://?batch=3", "memory:// takes no path and no parameters"),
        ("memory://somewhere", "memory:// takes no path and no parameters"),
    ],
)
def test_a_bad_store_url_is_a_clear_error(bundle: Path, events: Path, tmp_path: Path, url: str, reason: str) -> None:
    url = url.format(dir=tmp_path)
    with pytest.raises(StoreError, match="invalid store URL") as raised:
        open_store(url)
    assert reason in str(raised.value)
    result = _run(bundle, events, url)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr == f"error: {raised.value}\n"
    assert not list(tmp_path.glob("s.db*"))  # nothing was created
    report = CliRunner().invoke(main, ["report", "--store", url])
    assert report.exit_code == 1 and "Traceback" not in report.output


def test_the_known_store_url_parameters(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}?batch=25&synchronous=FULL&cache=7&seen_retention=12h")
    assert isinstance(store, SqliteStore) and store.batch == 25
    assert store.cache_size == 7 and store.seen_retention == 12 * 3600
    assert store._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    store.close()
    override = open_store(f"sqlite:///{tmp_path / 's.db'}?batch=25", batch=3)  # --batch wins
    assert isinstance(override, SqliteStore) and override.batch == 3
    assert override.cache_size == 10_000 and override.seen_retention == 30 * 86_400  # the defaults
    override.close()
    for text, seconds in [("90s", 90), ("90m", 5400), ("1.5h", 5400), ("2d", 172_800)]:
        assert store_sqlite.parse_url(f"sqlite:///x?seen_retention={text}").seen_retention == seconds
    assert store_sqlite.parse_url("sqlite:///x?cache=0").cache == 0
    assert isinstance(open_store("memory://"), Store) and isinstance(open_store("memory:"), Store)


# ---- damaged stores: the corpus


def _everything(store: Store) -> dict[str, Any]:
    """What a store holds, read through its interface (every customer, every timer, the records)."""
    found = {
        "transitions": list(store.transitions()),
        "actions": list(store.actions()),
        "events": list(store.events()),
        "seen": sorted(e for e in ("e0", "e1", "e2", "e3", "e4") if store.seen_before(e)),
        "customers": dict(store.scan()),
        "in_flight": store.in_flight_versions(),
    }
    timers = []  # last: a commit after the pops would clear these timers (transitions() and actions() commit)
    while (due := store.pop_due(math.inf)) is not None:
        timers.append(due)
    return found | {"timers": timers}


@pytest.mark.parametrize("kind", ["log", "rows"])
def test_the_valid_corpus_store_opens(tmp_path: Path, kind: str) -> None:
    path = _build(tmp_path / "s.db", "valid.sql", kind)
    store = open_store(f"sqlite:///{path}")  # the log layout is converted here, by its owner
    assert isinstance(store, SqliteStore) and not store.read_only
    found = _everything(store)
    assert sorted(found["customers"]) == ["c0", "c1", "c2"] and found["seen"] == ["e0", "e1", "e2", "e3"]
    assert found["customers"]["c0"]["i"]["j"][4] == 0  # (log) the later commit's state won
    assert found["customers"]["c1"]["p"] == {"email": "c1@x", "consent_email": True}
    assert found["timers"] == [(1767434400.0, "c1"), (1767434400.0, "c2")]
    assert len(found["transitions"]) == 3 and len(found["actions"]) == 6
    assert len(found["events"]) == (2 if kind == "rows" else 0)
    assert found["in_flight"] == {("j", 1): 2} and store.customer_count() == 3
    # Records 1-3 were printed by `run`; in the current layout a worker delivered record 4 too.
    keys = ["c0/j/1:fin:2", "c2/j/k9/1:hello:0"]
    assert [r["key"] for r in store.take_deliverable()] == (keys if kind == "rows" else ["c1/j/1:hello:1", *keys])
    store.abandon()  # the timers popped above stay as they were
    reader = open_store(f"sqlite:///{path}", mode="read")
    assert _everything(reader) == found
    reader.close()


@pytest.mark.parametrize(("kind", "name"), OPEN_REFUSED)
@pytest.mark.parametrize("mode", ["auto", "write", "read"])
def test_the_corpus_is_refused_on_open(tmp_path: Path, kind: str, name: str, mode: str) -> None:
    path = _build(tmp_path / "s.db", name, kind)
    with pytest.raises(StoreError) as raised:
        open_store(f"sqlite:///{path}", mode=mode)  # type: ignore[arg-type]
    message = str(raised.value)
    assert str(path) in message and SAFETY_NET not in message
    open_store(f"sqlite:///{tmp_path / 'other.db'}", mode="write").close()  # nothing was left locked


@pytest.mark.parametrize(("kind", "name"), OPEN_REFUSED + LOAD_REFUSED)
def test_run_refuses_the_corpus(bundle: Path, known_events: Path, tmp_path: Path, kind: str, name: str) -> None:
    path = _build(tmp_path / "s.db", name, kind)
    result = _run(bundle, known_events, f"sqlite:///{path}")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.stderr.startswith("error: ") and str(path) in result.stderr and SAFETY_NET not in result.stderr
    # A damaged customer is met on open (counting instances in SQL) or while running, once the records committed
    # before were handed out: those and nothing more.
    printed = [json.loads(line)["key"] for line in result.stdout.splitlines()]
    assert printed == [] or (name.startswith("load-") and printed == ["c0/j/1:fin:2", "c2/j/k9/1:hello:0"])


@pytest.mark.parametrize(("kind", "name"), LOAD_REFUSED)
def test_the_corpus_is_refused_when_a_customer_is_loaded(tmp_path: Path, kind: str, name: str) -> None:
    """The store opens (customers are read when needed); the damaged customer is refused when it is read, by id."""
    path = _build(tmp_path / "s.db", name, kind)
    modes: list[OpenMode] = ["auto", "read"]
    for mode in modes:
        store = open_store(f"sqlite:///{path}", mode=mode)
        with pytest.raises(StoreError, match=f"cannot read SQLite store {path}: customers row 'c[0-2]' ") as raised:
            _everything(store)
        assert SAFETY_NET not in str(raised.value)
        store.abandon()


@pytest.mark.parametrize(("kind", "name"), READ_REFUSED)
def test_the_corpus_is_refused_when_read(tmp_path: Path, kind: str, name: str) -> None:
    path = _build(tmp_path / "s.db", name, kind)
    with pytest.raises(
        StoreError,
        match=f"cannot (read|open) SQLite store {path}: (transition_batches|outbox|outbox_pages|event_batches) row",
    ):
        # The owner converts an older layout's outbox into pages as it opens the store: a record that cannot be
        # one line of a page is refused then.
        store = open_store(f"sqlite:///{path}")
        try:
            list(store.transitions())
            list(store.actions())
            list(store.events())
        finally:
            store.close()


# ---- damaged stores: at random


def _valid_bytes(kind: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return _build(Path(folder) / "s.db", "valid.sql", kind).read_bytes()


VALID_BYTES = {kind: _valid_bytes(kind) for kind in FOLDERS}
# (table, column) of every value the store reads, by layout
COLUMNS = {
    "log": [
        ("customer_log", "states"),
        ("customer_log", "profiles"),
        ("customer_log", "full"),
        ("seen_batches", "ids"),
        ("plans", "plan"),
        ("plans", "journey"),
        ("plans", "version"),
        ("meta", "v"),
        ("outbox_batches", "records"),
        ("outbox_batches", "first"),
        ("outbox_batches", "last"),
        ("transition_batches", "rows"),
    ],
    "rows": [
        ("customers", "id"),
        ("customers", "state"),
        ("customers", "profile"),
        ("customers", "due"),
        ("seen", "id"),
        ("seen", "at"),
        ("plans", "plan"),
        ("plans", "journey"),
        ("plans", "version"),
        ("meta", "v"),
        ("outbox", "seq"),
        ("outbox", "record"),
        ("outbox", "delivered"),
        ("outbox", "attempts"),
        ("transition_batches", "rows"),
        ("event_batches", "events"),
    ],
}
LINES = {"outbox_batches", "event_batches"}  # columns of JSON Lines, mutated line by line
ROW_KEY = {"seen": "id"}  # a WITHOUT ROWID table's key; rowid elsewhere
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=10,
)
SQL_VALUES = st.one_of(
    st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(), st.text(max_size=12), st.binary()
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mutate(value: Any, draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
    """`value` with one part replaced, removed, added to, or given another type."""
    children: list[Any] = list(value) if isinstance(value, (list, dict)) else []
    action = draw(st.sampled_from(["replace", "descend", "descend", "remove", "add"]))
    if action == "replace" or not children:
        return draw(JSON)
    index = draw(st.integers(min_value=0, max_value=len(children) - 1))
    if isinstance(value, list):
        changed = list(value)
        if action == "remove":
            del changed[index]
        elif action == "add":
            changed.insert(index, draw(JSON))
        else:
            changed[index] = _mutate(value[index], draw)
        return changed
    key = children[index]
    result = dict(value)
    if action == "remove":
        del result[key]
    elif action == "add":
        result[draw(st.text(max_size=4))] = draw(JSON)
    else:
        result[key] = _mutate(value[key], draw)
    return result


def _all_records(records: list[Any]) -> None:
    assert all(type(record) is dict for record in records)


def _opens_cleanly_or_is_refused(path: Path) -> None:
    """The property: StoreError, or a store whose every part has the shapes the engine relies on and reads
    back (or is refused with StoreError when read)."""
    try:
        store = open_store(f"sqlite:///{path}")
    except StoreError as err:
        assert SAFETY_NET not in str(err), err
        return
    try:
        assert isinstance(store, SqliteStore)
        assert store.clock is None or math.isfinite(store.clock)
        reads: list[Callable[[], Any]] = [
            lambda: _all_records(store.take_deliverable()),
            lambda: list(store.transitions()),
            lambda: list(store.actions()),
            lambda: list(store.events()),
            store.in_flight_versions,
            store.customer_count,
            store.dead_deliveries,
            lambda: store.claim_outbox(100, 0.0),
        ]
        for read in reads:
            try:
                read()
            except StoreError as err:
                assert SAFETY_NET not in str(err), err
        try:
            for customer_id, customer in store.scan():
                assert type(customer_id) is str
                assert store_sqlite._customer_problem(customer["i"], customer["c"]) is None
                assert type(customer["p"]) is dict
            while (due := store.pop_due(math.inf)) is not None:
                assert type(due[0]) is float and math.isfinite(due[0]) and type(due[1]) is str
        except StoreError as err:
            assert SAFETY_NET not in str(err), err
    finally:
        try:
            store.close()  # commits the delivered mark and the popped timers, where damage may surface only now
        except StoreError as err:
            assert SAFETY_NET not in str(err), err


@FUZZ
@given(data=st.data(), kind=st.sampled_from(sorted(FOLDERS)))
def test_a_store_with_a_damaged_value_is_refused_or_sound(data: st.DataObject, kind: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.db"
        path.write_bytes(VALID_BYTES[kind])
        table, column = data.draw(st.sampled_from(COLUMNS[kind]))
        key = ROW_KEY.get(table, "rowid")
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA synchronous=OFF")
            rows = db.execute(f"SELECT {key}, {column} FROM {table}").fetchall()
            rowid, value = data.draw(st.sampled_from(rows))
            kind_of_damage = data.draw(st.sampled_from(["json", "json", "sql", "delete"]))
            if kind_of_damage == "delete":
                db.execute(f"DELETE FROM {table} WHERE {key} = ?", (rowid,))
            elif kind_of_damage == "json" and isinstance(value, bytes):
                decoded = [loads(line) for line in value.split(b"\n")[:-1]] if table in LINES else loads(value)
                changed = _mutate(decoded, data.draw)
                if table in LINES and isinstance(changed, list):
                    new: Any = b"".join(dumps(item) + b"\n" for item in changed)
                else:
                    new = dumps(changed)
            else:
                new = data.draw(SQL_VALUES)
            if kind_of_damage != "delete":
                try:
                    db.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (new, rowid))
                except sqlite3.IntegrityError:  # NOT NULL, or a key taken twice: a file SQLite itself refuses
                    pass
        db.close()
        _opens_cleanly_or_is_refused(path)


@FUZZ
@given(
    kind=st.sampled_from(sorted(FOLDERS)),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=1 << 20), st.integers(0, 255)), max_size=8),
    cut=st.none() | st.integers(min_value=0, max_value=1 << 20),
)
def test_a_store_with_damaged_bytes_is_refused_or_sound(
    kind: str, flips: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(VALID_BYTES[kind])
    for offset, value in flips:
        data[offset % len(data)] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.db"
        path.write_bytes(bytes(data[: None if cut is None else cut % (len(data) + 1)]))
        _opens_cleanly_or_is_refused(path)


SLOT_VALUES: st.SearchStrategy[Any] = st.one_of(
    JSON_LEAVES, st.just({}), st.just([]), st.just({"at": 1.0}), st.just(["g"])
)
VALID_INSTANCE = ["j", 1, None, 1, 1, 0, 1767261600.0, 1767434400.0, 2, None, None, None, None, 1767261600.0]


@settings(max_examples=300, deadline=None)
@given(
    changes=st.lists(st.tuples(st.integers(min_value=0, max_value=13), SLOT_VALUES), max_size=3),
    size=st.sampled_from([12, 13, 14, 15]),
)
def test_the_fast_instance_check_agrees_with_the_explained_one(changes: list[tuple[int, Any]], size: int) -> None:
    inst = (VALID_INSTANCE + [0, 0])[:size]
    for index, value in changes:
        if index < size:
            inst[index] = value
    assert store_sqlite._instance_ok(inst) == (store_sqlite._instance_problem(inst) is None)
    assert store_sqlite._instance_ok(VALID_INSTANCE) and store_sqlite._instance_ok(VALID_INSTANCE[:13])
