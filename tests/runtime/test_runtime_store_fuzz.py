"""Bad store input is refused cleanly (issue 12, items C and D).

Store URLs: every query parameter is checked, unknown ones are refused with the list of known ones.
Store files: everything the SQLite store reads is checked for the shapes the engine relies on; a damaged
store raises StoreError naming the file and what is wrong (`journeydsl run`: `error: ...`, exit 1), never
a TypeError or a traceback, and is never half used. The corpus in fuzz/stores/ (see its README) holds
one file per way of breaking a store; the hypothesis tests damage a valid store at random, row by row
and byte by byte.
"""

from __future__ import annotations

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

CORPUS = Path(__file__).parent / "fuzz" / "stores"
VALID = (CORPUS / "valid.sql").read_text(encoding="utf-8")
OPEN_REFUSED = sorted(path.name for path in CORPUS.glob("open-*"))
READ_REFUSED = sorted(path.name for path in CORPUS.glob("read-*"))
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


def _build(path: Path, name: str) -> Path:
    """The corpus store `name` at `path`."""
    source = CORPUS / name
    if source.suffix == ".bin":
        path.write_bytes(source.read_bytes())
    else:
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA synchronous=OFF")  # a scratch file: no fsync on the shared test machine
            db.executescript(VALID if name == "valid.sql" else VALID + source.read_text(encoding="utf-8"))
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
        ("sqlite:///{dir}/s.db?sync=full", "unknown parameter 'sync' (known: batch, synchronous)"),
        ("sqlite:///{dir}/s.db?x", "unknown parameter 'x' (known: batch, synchronous)"),
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
    store = open_store(f"sqlite:///{tmp_path / 's.db'}?batch=25&synchronous=FULL")
    assert isinstance(store, SqliteStore) and store.batch == 25
    assert store._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    store.close()
    override = open_store(f"sqlite:///{tmp_path / 's.db'}?batch=25", batch=3)  # --batch wins
    assert isinstance(override, SqliteStore) and override.batch == 3
    override.close()
    assert isinstance(open_store("memory://"), Store) and isinstance(open_store("memory:"), Store)


# ---- damaged stores: the corpus


def test_the_valid_corpus_store_opens(tmp_path: Path) -> None:
    for mode in ("auto", "read"):
        store = open_store(f"sqlite:///{_build(tmp_path / f'{mode}.db', 'valid.sql')}", mode=mode)  # type: ignore[arg-type]
        assert isinstance(store, SqliteStore)
        assert sorted(store.customers) == ["c0", "c1", "c2"] and store.seen == {"e0", "e1", "e2", "e3"}
        assert store.customers["c0"]["i"]["j"][4] == 0  # the later commit's state won
        assert len(list(store.transitions())) == 3 and len(list(store.actions())) == 6
        if mode == "auto":
            assert [r["key"] for r in store.take_deliverable()] == [
                "c1/j/1:hello:1",
                "c0/j/1:fin:2",
                "c2/j/k9/1:hello:0",
            ]
        store.close()


@pytest.mark.parametrize("name", OPEN_REFUSED)
@pytest.mark.parametrize("mode", ["auto", "write", "read"])
def test_the_corpus_is_refused_on_open(tmp_path: Path, name: str, mode: str) -> None:
    path = _build(tmp_path / "s.db", name)
    with pytest.raises(StoreError) as raised:
        open_store(f"sqlite:///{path}", mode=mode)  # type: ignore[arg-type]
    message = str(raised.value)
    assert str(path) in message and SAFETY_NET not in message
    open_store(f"sqlite:///{tmp_path / 'other.db'}", mode="write").close()  # nothing was left locked


@pytest.mark.parametrize("name", OPEN_REFUSED)
def test_run_refuses_the_corpus(bundle: Path, events: Path, tmp_path: Path, name: str) -> None:
    path = _build(tmp_path / "s.db", name)
    result = _run(bundle, events, f"sqlite:///{path}")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.stderr.startswith("error: ") and str(path) in result.stderr and result.stdout == ""
    assert SAFETY_NET not in result.stderr


@pytest.mark.parametrize("name", READ_REFUSED)
def test_the_corpus_is_refused_when_read(tmp_path: Path, name: str) -> None:
    path = _build(tmp_path / "s.db", name)
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(StoreError, match=f"cannot read SQLite store {path}: (transition|outbox)_batches row"):
        list(store.transitions())
        list(store.actions())
    store.close()


# ---- damaged stores: at random


def _valid_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return _build(Path(folder) / "s.db", "valid.sql").read_bytes()


VALID_BYTES = _valid_bytes()
# (table, column) of every value the store reads
COLUMNS = [
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
]
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


def _opens_cleanly_or_is_refused(path: Path) -> None:
    """The property: StoreError, or a store whose every part has the shapes the engine relies on and whose
    records and transitions read back (or are refused with StoreError)."""
    try:
        store = open_store(f"sqlite:///{path}")
    except StoreError as err:
        assert SAFETY_NET not in str(err), err
        return
    try:
        assert isinstance(store, SqliteStore)
        for customer in store.customers.values():
            assert store_sqlite._customer_problem(customer["i"], customer["c"]) is None
            assert type(customer["p"]) is dict
        assert all(type(event_id) is str for event_id in store.seen)
        assert store.clock is None or math.isfinite(store.clock)
        assert all(type(record) is dict for record in store.take_deliverable())
        for read in (store.transitions, store.actions):
            try:
                for row in read():
                    assert type(row) is dict
            except StoreError as err:
                assert SAFETY_NET not in str(err), err
    finally:
        try:
            store.close()  # commits the delivered mark, where damage SQLite found only now may surface
        except StoreError as err:
            assert SAFETY_NET not in str(err), err


@FUZZ
@given(data=st.data())
def test_a_store_with_a_damaged_value_is_refused_or_sound(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.db"
        path.write_bytes(VALID_BYTES)
        table, column = data.draw(st.sampled_from(COLUMNS))
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA synchronous=OFF")
            rows = db.execute(f"SELECT rowid, {column} FROM {table}").fetchall()
            rowid, value = data.draw(st.sampled_from(rows))
            kind = data.draw(st.sampled_from(["json", "json", "sql", "delete"]))
            if kind == "delete":
                db.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
            elif kind == "json" and isinstance(value, bytes):
                decoded = (
                    [loads(line) for line in value.split(b"\n")[:-1]] if table == "outbox_batches" else loads(value)
                )
                changed = _mutate(decoded, data.draw)
                if table == "outbox_batches" and isinstance(changed, list):
                    new: Any = b"".join(dumps(item) + b"\n" for item in changed)
                else:
                    new = dumps(changed)
            else:
                new = data.draw(SQL_VALUES)
            if kind != "delete":
                try:
                    db.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (new, rowid))
                except sqlite3.IntegrityError:  # NOT NULL, or a key taken twice: a file SQLite itself refuses
                    pass
        db.close()
        _opens_cleanly_or_is_refused(path)


@FUZZ
@given(
    flips=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(VALID_BYTES) - 1), st.integers(0, 255)), max_size=8
    ),
    cut=st.none() | st.integers(min_value=0, max_value=len(VALID_BYTES)),
)
def test_a_store_with_damaged_bytes_is_refused_or_sound(flips: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(VALID_BYTES)
    for offset, value in flips:
        data[offset] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.db"
        path.write_bytes(bytes(data[:cut]))
        _opens_cleanly_or_is_refused(path)


SLOT_VALUES = st.one_of(JSON_LEAVES, st.just({}), st.just([]), st.just({"at": 1.0}), st.just(["g"]))
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
