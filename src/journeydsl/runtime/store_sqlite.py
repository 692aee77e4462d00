"""`sqlite:///PATH`: the embedded durable store, with customers loaded on demand.

WAL journal; the changed customers, the new outbox records, the new transitions and events and the seen event
ids of `batch` units (URL parameter or `--batch`; by default 1,000 units, and at most 0.1 s after the first of
them: store.DEFAULT_BATCH and BATCH_SECONDS) are written in ONE transaction. A crash therefore loses only work
that was not committed, and since the ids of those events were not committed either, a re-run processes them
again: nothing is lost, and the keys of the records make the re-done work recognisable. `synchronous=NORMAL` by
default: in WAL mode that survives a process crash; `?synchronous=full` also survives a power cut at the price of
an fsync per commit.

Layout (schema version 5, `meta.schema_version`): one row per customer, so a store holds far more customers
than memory; the engine loads a customer when an event or a timer needs it.
- `customers(id, state, profile, due)`: the state `[instances, cap counts]` and the profile as JSON (BLOBs the
  SQLite JSON functions read through CAST AS TEXT), and the customer's earliest timer, indexed by (due, id) for
  `pop_due`. A save that did not change the profile rewrites only state and due.
- `seen(id, at)`: handled event ids with their event time. Retention (URL parameter `seen_retention`, default
  30d): now and then a commit deletes the ids dated more than that before the store's clock, so the table does
  not grow for ever; an event sent again after that window is handled again. A source that may re-send older
  events needs a longer window.
- `outbox_pages(first, last, lines)`: every record, a row per commit (at most PAGE_RECORDS records a row): the
  records numbered first..last as JSON Lines, each line exactly the one `journeydsl run` prints. A row per
  record cost a B-tree insert per record, most of a commit's work after the customers (docs/performance.md).
  `meta.delivered` is the mark up to which `run` printed the records (`take_deliverable`).
- `outbox_claims(seq, delivered, attempts, not_before, claimed_until, error)`: the delivery state of the records
  a delivery worker claimed and did not settle yet (or settled past the floor); `meta.outbox_floor` is the
  record up to which every record is settled or has a row here. Claims hand out never-claimed records in order,
  so a record past the floor without a row is simply waiting, and one under it without a row was settled.
  `dead_deliveries` keeps the records a sink refused too often.
- `transition_batches`, `event_batches`: the transition log and the event history (`replay`), one row per
  commit holding that commit's items (they are only ever read in order, and a B-tree insert per item costs far
  more than the encoding); `plans`: the plans the engine ran; `meta`: schema version, clock, delivered mark.

Loading: `load` answers from the pending (uncommitted) customers, then a bounded LRU cache of committed ones (URL
parameter `cache`, default 10,000 customers), then a SELECT. `prefetch` (`run` reading a file ahead, `serve` a
request's events) reads the next events' customers into that cache, and their seen ids, in one query each.
Timers: `pop_due` merges a page of the due index (read by key, `(due, id) > cursor`, a few hundred rows at a time)
with a heap of the pending customers' due times; a commit puts the customers it wrote back into the open page when
their key falls inside it.

Older layouts are converted on open by their owner, in one transaction (a crash during it leaves the old
layout, converted next time): versions 3 and 4 (an `outbox` row per record, with its delivery state: the records
become pages, their bytes unchanged, and the states claims rows; a read-only copy reads them as they are), the
log layout (schema version 2: `customer_log`, `seen_batches`, `outbox_batches`, which needed the whole state in
memory) and the older one-row-per-item layout (`customers`,
`profiles`, `seen`, `outbox`, `transitions` with their old columns). Seen ids of an old store get the store's
clock as their time.

One process owns a store at a time (`StoreLock`): it keeps uncommitted customers and a cache in memory, so two
writers would overwrite each other. The owner holds an exclusive `flock` on the sidecar file `PATH.lock` from
before it reads the store until its connection is closed; the kernel drops the lock when the process dies,
however it dies. A copy opened while another process owns the store (or with mode "read") reads one consistent
snapshot (WAL readers do not block the writer) and refuses to commit. Mode "deliver" opens without the lock for
delivery workers: only the outbox claims and settlements work, each its own short IMMEDIATE transaction, so they
serialise with the owner's commits (busy timeout) instead of racing them.

Everything read is checked for the shapes the engine relies on (`_customer_problem`, ...): a damaged store is
refused with a StoreError naming the file, the table and the row, never half used; a customer row is checked
when it is loaded.

Where it sits: one concrete store, above store.py (its base); `stores.open_store` imports it for sqlite: URLs.
"""

from __future__ import annotations

import heapq
import math
import os
import re
import socket
import sqlite3
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import unquote

from journeydsl.runtime import state as S
from journeydsl.runtime.aggregates import (
    Aggregator,
    InFlightStep,
    RecordAggregates,
    TransitionAggregates,
    WaitingSends,
    in_flight_of,
    offer_rows,
    record_aggregates_of,
    transition_aggregates_of,
    waiting_sends_of,
)
from journeydsl.runtime.jsonio import dumps, dumps_lines, loads
from journeydsl.runtime.store import (
    DEFAULT_BATCH,
    CommitPolicy,
    DeadDelivery,
    OpenMode,
    OutboxItem,
    Store,
    StoreBusyError,
    StoreError,
    Transition,
    register_store,
    transition_dict,
)

if sys.platform != "win32":
    import fcntl

_T = TypeVar("_T")

SCHEMA_VERSION = 5
# The layouts with an outbox row per record (3: before the aggregate tables, 4: with them): their owner converts
# them on open; a copy that may not convert one (mode read) still reads it, and counts what its aggregate tables
# lack from the records themselves.
ROW_OUTBOX_VERSIONS = (3, 4)
READABLE_VERSIONS = (*ROW_OUTBOX_VERSIONS, SCHEMA_VERSION)
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, state BLOB NOT NULL, profile BLOB NOT NULL, due REAL);
CREATE INDEX IF NOT EXISTS customers_due ON customers (due, id) WHERE due IS NOT NULL;
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
CREATE TABLE IF NOT EXISTS outbox_pages (first INTEGER PRIMARY KEY, last INTEGER NOT NULL, lines BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_claims (seq INTEGER PRIMARY KEY, delivered INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, not_before REAL, claimed_until REAL, error TEXT);
CREATE TABLE IF NOT EXISTS dead_deliveries (
  seq INTEGER PRIMARY KEY, record BLOB NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS plans (journey TEXT NOT NULL, version INTEGER NOT NULL, plan BLOB NOT NULL,
  PRIMARY KEY (journey, version));
CREATE TABLE IF NOT EXISTS transition_batches (n INTEGER PRIMARY KEY, rows BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS event_batches (n INTEGER PRIMARY KEY, events BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS agg_records (journey TEXT NOT NULL, version INTEGER NOT NULL, kind TEXT NOT NULL,
  label TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL, total REAL NOT NULL, priced INTEGER NOT NULL,
  PRIMARY KEY (journey, version, kind, label, status)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agg_converted (journey TEXT NOT NULL, version INTEGER NOT NULL, instance TEXT NOT NULL,
  PRIMARY KEY (journey, version, instance)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agg_edges (journey TEXT NOT NULL, version INTEGER NOT NULL, from_step TEXT NOT NULL,
  to_step TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (journey, version, from_step, to_step)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agg_reach (journey TEXT NOT NULL, version INTEGER NOT NULL, step TEXT NOT NULL,
  instance TEXT NOT NULL, PRIMARY KEY (journey, version, step, instance)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agg_steps (journey TEXT NOT NULL, version INTEGER NOT NULL, step TEXT NOT NULL,
  reach INTEGER NOT NULL, PRIMARY KEY (journey, version, step)) WITHOUT ROWID;
"""
TABLES = (
    "meta",
    "customers",
    "seen",
    "outbox_pages",
    "outbox_claims",
    "dead_deliveries",
    "plans",
    "transition_batches",
    "event_batches",
)
AGGREGATE_TABLES = ("agg_records", "agg_converted", "agg_edges", "agg_reach", "agg_steps")
# The tables of the layouts with an outbox row per record (ROW_OUTBOX_VERSIONS), before the aggregate tables.
ROW_OUTBOX_TABLES = tuple("outbox" if name == "outbox_pages" else name for name in TABLES if name != "outbox_claims")
# The tables each readable schema version must have.
VERSION_TABLES = {
    3: ROW_OUTBOX_TABLES,
    4: ROW_OUTBOX_TABLES + AGGREGATE_TABLES,
    SCHEMA_VERSION: TABLES + AGGREGATE_TABLES,
}
# Records a row of outbox_pages holds at most: a claim reads the pages of the records it hands out, whole.
PAGE_RECORDS = 1024
# meta keys: the outbox seq up to which every record is settled or has a row in outbox_claims (claims hand out
# records in order, so a record past it that has no row was never claimed); and `run`'s delivered mark.
FLOOR, DELIVERED_MARK = "outbox_floor", "delivered"
# meta key: "SEQ N", the outbox seq and transition_batches n up to which rows are not yet in the aggregate tables
# (the records of a store converted from an older layout: folded in by the owner the first time they are asked for,
# not on open, so that opening stays quick and a damaged old row is found when it is read, as before).
BACKLOG = "aggregates_backlog"
# meta key: "SEQ N", the outbox seq and transition_batches n up to which the aggregate tables hold what was committed
# after the backlog. The owner adds its commits' counts to the tables every FOLD_COMMITS commits (or once it holds
# FOLD_PAIRS distinct-reach pairs, and when they are asked for, and on close) rather than at every commit: the
# distinct-reach rows are inserted all over their B-tree, and a commit that writes them rewrites most of its pages
# (docs/performance.md). A crash loses the counts not yet added; the next owner counts them again from the records
# past this mark when it opens the store.
FOLDED = "aggregates_folded"
FOLD_COMMITS = 16
FOLD_PAIRS = 100_000
# A commit's aggregates, added to the tables inside the commit's transaction (aggregates.Aggregator).
ADD_RECORDS = (
    "INSERT INTO agg_records (journey, version, kind, label, status, n, total, priced) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (journey, version, kind, label, status) DO UPDATE SET n = n + excluded.n,"
    " total = total + excluded.total, priced = priced + excluded.priced"
)
ADD_EDGES = (
    "INSERT INTO agg_edges (journey, version, from_step, to_step, n) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (journey, version, from_step, to_step) DO UPDATE SET n = n + excluded.n"
)
ADD_STEP_REACH = (
    "INSERT INTO agg_steps (journey, version, step, reach) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (journey, version, step) DO UPDATE SET reach = reach + excluded.reach"
)
# Active instances and pending timers by (journey, version, step id), as IN_FLIGHT below.
IN_FLIGHT_STEPS = (
    "SELECT json_extract(i.value, '$[0]'), json_extract(i.value, '$[1]'), json_extract(i.value, '$[5]'), count(*),"
    " count(json_extract(i.value, '$[7]'))"
    " FROM customers AS c, json_each(CAST(c.state AS TEXT), '$[0]') AS i"
    " WHERE json_extract(i.value, '$[4]') = 1 AND c.id NOT IN (SELECT value FROM json_each(?))"
    " GROUP BY 1, 2, 3"
)
# Sends held for a contact policy by (journey, channel): state[1] is the cap counts, "@offers" their waiting sends.
WAITING_SENDS = (
    "SELECT json_extract(o.value, '$[3]'), json_extract(o.value, '$[5]'), count(*)"
    " FROM customers AS c, json_each(CAST(c.state AS TEXT), '$[1].\"@offers\"') AS o"
    " WHERE c.due IS NOT NULL AND c.id NOT IN (SELECT value FROM json_each(?))"
    " GROUP BY 1, 2"
)
# outbox_claims.delivered (and outbox.delivered of layouts 3 and 4): 0 waiting, 1 accepted by its sink, 2 dead
DELIVERED, DEAD = 1, 2

# The log layout (schema version 2) and the tables only it has; its transition_batches and event_batches are
# the same as today's and stay as they are.
LOG_TABLES = ("customer_log", "seen_batches", "outbox_batches")
# The tables of the one-row-per-item layout and their columns: only tables exactly like these are converted (and
# dropped), so a database that merely has a table of one of these names is refused, not altered.
LEGACY_TABLES = {
    "customers": ["id", "state"],
    "profiles": ["id", "profile"],
    "seen": ["id"],
    "outbox": ["seq", "record"],
    "transitions": ["seq", "journey", "version", "customer_id", "instance", "from_step", "to_step", "at", "via"],
}

# Writing a customer: a changed profile is written with the state; otherwise only state and due (the profile is
# larger and changes less). A customer written for the first time always comes with its profile.
UPSERT_FULL = (
    "INSERT INTO customers (id, state, profile, due) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
    " state = excluded.state, profile = excluded.profile, due = excluded.due"
)
UPSERT_STATE = (
    "INSERT INTO customers (id, state, profile, due) VALUES (?, ?, X'7B7D', ?) ON CONFLICT (id) DO UPDATE SET"
    " state = excluded.state, due = excluded.due"
)
# Active instances by (journey, version), counted by SQLite's JSON functions (state[0] is {slot: instance});
# the pending customers (the JSON array of ids bound) are counted from memory instead.
IN_FLIGHT = (
    "SELECT json_extract(i.value, '$[0]'), json_extract(i.value, '$[1]'), count(*)"
    " FROM customers AS c, json_each(CAST(c.state AS TEXT), '$[0]') AS i"
    " WHERE json_extract(i.value, '$[4]') = 1 AND c.id NOT IN (SELECT value FROM json_each(?))"
    " GROUP BY 1, 2"
)
# `prefetch`: the rows of a JSON array of ids, in one query each.
PREFETCH_CUSTOMERS = "SELECT id, state, profile FROM customers WHERE id IN (SELECT value FROM json_each(?))"
PREFETCH_SEEN = "SELECT id FROM seen WHERE id IN (SELECT value FROM json_each(?))"
# A claim runs in an IMMEDIATE transaction: SQLite has no SKIP LOCKED, and the write lock serialises workers
# instead. Records up to meta.delivered were printed by `run` and are not handed out again. The claimable rows of
# records claimed before (their lease ran out, or their retry time came):
CLAIMABLE = (
    "SELECT seq, attempts FROM outbox_claims WHERE delivered = 0 AND seq > ?"
    " AND (not_before IS NULL OR not_before <= ?) AND (claimed_until IS NULL OR claimed_until <= ?)"
    " ORDER BY seq LIMIT ?"
)

DEFAULT_CACHE = 10_000
DEFAULT_SEEN_RETENTION = 30 * 86_400.0
PAGE = 512  # rows of the due index read at a time
# Committed records kept in memory for `take_deliverable` (what `run` prints next); past that they are read back
# from the outbox when asked for, so a store nobody takes records from (`serve`) does not grow in memory.
KEEP_DELIVERABLE = 50_000
# How long a delivery worker waits for the owner's commit (or another worker's claim) before giving up.
BUSY_TIMEOUT = 30.0

URL_PARAMETERS = ("batch", "synchronous", "cache", "seen_retention")
SYNCHRONOUS = ("normal", "full")
_DURATION = re.compile(r"([0-9]{1,9}(?:\.[0-9]{1,6})?)([smhd])")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}


@dataclass(frozen=True, slots=True)
class Settings:
    """What a `sqlite:` URL says: the file and the store's settings (`parse_url`)."""

    path: str
    batch: int = DEFAULT_BATCH
    synchronous: str = "normal"
    cache: int = DEFAULT_CACHE
    seen_retention: float = DEFAULT_SEEN_RETENTION


def _whole(value: str, smallest: int) -> int | None:
    """`value` as a whole number from `smallest`, in ASCII digits (at most 9), or None."""
    if value.isascii() and value.isdigit() and 0 < len(value) <= 9 and int(value) >= smallest:
        return int(value)
    return None


def parse_url(url: str) -> Settings:
    """The settings of `sqlite:///PATH[?batch=N&synchronous=normal|full&cache=N&seen_retention=30d]`.

    Raises StoreError for anything else: a misspelt or repeated parameter, or a value it cannot take, would
    otherwise be ignored, and the store would run with settings the user did not ask for."""
    if not url.startswith("sqlite:///"):
        raise StoreError(f"invalid store URL {url!r}: use sqlite:///PATH (sqlite:////PATH for an absolute path)")
    path, _, query = url[len("sqlite:///") :].partition("?")
    if not path:
        raise StoreError(f"the SQLite store URL {url!r} names no file: use sqlite:///PATH")
    if "#" in url:
        raise StoreError(f"invalid store URL {url!r}: a store URL has no #fragment")
    values: dict[str, Any] = {}
    for item in query.split("&") if query else ():
        name, equals, value = (unquote(part) if part != "=" else part for part in item.partition("="))
        if name not in URL_PARAMETERS:
            raise StoreError(
                f"invalid store URL {url!r}: unknown parameter {name!r} (known: {', '.join(URL_PARAMETERS)})"
            )
        if name in values:
            raise StoreError(f"invalid store URL {url!r}: {name} is given twice")
        values[name] = _parameter(url, name, value if equals else None)
    return Settings(path, **values)


def _parameter(url: str, name: str, value: str | None) -> Any:
    """The value of one URL parameter (None: given without `=`), or StoreError saying what it takes."""
    text = value or ""
    if name == "batch":
        batch = _whole(text, 1)
        if batch is None:
            raise StoreError(f"invalid store URL {url!r}: batch must be a whole number from 1, not {text!r}")
        return batch
    if name == "cache":
        cache = _whole(text, 0)
        if cache is None:
            raise StoreError(
                f"invalid store URL {url!r}: cache must be a whole number of customers from 0, not {text!r}"
            )
        return cache
    if name == "seen_retention":
        match = _DURATION.fullmatch(text)
        seconds = float(match[1]) * _UNIT[match[2]] if match else 0.0
        if not seconds > 0:
            raise StoreError(
                f"invalid store URL {url!r}: seen_retention must be a duration above zero such as 30d, 12h, 90m "
                f"or 3600s, not {text!r}"
            )
        return seconds
    if value is None or text.lower() not in SYNCHRONOUS:
        raise StoreError(f"invalid store URL {url!r}: synchronous must be {' or '.join(SYNCHRONOUS)}, not {text!r}")
    return text.lower()


# ---------------------------------------------------------------------------------------------- ownership


class StoreLock:
    """Ownership of a store file: an exclusive lock on the sidecar file `PATH.lock`, which also names its owner
    (pid and host) for the message another process shows.

    `flock` and not SQLite's own locks: those last one transaction, while a store is read into memory on open and
    written back from memory for as long as it is open. The kernel releases a flock with the last descriptor of the
    file, so a process that dies, SIGKILL included, never leaves its store locked and there is no stale lock to
    clean up. The file is never deleted: a process could otherwise lock a file that another then replaced. On a
    network file system the lock is only as good as the server's locking."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._pid = os.getpid()

    @classmethod
    def acquire(cls, store_path: str, wait: float = 0.0) -> StoreLock:
        """Own the store at `store_path`, waiting up to `wait` seconds (`math.inf`: without bound) for another owner.

        Raises StoreBusyError while another process owns it, StoreError when the lock file cannot be used."""
        path = store_path + ".lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # not inherited by child processes (PEP 446)
        except OSError as err:
            raise StoreError(
                f"cannot open SQLite store {store_path}: its lock file {path}: {err.strerror or err}"
            ) from err
        try:
            # Polled rather than a blocking flock: one code path for a bounded and an unbounded wait, and Ctrl-C
            # interrupts it at once.
            deadline = time.monotonic() + wait
            while not _try_lock(fd):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreBusyError(
                        f"store sqlite:///{store_path} is in use by another journeydsl process{_owner_of(fd)}"
                    )
                time.sleep(min(0.05, remaining))
        except OSError as err:
            os.close(fd)
            raise StoreError(
                f"cannot open SQLite store {store_path}: cannot lock {path}: {err.strerror or err}"
            ) from err
        except BaseException:
            os.close(fd)
            raise
        _write_owner(fd)
        return cls(path, fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if os.getpid() == self._pid:  # not in a forked child, which shares the lock with its parent
            try:
                os.ftruncate(fd, 0)  # no owner from now on
            except OSError:
                pass
        os.close(fd)

    def __del__(self) -> None:
        # A store dropped without close(): its connection is gone, so nothing can write, and the lock must go too.
        try:
            self.release()
        except Exception:  # at interpreter exit `os` may already be torn down
            pass


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock without blocking; False while another process holds it."""
    if sys.platform == "win32":  # pragma: no cover - msvcrt locks are mandatory: others cannot read the owner
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _write_owner(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, dumps({"pid": os.getpid(), "host": socket.gethostname()}) + b"\n")
    except OSError:
        pass  # only the message of another process loses the owner's name; the lock is what counts


def _owner_of(fd: int) -> str:
    """` (pid N on host H)` from the lock file, or "" when it does not say (being written, or unreadable)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        owner = loads(os.read(fd, 4096))
        return f" (pid {int(owner['pid'])} on host {owner['host']})"
    except (OSError, ValueError, TypeError, KeyError):
        return ""


class _Connection(sqlite3.Connection):
    """The owner's connection holds the store's lock: closing it (or dropping it) releases the lock, so the lock
    lasts exactly as long as the one connection allowed to write the store."""

    store_lock: StoreLock | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            lock, self.store_lock = self.store_lock, None
            if lock is not None:
                lock.release()


# ---------------------------------------------------------------------------------------------- shapes

_NONE = type(None)
_NUMBER = frozenset({int, float})
# state.py's instance slots and the types each may hold (bool is not int here: `type(x) is int`). The contents of
# the event, variants and goals are not checked: the engine only copies them into records and compares them.
_SLOT_TYPES: tuple[tuple[int, str, frozenset[type]], ...] = (
    (S.JOURNEY, "journey", frozenset({str})),
    (S.VERSION, "version", frozenset({int})),
    (S.KEY, "key", frozenset({str, _NONE})),
    (S.NUMBER, "number", frozenset({int})),
    (S.ACTIVE, "active", frozenset({int})),
    (S.STEP, "step", frozenset({int, _NONE})),
    (S.ENTERED, "entered", _NUMBER),
    (S.TIMER, "timer", _NUMBER | {_NONE}),
    (S.SEQ, "seq", frozenset({int})),
    (S.EVENT, "event", frozenset({dict, _NONE})),
    (S.VARIANT, "variant", frozenset({str, _NONE})),
    (S.VARIANTS, "variants", frozenset({dict, _NONE})),
    (S.GOALS, "goals", frozenset({list, _NONE})),
    (S.SINCE, "since", _NUMBER),
)
# An instance written before the last slot existed is upgraded by the engine (state.upgrade).
_SIZES = (S.SLOTS - 1, S.SLOTS)


def _instance_problem(inst: Any) -> str | None:
    """What is wrong with a stored instance, or None."""
    if type(inst) is not list:
        return f"is {type(inst).__name__}, not a list of {S.SLOTS} slots"
    size = len(inst)
    if size not in _SIZES:
        return f"has {size} slots, not {S.SLOTS}"
    for index, name, kinds in _SLOT_TYPES:
        if index < size and type(inst[index]) not in kinds:
            return f"has {type(inst[index]).__name__} in slot {index} ({name})"
    if inst[S.ACTIVE] not in (0, 1):
        return f"has {inst[S.ACTIVE]!r} in slot {S.ACTIVE} (active), not 0 or 1"
    return None


def _instance_ok(inst: Any) -> bool:
    """_instance_problem(inst) is None, fast: it runs for every stored instance on open (slots as in _SLOT_TYPES)."""
    return (
        type(inst) is list
        and len(inst) in _SIZES
        and type(inst[0]) is str
        and type(inst[1]) is int
        and (inst[2] is None or type(inst[2]) is str)
        and type(inst[3]) is int
        and type(inst[4]) is int
        and (inst[4] == 1 or inst[4] == 0)
        and (inst[5] is None or type(inst[5]) is int)
        and type(inst[6]) in _NUMBER
        and (inst[7] is None or type(inst[7]) in _NUMBER)
        and type(inst[8]) is int
        and (inst[9] is None or type(inst[9]) is dict)
        and (inst[10] is None or type(inst[10]) is str)
        and (inst[11] is None or type(inst[11]) is dict)
        and (inst[12] is None or type(inst[12]) is list)
        and (len(inst) < 14 or type(inst[13]) in _NUMBER)
    )


if [index for index, _, _ in _SLOT_TYPES] != list(range(14)):  # pragma: no cover - a guard for state.py's edits
    raise ImportError("the instance slots of runtime/state.py changed: update the checks in store_sqlite.py")


def _customer_problem(instances: Any, caps: Any) -> str | None:
    """What is wrong with a customer's instances ({slot: instance}) and cap counts ({cap: [times]}), or None."""
    if type(instances) is not dict:
        return f"has instances of type {type(instances).__name__}, not an object"
    if type(caps) is not dict:
        return f"has cap counts of type {type(caps).__name__}, not an object"
    for slot, inst in instances.items():
        if not _instance_ok(inst):
            return f"has an instance {slot!r} that {_instance_problem(inst)}"
    for cap, times in caps.items():
        if cap[:1] == "@":  # a contact policy's shared sends or waiting sends (state.py)
            problem = S.policy_state_problem(cap, times)
            if problem is not None:
                return problem
        elif type(times) is not list or not _NUMBER.issuperset(map(type, times)):
            return f"has cap counts {cap!r} that are not a list of times"
    return None


def _states_problem(states: Any) -> str | None:
    """What is wrong with a customer_log row's states ({customer: [instances, cap counts]}), or None."""
    if type(states) is not dict:
        return f"holds states of type {type(states).__name__}, not an object"
    ok = _instance_ok
    for customer_id, value in states.items():
        if type(value) is not list or len(value) != 2:
            return f"holds customer {customer_id!r} whose state is not [instances, cap counts]"
        instances, caps = value
        # The common case inline (a call per customer costs as much as the checks); the message from the slow path.
        if type(instances) is dict and type(caps) is dict and all(map(ok, instances.values())):
            if not caps:
                continue
            for times in caps.values():
                if type(times) is not list or not _NUMBER.issuperset(map(type, times)):
                    break
            else:
                continue
        problem = _customer_problem(instances, caps)  # None: the slow path passed what the fast one did not
        if problem is not None:
            return f"holds customer {customer_id!r} that {problem}"
    return None


def _profiles_problem(profiles: Any) -> str | None:
    if type(profiles) is not dict:
        return f"holds profiles of type {type(profiles).__name__}, not an object"
    for customer_id, profile in profiles.items():
        if type(profile) is not dict:
            return f"holds customer {customer_id!r} whose profile is {type(profile).__name__}, not an object"
    return None


# transition rows: journey, version, customer_id, instance, from_step, to_step, at, via (store.TRANSITION_FIELDS)
_TRANSITION_TYPES = (
    frozenset({str}),
    frozenset({int}),
    frozenset({str}),
    frozenset({str}),
    frozenset({str, _NONE}),
    frozenset({str}),
    _NUMBER,
    frozenset({str, _NONE}),
)


def _transition_ok(row: Any) -> bool:
    return (
        type(row) is list
        and len(row) == 8
        and all(type(value) in kinds for value, kinds in zip(row, _TRANSITION_TYPES, strict=True))
    )


def _lines(data: bytes) -> list[bytes]:
    """The JSON Lines of a log row (orjson escapes every newline inside a string, so each is one record)."""
    return data.split(b"\n")[:-1]


def _page(first: int, lines: list[bytes]) -> tuple[int, int, bytes]:
    """A row of outbox_pages: records `first` on, their JSON lines (without newlines) as JSON Lines."""
    return first, first + len(lines) - 1, b"\n".join(lines) + b"\n"


@contextmanager
def _read_errors(path: str) -> Iterator[None]:
    """An error of SQLite while reading (a damaged page or schema) raised as a StoreError naming the file."""
    try:
        yield
    except sqlite3.DatabaseError as err:
        raise StoreError(f"cannot read SQLite store {path}: {err}") from err


def _reading(path: str, rows: Iterator[Any]) -> Iterator[Any]:
    """`rows`, with an error of SQLite while reading them raised as a StoreError (`_read_errors`)."""
    with _read_errors(path):
        yield from rows


def _new_customer() -> dict[str, Any]:
    return {"p": {}, "i": {}, "c": {}}


def _record_number(text: Any) -> int | None:
    """A record number kept as text in meta (a whole number of at most 18 digits), or None when `text` is not one."""
    if type(text) is not str or not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


class SqliteStore(Store):
    schemes = ("sqlite",)

    def __init__(
        self,
        path: str,
        batch: int = DEFAULT_BATCH,
        synchronous: str = "NORMAL",
        mode: OpenMode = "auto",
        wait: float = 0.0,
        cache: int = DEFAULT_CACHE,
        seen_retention: float = DEFAULT_SEEN_RETENTION,
    ) -> None:
        """`mode` and `wait` as in `stores.open_store` (mode "deliver": `from_url` opens a `DeliveryStore`). A copy
        that does not own the store reads one consistent snapshot of it and raises StoreError on anything that
        would write (a commit, a delivery, new plans)."""
        super().__init__(durable=True)
        if path != ":memory:" and not os.path.exists(path) and os.path.exists(path + ".shards"):
            # `run --workers N` made this store as N files beside the named one: opening the named path alone
            # would make a new, empty store and answer as if it were the whole one.
            from journeydsl.runtime.shards import recorded_shards, sharded_store_error

            raise StoreError(sharded_store_error(path, recorded_shards(path) or 0))
        self.path = path
        self.batch = max(1, int(batch))
        self.cache_size = max(0, int(cache))
        self.seen_retention = float(seen_retention)
        # One thread at a time on the connection: `serve` may settle deliveries beside the engine's commits.
        self._lock = threading.RLock()
        # Why this copy may not write (another process owns the store, or it was opened to read), or None.
        self._read_only: str | None = f"store sqlite:///{path} was opened read-only" if mode == "read" else None
        self._schema = SCHEMA_VERSION  # the layout opened (READABLE_VERSIONS)
        self._init_pending()
        lock: StoreLock | None = None
        try:
            if mode != "read" and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                try:
                    lock = StoreLock.acquire(path, wait if mode == "write" else 0.0)
                except StoreBusyError as busy:
                    if mode == "write":
                        raise
                    self._read_only = str(busy)
            if self._read_only is None:
                db = sqlite3.connect(
                    path, isolation_level=None, check_same_thread=False, factory=_Connection, timeout=BUSY_TIMEOUT
                )
                self._db: sqlite3.Connection = db
                db.store_lock, lock = lock, None  # from here closing the connection releases the lock
                self._open_to_write(synchronous)
            else:
                self._open_to_read()
            self._read_state()
        except BaseException as err:
            if lock is not None:
                lock.release()
            if hasattr(self, "_db"):
                self._db.close()
            raise _open_error(path, err) from err

    def _init_pending(self) -> None:
        # cid -> [customer, write its profile too]: what the current batch saved
        self._saved: dict[str, list[Any]] = {}
        # cid -> its due time as the current batch left it (None: none, or popped by pop_due)
        self._due_override: dict[str, float | None] = {}
        self._due_heap: list[tuple[float, str]] = []  # (due, cid) of _due_override, stale entries skipped
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()  # committed customers, least recent first
        # The open page of the due index: every committed (due, id) up to _cursor that is not pending, as a heap
        # with its current due by id (an entry whose due is no longer _page_due's is stale).
        self._page: list[tuple[float, str]] = []
        self._page_due: dict[str, float] = {}
        self._cursor: tuple[float, str] | None = None
        self._page_complete = False  # nothing committed lies past _cursor
        self._new_seen: dict[str, float] = {}
        # What the last `prefetch` found: customers not in the store, event ids seen and not seen. Only this
        # process writes the store, so they stay so until it saves the customer or adds the id.
        self._absent: set[str] = set()
        self._seen_known: set[str] = set()
        self._unseen: set[str] = set()
        self._new_events: list[dict[str, Any]] = []
        self._new_records: list[dict[str, Any]] = []
        self._new_transitions: list[Transition] = []
        self._commits = CommitPolicy()
        self._next_purge = -math.inf
        # Counts of committed records and transitions not yet in the aggregate tables (FOLDED), and of how many
        # commits; `_batch_n` is the last transition_batches row.
        self._unfolded = Aggregator()
        self._unfolded_commits = 0
        self._unfolded_pairs = 0
        self._batch_n = 0

    @classmethod
    def from_url(cls, url: str, batch: int | None = None, mode: OpenMode = "auto", wait: float = 0.0) -> SqliteStore:
        settings = parse_url(url)
        if mode == "deliver":
            return DeliveryStore(settings.path, wait=wait)
        return cls(
            settings.path,
            batch=settings.batch if batch is None else batch,
            synchronous=settings.synchronous,
            mode=mode,
            wait=wait,
            cache=settings.cache,
            seen_retention=settings.seen_retention,
        )

    @property
    def read_only(self) -> bool:
        """True for a copy that may not write: another process owned the store when it was opened, or mode "read"."""
        return self._read_only is not None

    # ---- opening

    def _open_to_write(self, synchronous: str) -> None:
        db = self._db
        names = self._table_names()
        version = self._schema_version(names)
        # Checked before anything is set or created: a database that is not a store is refused, not altered.
        old: list[str] = []
        if version is None and names:
            old = [name for name in LEGACY_TABLES if name in names]
            for name in old:
                columns = [row[1] for row in db.execute(f"PRAGMA table_info({name})")]
                if columns != LEGACY_TABLES[name]:
                    raise StoreError(f"{self.path} is not a journeydsl store: its table {name} has columns {columns}")
            old += [name for name in LOG_TABLES if name in names]
            if "meta" not in names and not old:
                raise StoreError(
                    f"{self.path} is not a journeydsl store: it holds the tables {', '.join(sorted(names))}"
                )
        elif version is not None:
            self._check_version(version, names)
        # Only a new file takes a page size (it must come before WAL is set). A commit rewrites the customers it
        # changed in place, scattered over the table: SQLite's 4 KiB pages write less around each than larger ones.
        db.execute("PRAGMA page_size=4096")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if synchronous.upper() == 'FULL' else 'NORMAL'}")
        # A larger page cache (64 MB) and fewer, larger WAL checkpoints (about every 40 MB written) cut the
        # time spent copying pages back into the database.
        db.execute("PRAGMA cache_size=-65536")
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        db.execute(f"PRAGMA wal_autocheckpoint={(40 << 20) // page_size}")
        db.execute("PRAGMA temp_store=MEMORY")
        if version == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            if old:
                _Converter(self, old).run()
            else:  # a new store, or layout 3 or 4: its tables stay, its outbox is converted, aggregate tables added
                self._create()
                if version in ROW_OUTBOX_VERSIONS:
                    self._convert_row_outbox()
            if version != 4:  # layout 4 has its aggregate tables, and their backlog mark
                self._mark_backlog()
            # Everything past the backlog is in the aggregate tables (layout 4 added it at every commit).
            db.execute(
                "INSERT OR IGNORE INTO meta (k, v) VALUES (?, ?)",
                (FOLDED, f"{self._last_seq()} {self._last_batch()}"),
            )
            db.execute("COMMIT")
            self._schema = SCHEMA_VERSION
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _create(self) -> None:
        """The tables of the current layout, and its version (inside the caller's transaction)."""
        for statement in SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)
        self._db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _convert_row_outbox(self) -> None:
        """The outbox of layout 3 or 4, a row per record, as pages of records and the claims of delivery workers
        (inside the caller's transaction, after `_create`): the records' bytes are kept as they are, a record
        delivery workers settled in order after `run`'s mark moves the floor, and any other record that is not
        simply waiting keeps its delivery state as a row of outbox_claims."""
        db = self._db
        _, mark = self._read_meta(db)
        floor, prefix = mark, True
        page: list[bytes] = []
        first = previous = 0
        claims: list[tuple[int, int, int, float | None, float | None, str | None]] = []
        for seq, record, delivered, attempts, not_before, claimed_until, error in _reading(
            self.path,
            db.execute(
                "SELECT seq, record, delivered, attempts, not_before, claimed_until, error FROM outbox ORDER BY seq"
            ),
        ):
            where = f"outbox row {seq!r}"
            data = record.encode() if type(record) is str else record
            if type(seq) is not int or type(data) is not bytes or b"\n" in data:
                raise self._damaged(where, "does not hold one JSON line")
            if (
                delivered not in (0, DELIVERED, DEAD)
                or type(attempts) is not int
                or not all(value is None or type(value) in _NUMBER for value in (not_before, claimed_until))
                or not (error is None or type(error) is str)
            ):
                raise self._damaged(where, "has a delivery state of the wrong types")
            if page and (seq != previous + 1 or len(page) == PAGE_RECORDS):
                db.execute("INSERT INTO outbox_pages (first, last, lines) VALUES (?, ?, ?)", _page(first, page))
                page = []
            if not page:
                first = seq
            page.append(data)
            previous = seq
            if seq <= mark:
                continue
            if prefix and delivered != 0 and seq == floor + 1:
                floor = seq
                continue
            prefix = False
            if delivered != 0 or attempts != 0 or not_before is not None or claimed_until is not None or error:
                claims.append((seq, delivered, attempts, not_before, claimed_until, error))
        if page:
            db.execute("INSERT INTO outbox_pages (first, last, lines) VALUES (?, ?, ?)", _page(first, page))
        db.executemany(
            "INSERT INTO outbox_claims (seq, delivered, attempts, not_before, claimed_until, error)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            claims,
        )
        db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (FLOOR, str(floor)))
        db.execute("DROP TABLE outbox")
        self._schema = SCHEMA_VERSION

    def _last_seq(self) -> int:
        """The number of the outbox's last record (0: none)."""
        if self._schema in ROW_OUTBOX_VERSIONS:
            row = self._db.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()
        else:
            row = self._db.execute("SELECT coalesce(max(last), 0) FROM outbox_pages").fetchone()
        if type(row[0]) is not int:
            raise self._damaged("table outbox_pages", f"numbers a record {row[0]!r}", "read")
        return int(row[0])

    def _mark_backlog(self) -> None:
        """Every record and transition already in the store is backlog for the aggregate tables (none in a new
        store), inside the caller's transaction."""
        seq = self._last_seq()
        self._db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (BACKLOG, f"{seq} {self._last_batch()}"))

    def _last_batch(self) -> int:
        """The number of the last transition_batches row (0: none)."""
        row = self._db.execute("SELECT coalesce(max(n), 0) FROM transition_batches").fetchone()
        if type(row[0]) is not int:
            raise self._damaged("table transition_batches", f"numbers a row {row[0]!r}", "read")
        return int(row[0])

    def _open_to_read(self) -> None:
        if not Path(self.path).is_file():  # connecting would create an empty database
            raise StoreError(f"no store at {self.path} (run events into it first with `journeydsl run`)")
        db = self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA query_only=ON")  # whatever happens, this connection cannot write
        # Everything this copy reads comes from one snapshot, while the owner goes on writing (WAL).
        db.execute("BEGIN")
        names = self._table_names()
        version = self._schema_version(names)
        if version is None:
            if any(name in names for name in (*LEGACY_TABLES, *LOG_TABLES)):
                raise StoreError(
                    f"{self._read_only}, and it is in the layout of an older journeydsl, which only its owner "
                    "converts (open it once with `journeydsl run` or `serve`)"
                )
            raise StoreError(f"{self.path} is not a journeydsl store: it has no schema version in a table meta")
        self._check_version(version, names)

    def _check_version(self, version: int, names: set[str]) -> None:
        if version not in READABLE_VERSIONS:
            raise StoreError(
                f"cannot open SQLite store {self.path}: it has schema version {version}, and this journeydsl "
                f"reads version {SCHEMA_VERSION} (written by a newer journeydsl?)"
            )
        self._schema = version
        missing = [name for name in VERSION_TABLES[version] if name not in names]
        if missing:
            raise StoreError(f"{self.path} is not a journeydsl store: it has no table {', '.join(missing)}")

    def _schema_version(self, names: set[str]) -> int | None:
        """meta.schema_version, or None for a store written before it existed (or a database that is no store)."""
        if "meta" not in names:
            return None
        row = self._db.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()
        if row is None:
            return None
        value = row[0]
        if type(value) is not str or _whole(value, 1) is None:
            raise self._damaged("table meta", f"holds a schema version {value!r} that is not a number")
        return int(value)

    def _table_names(self) -> set[str]:
        rows = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row[0]) for row in rows if not str(row[0]).startswith("sqlite_")}

    def _read_state(self) -> None:
        """The little read at open: clock, delivered mark, the outbox's end, the plans."""
        db = self._db
        self.clock, self._delivered = self._read_meta(db)
        self._delivered_written = self._delivered
        self._seq = self._last_seq()
        self._batch_n = self._last_batch()
        if self._delivered > self._seq:
            raise self._damaged("table meta", f"marks {self._delivered} records delivered of {self._seq}")
        # Committed but not printed (a crash, or records `serve` left to its workers): read from the outbox when
        # `take_deliverable` first asks, not held in memory from the start.
        self._deliverable: list[dict[str, Any]] | None = None
        self._deliverable_lines: list[bytes] = []
        self._deliverable_upto = self._seq
        self._plans = self._read_plans(db)
        if self._read_only is None and self._schema == SCHEMA_VERSION:
            seq, n = self._meta_pair(FOLDED, "open")
            if seq < self._seq or n < self._batch_n:  # the counts a crash lost: added with the next commit
                self._unfolded.add_records(_reading(self.path, self._actions(after=seq)))
                self._unfolded.add_transition_dicts(_reading(self.path, self._transitions(after=n)))
                self._unfolded_commits = FOLD_COMMITS

    def _read_meta(self, db: sqlite3.Connection) -> tuple[float | None, int]:
        meta = dict(db.execute("SELECT k, v FROM meta").fetchall())
        clock_text, delivered = meta.get("clock"), meta.get("delivered", "0")
        clock: float | None = None
        if clock_text is not None:
            try:
                clock = float(clock_text) if type(clock_text) is str else math.nan
            except ValueError:
                clock = math.nan
            if not math.isfinite(clock):
                raise self._damaged("table meta", f"holds a clock {clock_text!r} that is not a time")
        # Up to 18 digits: a record number SQLite can compare (its integers are 64-bit).
        if type(delivered) is not str or not delivered.isascii() or not delivered.isdigit() or len(delivered) > 18:
            raise self._damaged("table meta", f"holds a delivered mark {delivered!r} that is not a record number")
        return clock, int(delivered)

    def _read_plans(self, db: sqlite3.Connection) -> dict[tuple[str, int], dict[str, Any]]:
        plans: dict[tuple[str, int], dict[str, Any]] = {}
        for journey, version, plan in db.execute("SELECT journey, version, plan FROM plans"):
            where = f"plans row ({journey!r}, {version!r})"
            decoded = self._json(plan, where)
            if type(journey) is not str or type(version) is not int or type(decoded) is not dict:
                raise self._damaged(where, "is not a journey, a version and a plan")
            plans[(journey, version)] = decoded
        return plans

    def _damaged(self, where: str, what: str, verb: str = "open") -> StoreError:
        return StoreError(f"cannot {verb} SQLite store {self.path}: {where} {what}")

    def _json(self, data: Any, where: str, verb: str = "open") -> Any:
        if type(data) is not bytes and type(data) is not str:
            raise self._damaged(where, f"holds {type(data).__name__}, not JSON", verb)
        try:
            return loads(data)
        except ValueError as err:
            raise self._damaged(where, f"is not JSON ({err})", verb) from err

    def _write_error(self, err: sqlite3.Error) -> StoreError:
        return StoreError(f"cannot commit to the SQLite store {self.path}: {err}")

    def record_plans(self, plans: Mapping[tuple[str, int], dict[str, Any]]) -> None:
        fresh = {key: plan for key, plan in plans.items() if key not in self._plans}
        if fresh:
            if self._read_only is not None:
                raise StoreError(f"{self._read_only}: this copy cannot record the plans of a new bundle")
            rows = [(j, v, dumps(plan)) for (j, v), plan in sorted(fresh.items())]
            self._write_at_once("INSERT OR REPLACE INTO plans (journey, version, plan) VALUES (?, ?, ?)", rows)
            super().record_plans(fresh)

    @contextmanager
    def _at_once(self) -> Iterator[sqlite3.Connection]:
        """A small IMMEDIATE transaction of its own (not part of the pending batch), committed when the block ends;
        rolled back on any error, an error of SQLite's raised as a StoreError."""
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except sqlite3.Error as err:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise self._write_error(err) from err
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _write_at_once(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One statement over `rows`, in its own small transaction (not part of the pending batch)."""
        with self._at_once() as db:
            db.executemany(sql, rows)

    # ---- customers, on demand

    def load(self, customer_id: str) -> dict[str, Any] | None:
        entry = self._saved.get(customer_id)
        if entry is not None:
            customer: dict[str, Any] = entry[0]
            return customer
        cache = self._cache
        cached = cache.get(customer_id)
        if cached is not None:
            cache.move_to_end(customer_id)
            return cached
        if customer_id in self._absent:
            return None
        rows = self._read("SELECT state, profile FROM customers WHERE id = ?", (customer_id,))
        if not rows:
            return None
        row = rows[0]
        customer = self._customer(customer_id, row[0], row[1])
        self._remember(customer_id, customer)
        return customer

    def _customer(self, customer_id: Any, state: Any, profile: Any, verb: str = "read") -> dict[str, Any]:
        """A customers row as the engine's dict, checked for the shapes the engine relies on."""
        where = f"customers row {customer_id!r}"
        decoded = self._json(state, where, verb)
        if type(decoded) is not list or len(decoded) != 2:
            raise self._damaged(where, "holds a state that is not [instances, cap counts]", verb)
        instances, caps = decoded
        problem = _customer_problem(instances, caps)
        if problem is not None:
            raise self._damaged(where, problem, verb)
        decoded_profile = self._json(profile, where, verb)
        if type(decoded_profile) is not dict:
            raise self._damaged(where, f"holds a profile of type {type(decoded_profile).__name__}, not an object", verb)
        return {"p": decoded_profile, "i": instances, "c": caps}

    def _remember(self, customer_id: str, customer: dict[str, Any]) -> None:
        cache = self._cache
        cache[customer_id] = customer
        cache.move_to_end(customer_id)
        while len(cache) > self.cache_size:
            cache.popitem(last=False)

    def save(self, customer_id: str, customer: dict[str, Any], due: float | None, profile: bool) -> None:
        entry = self._saved.get(customer_id)
        if entry is None:
            # A customer not known to be stored (not loaded from the store) is written whole.
            self._saved[customer_id] = [customer, profile or customer_id not in self._cache]
            self._absent.discard(customer_id)
        else:
            entry[0] = customer
            if profile:
                entry[1] = True
        if due is not None:
            due = float(due)
            heapq.heappush(self._due_heap, (due, customer_id))
        self._due_override[customer_id] = due
        self._page_due.pop(customer_id, None)  # its committed row no longer says when it is due

    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The pending customers, then the committed ones by id, a page of rows at a time."""
        return _reading(self.path, self._scan())

    def _scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        pending = {cid: entry[0] for cid, entry in self._saved.items()}
        yield from pending.items()
        last: str | None = None
        while True:
            with self._lock:
                if last is None:
                    rows = self._db.execute(
                        "SELECT id, state, profile FROM customers ORDER BY id LIMIT ?", (PAGE,)
                    ).fetchall()
                else:
                    rows = self._db.execute(
                        "SELECT id, state, profile FROM customers WHERE id > ? ORDER BY id LIMIT ?", (last, PAGE)
                    ).fetchall()
            for customer_id, state, profile in rows:
                if type(customer_id) is not str:
                    raise self._damaged(f"customers row {customer_id!r}", "has an id that is not text", "read")
                if customer_id not in pending:
                    cached = self._cache.get(customer_id)
                    yield customer_id, cached if cached is not None else self._customer(customer_id, state, profile)
            if len(rows) < PAGE:
                return
            last = rows[-1][0]

    def customer_count(self) -> int:
        with self._lock:
            try:
                count = int(self._db.execute("SELECT count(*) FROM customers").fetchone()[0])
                if self._saved:
                    count += int(
                        self._db.execute(
                            "SELECT count(*) FROM json_each(?) WHERE value NOT IN (SELECT id FROM customers)",
                            (dumps(list(self._saved)),),
                        ).fetchone()[0]
                    )
            except sqlite3.DatabaseError as err:
                raise StoreError(f"cannot read SQLite store {self.path}: {err}") from err
        return count

    def in_flight_versions(self) -> dict[tuple[str, int], int]:
        found: dict[tuple[str, int], int] = {}
        rows, pending = self._over_committed(IN_FLIGHT)
        for journey, version, count in rows:
            if type(journey) is not str or type(version) is not int:
                self._find_damaged_state()
                raise self._damaged("table customers", "holds an instance without a journey and version", "read")
            found[(journey, version)] = count
        for customer in pending:
            for inst in customer["i"].values():
                if inst[S.ACTIVE]:
                    key = (inst[S.JOURNEY], inst[S.VERSION])
                    found[key] = found.get(key, 0) + 1
        return found

    def _over_committed(self, query: str) -> tuple[list[Any], list[dict[str, Any]]]:
        """`query`'s rows over the committed customers but those of the open batch (its one parameter: their ids, a
        JSON array), and the open batch's customers, read at one moment: a count takes them from memory."""
        with self._lock, _read_errors(self.path):
            try:
                rows = self._db.execute(query, (dumps(list(self._saved)),)).fetchall()
            except sqlite3.DatabaseError:  # a state that is not JSON: say which customer, if a scan finds it
                self._find_damaged_state()
                raise
            return rows, [entry[0] for entry in self._saved.values()]

    def _find_damaged_state(self) -> None:
        """Raise the StoreError naming the first damaged customers row (a scan checks each)."""
        for _ in self.scan():
            pass

    # ---- timers

    def pop_due(self, upto: float) -> tuple[float, str] | None:
        heap, page = self._due_heap, self._page
        # The common answer (asked before every event), without cleaning stale entries: every entry of a heap is
        # at or after its top, and every committed key not in the page lies past the page's entries.
        if page and page[0][0] > upto and (not heap or heap[0][0] > upto):
            return None
        override = self._due_override
        while heap and override.get(heap[0][1], -math.inf) != heap[0][0]:
            heapq.heappop(heap)
        pending = heap[0] if heap else None
        committed = self._page_top()
        if committed is not None and (pending is None or committed < pending):
            if committed[0] > upto:
                return None
            heapq.heappop(self._page)
            del self._page_due[committed[1]]
            override[committed[1]] = None
            return committed
        if pending is None or pending[0] > upto:
            return None
        heapq.heappop(heap)
        override[pending[1]] = None
        return pending

    def _page_top(self) -> tuple[float, str] | None:
        """The first committed (due, id) not overridden by the pending batch, reading the index on as needed."""
        page, page_due = self._page, self._page_due
        while True:
            while page and page_due.get(page[0][1]) != page[0][0]:
                heapq.heappop(page)
            if page:
                return page[0]
            if self._page_complete:
                return None
            self._read_page()

    def _read_page(self) -> None:
        """The next PAGE keys of the due index past the cursor (the page is empty: sorted rows are a heap)."""
        cursor = self._cursor
        with self._lock:
            try:
                if cursor is None:
                    rows = self._db.execute(
                        "SELECT due, id FROM customers WHERE due IS NOT NULL ORDER BY due, id LIMIT ?", (PAGE,)
                    ).fetchall()
                else:
                    rows = self._db.execute(
                        "SELECT due, id FROM customers WHERE due IS NOT NULL AND (due, id) > (?, ?)"
                        " ORDER BY due, id LIMIT ?",
                        (*cursor, PAGE),
                    ).fetchall()
            except sqlite3.DatabaseError as err:
                raise StoreError(f"cannot read SQLite store {self.path}: {err}") from err
        override, page, page_due = self._due_override, self._page, self._page_due
        for due, customer_id in rows:
            if type(customer_id) is not str or type(due) not in (float, int) or not math.isfinite(due):
                raise self._damaged(
                    f"customers row {customer_id!r}", f"has a due time {due!r} that is not a time", "read"
                )
            if customer_id not in override:  # a pending save or pop decides when it is due
                page.append((float(due), customer_id))
                page_due[customer_id] = float(due)
        if rows:
            self._cursor = (float(rows[-1][0]), rows[-1][1])
        self._page_complete = len(rows) < PAGE

    def _reconcile_page(self) -> None:
        """After a commit: the customers it wrote enter the open page when their key falls inside it (they would
        not be read again past the cursor); a later key means the page no longer holds everything."""
        cursor, page, page_due = self._cursor, self._page, self._page_due
        for customer_id, due in self._due_override.items():
            if due is None:
                continue
            if cursor is not None and (due, customer_id) <= cursor:
                page_due[customer_id] = due
                heapq.heappush(page, (due, customer_id))
            else:
                self._page_complete = False
        if len(page) > 4 * PAGE:  # many timers set inside the page: read it again instead of holding them all
            page.clear()
            page_due.clear()
            self._cursor = None
            self._page_complete = False

    # ---- seen event ids

    def seen_before(self, event_id: str) -> bool:
        if event_id in self._new_seen:
            return True
        if event_id in self._unseen:
            return False
        if event_id in self._seen_known:
            return True
        return bool(self._read("SELECT 1 FROM seen WHERE id = ?", (event_id,)))

    def add_seen(self, event_id: str, at: float) -> None:
        self._new_seen[event_id] = float(at)
        self._unseen.discard(event_id)

    def prefetch(self, customer_ids: Iterable[str], event_ids: Iterable[str]) -> None:
        """Read ahead, in one query each, the customers the next events will load (into the cache, at most `cache`
        of them; those not in the store are noted, so `load` answers None without a query) and whether their ids
        were seen. A row that is not a customer is left for `load`, which names it when its event comes. SQLite's
        JSON functions cut a string at NUL, so an id holding one is left to its own query."""
        saved, cache, new_seen = self._saved, self._cache, self._new_seen
        wanted = [
            cid for cid in dict.fromkeys(customer_ids) if cid not in saved and cid not in cache and "\x00" not in cid
        ][: self.cache_size]
        ids = [eid for eid in dict.fromkeys(event_ids) if eid not in new_seen and "\x00" not in eid]
        rows = self._read(PREFETCH_CUSTOMERS, (dumps(wanted),)) if wanted else []
        seen = {row[0] for row in self._read(PREFETCH_SEEN, (dumps(ids),))} if ids else set()
        found = set()
        for customer_id, state, profile in rows:
            found.add(customer_id)
            try:
                customer = self._customer(customer_id, state, profile)
            except StoreError:
                continue
            self._remember(customer_id, customer)
        self._absent = set(wanted).difference(found)
        self._seen_known = seen
        self._unseen = set(ids).difference(seen)

    def _read(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        """The rows of a query (`load`, `seen_before`, `prefetch`, the dead deliveries)."""
        with self._lock, _read_errors(self.path):
            return self._db.execute(sql, parameters).fetchall()

    # ---- what a unit of work produced

    def log_actions(self, records: list[dict[str, Any]]) -> None:
        self._new_records += records

    def log_event(self, event: dict[str, Any]) -> None:
        self._new_events.append(event)

    def events(self) -> Iterator[dict[str, Any]]:
        """The event history, a commit's events a row as JSON Lines (`event_batches`)."""
        return _reading(self.path, self._events())

    def _events(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT n, events FROM event_batches ORDER BY n").fetchall()
        for n, data in rows:
            if type(data) is not bytes:
                raise self._damaged(f"event_batches row {n}", "does not hold JSON Lines", "read")
            for line in _lines(data):
                event = self._json(line, f"event_batches row {n}", "read")
                if type(event) is not dict:
                    raise self._damaged(f"event_batches row {n}", "holds a line that is not an event", "read")
                yield event

    def log_transitions(self, rows: list[Transition]) -> None:
        self._new_transitions += rows

    def end_unit(self) -> None:
        if self._commits.unit_done(self.batch):
            self.flush()

    def _pending(self) -> bool:
        return bool(
            self._saved
            # Customers popped and not saved again lose their timer at the next commit; a read-only copy pops
            # its snapshot's timers without anything to commit.
            or (self._due_override and self._read_only is None)
            or self._new_seen
            or self._new_events
            or self._new_records
            or self._new_transitions
            or self._delivered != self._delivered_written
        )

    def flush(self) -> None:
        """Commit what is pending, in one transaction."""
        self._commits.committed()
        if self._read_only is not None:
            if self._pending():
                raise StoreError(f"{self._read_only}: this copy cannot commit its changes")
            return
        if self._pending():
            with self._lock:
                self._commit()

    def _commit(self) -> None:
        saved, override = self._saved, self._due_override
        whole: list[tuple[str, bytes, bytes, float | None]] = []
        states: list[tuple[str, bytes, float | None]] = []
        for customer_id, (customer, profile) in saved.items():
            state = dumps((customer["i"], customer["c"]))
            if profile:
                whole.append((customer_id, state, dumps(customer["p"]), override[customer_id]))
            else:
                states.append((customer_id, state, override[customer_id]))
        popped = [(cid,) for cid, due in override.items() if due is None and cid not in saved]
        records = self._new_records
        lines = [dumps(record) for record in records]
        first = self._seq + 1
        # A row per commit (or per PAGE_RECORDS records) instead of a row per record: the outbox is most of the
        # bytes a store writes, and a B-tree insert per record costs more than the bytes (docs/performance.md).
        pages = [_page(first + at, lines[at : at + PAGE_RECORDS]) for at in range(0, len(lines), PAGE_RECORDS)]
        # What this commit adds to the aggregate tables, counted before the transaction opens; added to the
        # tables with the counts of the commits before it when it is time to (FOLDED).
        delta = Aggregator()
        delta.add_records(records)
        for row in self._new_transitions:
            delta.add_transition(row[0], row[1], row[2], row[3], row[4], row[5])
        pairs = self._unfolded_pairs + sum(len(ids) for ids in delta.reach.values())
        fold = self._unfolded_commits + 1 >= FOLD_COMMITS or pairs >= FOLD_PAIRS
        if fold:
            delta.add_counts(self._unfolded)  # into the new one: the held counts stay as they are if this fails
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if fold:
                self._add_aggregates(delta)
            if whole:
                db.executemany(UPSERT_FULL, whole)
            if states:
                db.executemany(UPSERT_STATE, states)
            if popped:
                db.executemany("UPDATE customers SET due = NULL WHERE id = ?", popped)
            if self._new_seen:
                db.executemany("INSERT OR IGNORE INTO seen (id, at) VALUES (?, ?)", self._new_seen.items())
            if self._new_events:
                db.execute("INSERT INTO event_batches (events) VALUES (?)", (dumps_lines(self._new_events),))
            if pages:
                db.executemany("INSERT INTO outbox_pages (first, last, lines) VALUES (?, ?, ?)", pages)
            batch_n = self._batch_n
            if self._new_transitions:
                cursor = db.execute("INSERT INTO transition_batches (rows) VALUES (?)", (dumps(self._new_transitions),))
                batch_n = int(cursor.lastrowid or batch_n)
            meta = [("delivered", str(self._delivered))]
            if fold:
                meta.append((FOLDED, f"{first + len(records) - 1} {batch_n}"))
            if self.clock is not None:
                meta.append(("clock", repr(self.clock)))
                self._purge_seen(self.clock)
            db.executemany("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", meta)
            db.execute("COMMIT")
        except sqlite3.Error as err:
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._next_purge = -math.inf
            raise self._write_error(err) from err
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._next_purge = -math.inf
            raise
        self._delivered_written = self._delivered
        self._batch_n = batch_n
        if fold:
            self._unfolded, self._unfolded_commits, self._unfolded_pairs = Aggregator(), 0, 0
        else:
            self._unfolded.add_counts(delta)
            self._unfolded_commits += 1
            self._unfolded_pairs = pairs
        self._reconcile_page()
        for customer_id, (customer, _) in saved.items():
            self._remember(customer_id, customer)
        saved.clear()
        override.clear()
        self._due_heap.clear()
        if records:
            self._seq = self._deliverable_upto = first + len(records) - 1
            if self._deliverable is not None:
                self._deliverable += records
                self._deliverable_lines += [page[2] for page in pages]
                if len(self._deliverable) > KEEP_DELIVERABLE:  # nobody takes them: read back when asked
                    self._deliverable, self._deliverable_lines = None, []
            self._new_records = []
        self._new_seen.clear()
        self._new_events.clear()
        self._new_transitions.clear()

    def _add_aggregates(self, folded: Aggregator) -> None:
        """Add a commit's counts to the aggregate tables, inside its transaction."""
        db = self._db
        if folded.records:
            db.executemany(
                ADD_RECORDS, [(*key, n, total, priced) for key, (n, total, priced) in folded.records.items()]
            )
        converted = [(journey, version, i) for (journey, version), ids in folded.converted.items() for i in ids]
        if converted:
            db.executemany(
                "INSERT OR IGNORE INTO agg_converted (journey, version, instance) VALUES (?, ?, ?)", converted
            )
        if folded.edges:
            db.executemany(ADD_EDGES, [(*key, n) for key, n in folded.edges.items()])
        # Reach counts distinct instances: each step's instances go into its set, and the step's counter grows by
        # the number that were new (the rows inserted), so reading reach is one row per step.
        added = []
        for (journey, version, step), ids in folded.reach.items():
            cursor = db.executemany(
                "INSERT OR IGNORE INTO agg_reach (journey, version, step, instance) VALUES (?, ?, ?, ?)",
                [(journey, version, step, i) for i in ids],
            )
            added.append((journey, version, step, max(cursor.rowcount, 0)))
        if added:
            db.executemany(ADD_STEP_REACH, added)

    def _purge_seen(self, clock: float) -> None:
        """Forget the seen ids dated more than `seen_retention` before the clock: at the first commit, then each
        time the cut-off moved on by a sixteenth of the window (at most an hour), inside the commit."""
        cutoff = clock - self.seen_retention
        if cutoff >= self._next_purge:
            self._db.execute("DELETE FROM seen WHERE at < ?", (cutoff,))
            self._next_purge = cutoff + min(self.seen_retention / 16, 3600.0)

    # ---- delivery by `run`

    def take_deliverable(self) -> list[dict[str, Any]]:
        """Committed records in order; the delivered mark is written with the next commit (at-least-once)."""
        if self._deliverable is not None and not self._deliverable:  # `run` asks after every event
            return []
        return self.take_deliverable_lines()[0]

    def take_deliverable_lines(self) -> tuple[list[dict[str, Any]], bytes]:
        """As `take_deliverable`, with the records' JSON Lines as committed to the outbox (no second encoding).

        The records count as delivered in memory at once, but the mark reaches the file only with the next
        commit: a caller that cannot pass them on must `abandon()` the store, and the next run hands them out
        again."""
        if self._deliverable is None:
            if self._delivered >= self._deliverable_upto:
                self._deliverable = []
                return [], b""
            with _read_errors(self.path):
                fresh, lines = self._read_deliverable()
        else:
            if not self._deliverable:
                return [], b""
            fresh, lines = self._deliverable, b"".join(self._deliverable_lines)
        if self._read_only is not None:  # the owner delivers them; handing them out here would print them twice
            raise StoreError(f"{self._read_only}: this copy cannot deliver records")
        self._deliverable, self._deliverable_lines = [], []
        self._delivered = self._deliverable_upto
        return fresh, lines

    def _read_deliverable(self) -> tuple[list[dict[str, Any]], bytes]:
        """The committed records past the delivered mark that no worker settled, from the outbox."""
        if self._schema != SCHEMA_VERSION:  # only a copy that may not write has an older layout open
            raise StoreError(f"{self._read_only}: this copy cannot deliver records")
        with self._lock:
            lo, hi = self._delivered + 1, self._deliverable_upto
            claims = dict(
                self._db.execute("SELECT seq, delivered FROM outbox_claims WHERE seq >= ? AND seq <= ?", (lo, hi))
            )
            floor = self._meta_number(FLOOR)
            # A record is waiting when its claim row says so, or, without one, when no worker claimed it yet.
            lines = [
                (seq, line, where)
                for seq, line, where in self._outbox_lines(lo, hi)
                if (claims[seq] == 0 if seq in claims else seq > floor)
            ]
        records = [self._record(where, line, "read") for _, line, where in lines]
        return records, b"".join(line + b"\n" for _, line, _ in lines)

    def _record(self, where: str, data: Any, verb: str) -> dict[str, Any]:
        if type(data) is not bytes or b"\n" in data:
            raise self._damaged(where, "does not hold one JSON line", verb)
        record = self._json(data, where, verb)
        if type(record) is not dict:
            raise self._damaged(where, "holds a line that is not an action record", verb)
        return record

    def _outbox_lines(self, lo: int, hi: int) -> Iterator[tuple[int, bytes, str]]:
        """(seq, JSON line, where it is stored) of the committed records numbered lo to hi, in order, read a few
        pages at a time (holding the connection's lock only while it reads)."""
        db, lock = self._db, self._lock
        if self._schema in ROW_OUTBOX_VERSIONS:  # a read-only copy of layout 3 or 4
            while lo <= hi:
                with lock:
                    rows = db.execute(
                        "SELECT seq, record FROM outbox WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?",
                        (lo, hi, PAGE),
                    ).fetchall()
                for seq, data in rows:
                    yield seq, data, f"outbox row {seq!r}"
                if len(rows) < PAGE:
                    return
                lo = rows[-1][0] + 1
            return
        with lock:
            start = db.execute("SELECT max(first) FROM outbox_pages WHERE first <= ?", (lo,)).fetchone()[0]
        start = lo if type(start) is not int else start
        while start <= hi:
            with lock:
                rows = db.execute(
                    "SELECT first, last, lines FROM outbox_pages WHERE first >= ? AND first <= ? ORDER BY first"
                    " LIMIT 8",
                    (start, hi),
                ).fetchall()
            for first, last, data in rows:
                where = f"outbox_pages row {first!r}"
                if type(first) is not int or type(last) is not int or type(data) is not bytes:
                    raise self._damaged(where, "does not hold record numbers and JSON Lines", "read")
                if last < first or data.count(b"\n") != last - first + 1 or not data.endswith(b"\n"):
                    raise self._damaged(where, f"does not hold the {last - first + 1} records it numbers", "read")
                for seq, line in enumerate(_lines(data), start=first):
                    if lo <= seq <= hi:
                        yield seq, line, where
            if len(rows) < 8:
                return
            start = rows[-1][0] + 1

    def _meta_number(self, key: str) -> int:
        """A record number kept in meta (0 when it is not there)."""
        row = self._db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        value = "0" if row is None else row[0]
        number = _record_number(value)
        if number is None:
            raise self._damaged("table meta", f"holds a {key} {value!r} that is not a record number", "read")
        return number

    # ---- delivery workers

    def claim_outbox(self, limit: int, lease: float) -> list[OutboxItem]:
        if type(limit) is not int or limit < 1:
            raise StoreError(f"claim_outbox: limit must be a whole number from 1, not {limit!r}")
        if type(lease) not in (int, float) or not 0 <= lease < math.inf:
            raise StoreError(f"claim_outbox: lease must be a number of seconds from 0, not {lease!r}")
        now = time.time()
        return self._delivery("claim outbox records", lambda: self._claim(limit, now, now + lease))

    def _claim(self, limit: int, now: float, until: float) -> list[OutboxItem]:
        """Up to `limit` waiting records, oldest first: the claimable rows of records claimed before, and records
        never claimed, which lie past the floor in order (inside the caller's transaction)."""
        db = self._db
        mark, floor, top = self._meta_number(DELIVERED_MARK), self._meta_number(FLOOR), self._last_seq()
        again = dict(db.execute(CLAIMABLE, (mark, now, now, limit)).fetchall())
        base = max(mark, floor)
        held = {row[0] for row in db.execute("SELECT seq FROM outbox_claims WHERE seq > ?", (base,))}
        fresh: list[int] = []
        seq = base
        while len(fresh) < limit and seq < top:
            seq += 1
            if seq not in held:
                fresh.append(seq)
        picked = sorted([*again, *fresh])[:limit]
        new = [seq for seq in picked if seq not in again]
        # Only the rows handed out take the lease: a claimable row that older fresh records left out stays claimable.
        db.executemany(
            "UPDATE outbox_claims SET claimed_until = ? WHERE seq = ?", [(until, s) for s in picked if s in again]
        )
        db.executemany("INSERT INTO outbox_claims (seq, claimed_until) VALUES (?, ?)", [(s, until) for s in new])
        if new:
            # Every record up to the last new one is now settled or has a row: the next claim starts after it, and
            # the rows of records settled before they were claimed (rows past the old floor) are not needed any more.
            db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (FLOOR, str(max(new[-1], floor))))
            db.execute("DELETE FROM outbox_claims WHERE seq <= ? AND delivered != 0", (new[-1],))
        lines = self._lines_of(picked)
        return [
            OutboxItem(seq, self._record(lines[seq][1], lines[seq][0], "read"), again.get(seq, 0)) for seq in picked
        ]

    def _lines_of(self, seqs: list[int]) -> dict[int, tuple[bytes, str]]:
        """seq -> (JSON line, where) for these records (in order), a run of consecutive numbers at a time."""
        found: dict[int, tuple[bytes, str]] = {}
        at = 0
        while at < len(seqs):
            end = at
            while end + 1 < len(seqs) and seqs[end + 1] == seqs[end] + 1:
                end += 1
            for seq, line, where in self._outbox_lines(seqs[at], seqs[end]):
                found[seq] = (line, where)
            at = end + 1
        for seq in seqs:
            if seq not in found:
                raise self._damaged("table outbox_pages", f"holds no record {seq}, which the outbox has", "read")
        return found

    def outbox_delivered(self, seqs: list[int]) -> None:
        self._delivery("settle outbox records", lambda: self._set_state(seqs, DELIVERED))

    def _set_state(self, seqs: list[int], state: int, attempts: int | None = None, error: str | None = None) -> None:
        """Settle these records (delivered or dead), inside the caller's transaction. At or under the floor a
        record without a row is settled: its row goes. Past it, a row says so (only for a record that exists)."""
        db = self._db
        base = max(self._meta_number(DELIVERED_MARK), self._meta_number(FLOOR))
        top = self._last_seq()
        db.executemany("DELETE FROM outbox_claims WHERE seq = ?", [(seq,) for seq in seqs if seq <= base])
        db.executemany(
            "INSERT INTO outbox_claims (seq, delivered, attempts, error) VALUES (?, ?, coalesce(?, 0), ?)"
            " ON CONFLICT (seq) DO UPDATE SET delivered = excluded.delivered, claimed_until = NULL,"
            " attempts = coalesce(?, attempts), error = coalesce(?, error)",
            [(seq, state, attempts, error, attempts, error) for seq in seqs if base < seq <= top],
        )

    def outbox_retry(self, seq: int, attempts: int, not_before: float, error: str) -> None:
        def retry() -> None:
            db = self._db
            values = (attempts, not_before, error, seq)
            if seq <= max(self._meta_number(DELIVERED_MARK), self._meta_number(FLOOR)):
                db.execute(
                    "UPDATE outbox_claims SET attempts = ?, not_before = ?, error = ?, claimed_until = NULL"
                    " WHERE seq = ? AND delivered = 0",
                    values,
                )
            elif seq <= self._last_seq():
                db.execute(
                    "INSERT INTO outbox_claims (attempts, not_before, error, seq) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (seq) DO UPDATE SET attempts = excluded.attempts, not_before = excluded.not_before,"
                    " error = excluded.error, claimed_until = NULL WHERE delivered = 0",
                    values,
                )

        self._delivery("settle outbox records", retry)

    def outbox_dead(self, seq: int, attempts: int, error: str) -> None:
        def dead() -> None:
            if not 0 < seq <= self._last_seq():
                return
            line, _ = self._lines_of([seq])[seq]
            self._db.execute(
                "INSERT OR REPLACE INTO dead_deliveries (seq, record, attempts, error, at) VALUES (?, ?, ?, ?, ?)",
                (seq, line, attempts, error, time.time()),
            )
            self._set_state([seq], DEAD, attempts, error)

        self._delivery("settle outbox records", dead)

    def _delivery(self, what: str, work: Callable[[], _T]) -> _T:
        """`work` in its own IMMEDIATE transaction, committed at once (a delivery worker's claim or settlement)."""
        if self._read_only is not None:
            raise StoreError(f"{self._read_only}: this copy cannot {what}")
        if self._schema != SCHEMA_VERSION:  # pragma: no cover - only a read-only copy opens an older layout
            raise StoreError(f"store sqlite:///{self.path} is in an older layout: this copy cannot {what}")
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                done = work()
                db.execute("COMMIT")
            except sqlite3.Error as err:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise StoreError(f"cannot {what} in the SQLite store {self.path}: {err}") from err
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return done

    def dead_deliveries(self) -> list[DeadDelivery]:
        rows = self._read("SELECT seq, record, attempts, error FROM dead_deliveries ORDER BY seq", ())
        return [
            DeadDelivery(seq, self._record(f"dead_deliveries row {seq!r}", data, "read"), int(attempts), str(error))
            for seq, data, attempts, error in rows
        ]

    # ---- analytics

    def _aggregates_ready(self) -> bool:
        """Whether the aggregate tables hold everything committed; the owner folds a converted store's backlog in
        now (one transaction). A copy that may not write, over a backlog or the older layout, says no: its
        aggregates are then counted from the records themselves (Store's defaults)."""
        if self._schema != SCHEMA_VERSION:
            return False
        if self._read_only is None:
            self._fold_held()
        elif self._meta_pair(FOLDED, "read") != (self._seq, self._batch_n):
            return False  # the owner has not added its last commits' counts yet
        seq, n = self._meta_pair(BACKLOG, "read")
        if seq == 0 and n == 0:
            return True
        if self._read_only is not None:
            return False
        self._fold_backlog(seq, n)
        return True

    def _meta_pair(self, key: str, verb: str) -> tuple[int, int]:
        """The two record numbers of the meta row `key` (BACKLOG, FOLDED)."""
        with self._lock:
            row = self._db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        parts = row[0].split() if row is not None and type(row[0]) is str else []
        numbers = [number for number in map(_record_number, parts) if number is not None]
        if len(parts) != 2 or len(numbers) != 2:
            what = "aggregates backlog" if key == BACKLOG else "aggregates mark"
            raise self._damaged("table meta", f"holds an {what} {row and row[0]!r} that is not two numbers", verb)
        return numbers[0], numbers[1]

    def _fold_held(self) -> None:
        """Add the counts held in memory (commits since the last fold) to the aggregate tables, at once."""
        if not self._unfolded_commits:
            return
        with self._at_once() as db:
            self._add_aggregates(self._unfolded)
            db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (FOLDED, f"{self._seq} {self._batch_n}"))
        self._unfolded, self._unfolded_commits, self._unfolded_pairs = Aggregator(), 0, 0

    def _fold_backlog(self, seq: int, n: int) -> None:
        """Add the records and transitions of a converted store (seq and batch numbers up to these) to the aggregate
        tables, and mark them added, in one transaction; a damaged row is refused as when it is read."""
        folded = Aggregator()
        folded.add_records(_reading(self.path, self._actions(upto=seq)))
        for row in _reading(self.path, self._transitions(upto=n)):
            folded.add_transition(
                row["journey"], row["version"], row["customer_id"], row["instance"], row["from_step"], row["to_step"]
            )
        with self._at_once() as db:
            self._add_aggregates(folded)
            db.execute("UPDATE meta SET v = '0 0' WHERE k = ?", (BACKLOG,))

    def record_aggregates(self) -> RecordAggregates:
        self.flush()
        if not self._aggregates_ready():
            return super().record_aggregates()
        with self._lock:
            counts = self._db.execute(
                "SELECT journey, version, kind, label, status, n, total, priced FROM agg_records"
            ).fetchall()
            converted = self._db.execute(
                "SELECT journey, version, count(*) FROM agg_converted GROUP BY journey, version"
            ).fetchall()
        self._check_rows("agg_records", counts, (str, int, str, str, str, int, float, int))
        self._check_rows("agg_converted", converted, (str, int, int))
        return record_aggregates_of(counts, converted)

    def transition_aggregates(self) -> TransitionAggregates:
        self.flush()
        if not self._aggregates_ready():
            return super().transition_aggregates()
        with self._lock:
            reach = self._db.execute("SELECT journey, version, step, reach FROM agg_steps").fetchall()
            edges = self._db.execute("SELECT journey, version, from_step, to_step, n FROM agg_edges").fetchall()
        self._check_rows("agg_steps", reach, (str, int, str, int))
        self._check_rows("agg_edges", edges, (str, int, str, str, int))
        return transition_aggregates_of(reach, edges)

    def _check_rows(self, table: str, rows: list[Any], types: tuple[type, ...]) -> None:
        for row in rows:
            # SQLite keeps a REAL column's whole numbers as REAL, but a damaged file may hold anything.
            if not all(type(v) is t or (t is float and type(v) is int) for v, t in zip(row, types, strict=True)):
                raise self._damaged(f"table {table}", f"holds a row {tuple(row)!r} of the wrong types", "read")

    def in_flight_steps(self) -> tuple[InFlightStep, ...]:
        """Counted by SQLite's JSON functions over the committed customers, the pending ones from memory."""
        rows, pending = self._over_committed(IN_FLIGHT_STEPS)
        for journey, version, step, _, _ in rows:
            if type(journey) is not str or type(version) is not int or not (step is None or type(step) is int):
                self._find_damaged_state()
                raise self._damaged("table customers", "holds an instance without a journey, version and step", "read")
        found = [(j, v, s, int(a), int(t)) for j, v, s, a, t in rows]
        found += [
            (inst[S.JOURNEY], inst[S.VERSION], inst[S.STEP], 1, int(inst[S.TIMER] is not None))
            for customer in pending
            for inst in customer["i"].values()
            if inst[S.ACTIVE]
        ]
        return in_flight_of(found)

    def waiting_sends(self) -> tuple[WaitingSends, ...]:
        """Counted by SQLite's JSON functions over the committed customers with a timer (a waiting send is one),
        the pending ones from memory."""
        rows, pending = self._over_committed(WAITING_SENDS)
        if not all(type(journey) is str and type(channel) is str for journey, channel, _ in rows):
            self._find_damaged_state()
            raise self._damaged("table customers", "holds a waiting send without a journey and channel", "read")
        found = [(journey, channel, int(sends)) for journey, channel, sends in rows]
        found += [row for customer in pending for row in offer_rows(customer["c"])]
        return waiting_sends_of(found)

    def transitions(self) -> Iterator[dict[str, Any]]:
        self.flush()
        return _reading(self.path, self._transitions())

    def _transitions(self, upto: int = 2**62, after: int = 0) -> Iterator[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT n, rows FROM transition_batches WHERE n > ? AND n <= ? ORDER BY n", (after, upto)
        ).fetchall()
        for n, data in rows:
            rows = self._json(data, f"transition_batches row {n}", "read")
            if type(rows) is not list or not all(_transition_ok(row) for row in rows):
                raise self._damaged(f"transition_batches row {n}", "is not a list of transitions", "read")
            for row in rows:
                yield transition_dict(row)

    def actions(self) -> Iterator[dict[str, Any]]:
        self.flush()
        return _reading(self.path, self._actions())

    def _actions(self, upto: int = 2**62, after: int = 0) -> Iterator[dict[str, Any]]:
        for _, line, where in self._outbox_lines(after + 1, upto):
            yield self._record(where, line, "read")

    def close(self) -> None:
        if self._read_only is not None:
            pending = self._pending()
            self._db.close()
            if pending:
                raise StoreError(f"{self._read_only}: this copy cannot commit its changes, which are dropped")
            return
        try:
            self.flush()
            if self._schema == SCHEMA_VERSION:
                self._fold_held()
        finally:
            with self._lock:
                self._db.close()

    def abandon(self) -> None:
        """Close without committing: the pending work is dropped, and its events are redone by the next run (the
        counts held for the aggregate tables too: the next owner counts them from the records)."""
        with self._lock:
            self._db.close()


def _open_error(path: str, err: BaseException) -> BaseException:
    """What opening a store raises for `err`: a StoreError saying why, or `err` itself (KeyboardInterrupt...)."""
    if isinstance(err, StoreError):
        return err
    # ValueError: a value in the file that is not JSON (a damaged file, or not a store's)
    if isinstance(err, (sqlite3.DatabaseError, ValueError)):
        return StoreError(f"cannot open SQLite store {path}: {err}")
    if isinstance(err, OSError):  # the store's folder cannot be made
        return StoreError(f"cannot open SQLite store {path}: {err.strerror or err}")
    # Every shape is checked while reading; should one slip through, the store is still refused cleanly.
    if isinstance(err, (TypeError, KeyError, IndexError, AttributeError)):
        return StoreError(f"cannot open SQLite store {path}: damage the checks missed ({type(err).__name__}: {err})")
    return err


class DeliveryStore(SqliteStore):
    """A store opened with mode "deliver": a delivery worker beside the owner. It takes no lock and reads no
    state; only the outbox claims and settlements (and the dead deliveries) work, each committed at once."""

    def __init__(self, path: str, wait: float = 0.0) -> None:  # noqa: D107 - the class says it
        Store.__init__(self, durable=True)
        self.path = path
        self.batch = 1
        self.cache_size = 0
        self.seen_retention = DEFAULT_SEEN_RETENTION
        self._lock = threading.RLock()
        self._read_only = None
        self._init_pending()
        if not Path(path).is_file():  # connecting would create an empty database
            raise StoreError(f"no store at {path} (start its owner, `journeydsl serve`, first)")
        timeout = BUSY_TIMEOUT if not math.isfinite(wait) else max(BUSY_TIMEOUT, wait)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
            names = self._table_names()
            version = self._schema_version(names)
            if version is not None:
                self._check_version(version, names)
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"cannot open SQLite store {path} for delivery: it is not in the current layout (its owner, "
                    "`journeydsl serve` or `run`, converts an older one when it opens it)"
                )
        except BaseException as err:
            if hasattr(self, "_db"):
                self._db.close()
            raise _open_error(path, err) from err

    def _only(self, what: str) -> NoReturn:
        raise StoreError(f"store sqlite:///{self.path} was opened for delivery only: it cannot {what}")

    def load(self, customer_id: str) -> dict[str, Any] | None:
        self._only("load customers")

    def save(self, customer_id: str, customer: dict[str, Any], due: float | None, profile: bool) -> None:
        self._only("save customers")

    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        self._only("read customers")

    def customer_count(self) -> int:
        self._only("count customers")

    def in_flight_versions(self) -> dict[tuple[str, int], int]:
        self._only("count instances")

    def pop_due(self, upto: float) -> tuple[float, str] | None:
        self._only("fire timers")

    def seen_before(self, event_id: str) -> bool:
        self._only("check event ids")

    def prefetch(self, customer_ids: Iterable[str], event_ids: Iterable[str]) -> None:
        pass  # a hint, and this copy reads no customers and no event ids

    def add_seen(self, event_id: str, at: float) -> None:
        self._only("record event ids")

    def record_plans(self, plans: Mapping[tuple[str, int], dict[str, Any]]) -> None:
        self._only("record plans")

    def log_actions(self, records: list[dict[str, Any]]) -> None:
        self._only("add records")

    def log_event(self, event: dict[str, Any]) -> None:
        self._only("add events")

    def events(self) -> Iterator[dict[str, Any]]:
        self._only("read events")

    def log_transitions(self, rows: list[Transition]) -> None:
        self._only("add transitions")

    def take_deliverable(self) -> list[dict[str, Any]]:
        self._only("hand out records to `run`")

    def take_deliverable_lines(self) -> tuple[list[dict[str, Any]], bytes]:
        self._only("hand out records to `run`")

    def transitions(self) -> Iterator[dict[str, Any]]:
        self._only("read transitions")

    def actions(self) -> Iterator[dict[str, Any]]:
        self._only("read records")

    def flush(self) -> None:
        pass  # nothing is ever pending: every claim and settlement commits at once

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Converter:
    """A store in an older layout (`old`: its tables of LEGACY_TABLES and LOG_TABLES), read whole and checked,
    then written in the current layout, inside the caller's transaction. Older layouts held the whole state in
    memory, so reading them whole needs no more memory than their own runs did."""

    def __init__(self, store: SqliteStore, old: list[str]) -> None:
        self.store = store
        self.db = store._db
        self.old = old
        self.customers: dict[str, dict[str, Any]] = {}
        self.seen: list[str] = []
        self.outbox: list[tuple[int, bytes, dict[str, Any]]] = []
        self.transitions: list[Any] = []

    def run(self) -> None:
        store, db, old = self.store, self.db, self.old
        if "customers" in old:
            self._legacy_customers()
        if "profiles" in old:
            self._legacy_profiles()
        if "seen" in old:
            ids = [row[0] for row in db.execute("SELECT id FROM seen")]
            if not all(type(event_id) is str for event_id in ids):
                raise store._damaged("table seen", "holds an event id that is not text")
            self.seen += ids
        if "outbox" in old:
            self._legacy_outbox()
        if "transitions" in old:
            rows = db.execute(
                "SELECT journey, version, customer_id, instance, from_step, to_step, at, via FROM transitions"
                " ORDER BY seq"
            ).fetchall()
            if not all(_transition_ok(list(row)) for row in rows):
                raise store._damaged("table transitions", "holds a row of the wrong types")
            self.transitions = rows
        if "customer_log" in old:
            self._customer_log()
        if "seen_batches" in old:
            for n, ids in db.execute("SELECT n, ids FROM seen_batches"):
                decoded = store._json(ids, f"seen_batches row {n}")
                if type(decoded) is not list or not {*map(type, decoded)} <= {str}:
                    raise store._damaged(f"seen_batches row {n}", "is not a list of event ids")
                self.seen += decoded
        if "outbox_batches" in old:
            self._outbox_batches()
        clock, delivered = store._read_meta(db)
        last = max((seq for seq, _, _ in self.outbox), default=0)
        if delivered > last:
            raise store._damaged("table meta", f"marks {delivered} records delivered of {last}")
        if "plans" in store._table_names():  # checked now: a damaged plan is refused before anything changes
            store._read_plans(db)
        self._write(clock, delivered)

    def _legacy_customers(self) -> None:
        store = self.store
        for customer_id, state in self.db.execute("SELECT id, state FROM customers"):
            where = f"customers row {customer_id!r}"
            decoded = store._json(state, where)
            if type(decoded) is dict and "i" in decoded and "c" in decoded:  # {"i": instances, "c": caps}
                decoded = [decoded["i"], decoded["c"]]
            if type(customer_id) is not str or type(decoded) is not list or len(decoded) != 2:
                raise store._damaged(where, "is not a customer state")
            problem = _customer_problem(decoded[0], decoded[1])
            if problem is not None:
                raise store._damaged(where, problem)
            self.customers[customer_id] = {"p": {}, "i": decoded[0], "c": decoded[1]}

    def _legacy_profiles(self) -> None:
        store = self.store
        for customer_id, profile in self.db.execute("SELECT id, profile FROM profiles"):
            where = f"profiles row {customer_id!r}"
            decoded = store._json(profile, where)
            if type(customer_id) is not str or type(decoded) is not dict:
                raise store._damaged(where, "is not a customer profile")
            self.customers.setdefault(customer_id, _new_customer())["p"] = decoded

    def _legacy_outbox(self) -> None:
        store = self.store
        for seq, record in self.db.execute("SELECT seq, record FROM outbox ORDER BY seq"):
            data = record.encode() if type(record) is str else record
            if type(seq) is not int or type(data) is not bytes or b"\n" in data:
                raise store._damaged(f"outbox row {seq}", "is not one action record")
            decoded = store._json(data, f"outbox row {seq}")
            if type(decoded) is not dict:
                raise store._damaged(f"outbox row {seq}", "is not one action record")
            self.outbox.append((seq, data, decoded))

    def _customer_log(self) -> None:
        """customer_log: the states and profiles of each commit's customers, in order; a later row wins."""
        store, customers = self.store, self.customers
        for n, states, profiles, full in self.db.execute(
            "SELECT n, states, profiles, full FROM customer_log ORDER BY n"
        ):
            where = f"customer_log row {n}"
            if full != 0 and full != 1:
                raise store._damaged(where, f"has {full!r} in column full, not 0 or 1")
            decoded_states, decoded_profiles = store._json(states, where), store._json(profiles, where)
            problem = _states_problem(decoded_states) or _profiles_problem(decoded_profiles)
            if problem is not None:
                raise store._damaged(where, problem)
            for customer_id, (instances, caps) in decoded_states.items():
                customer = customers.setdefault(customer_id, _new_customer())
                customer["i"], customer["c"] = instances, caps
            for customer_id, profile in decoded_profiles.items():
                customers.setdefault(customer_id, _new_customer())["p"] = profile

    def _outbox_batches(self) -> None:
        """outbox_batches: each commit's records as JSON Lines, numbered first..last, on from the row before."""
        store = self.store
        previous: int | None = self.outbox[-1][0] if self.outbox else None
        for first, last, data in self.db.execute("SELECT first, last, records FROM outbox_batches ORDER BY first"):
            where = f"outbox_batches row {first}"
            if type(first) is not int or type(last) is not int or type(data) is not bytes:
                raise store._damaged(where, "does not hold numbers and JSON Lines")
            if last < first or (previous is not None and first != previous + 1):
                raise store._damaged(where, f"numbers records {first} to {last} after record {previous}")
            if data.count(b"\n") != last - first + 1 or not data.endswith(b"\n"):
                raise store._damaged(where, f"does not hold the {last - first + 1} records it numbers")
            for seq, line in enumerate(_lines(data), start=first):
                record = store._json(line, where)
                if type(record) is not dict:
                    raise store._damaged(where, "holds a line that is not an action record")
                self.outbox.append((seq, line, record))
            previous = last

    def _write(self, clock: float | None, delivered: int) -> None:
        db = self.db
        for name in self.old:
            db.execute(f"DROP TABLE {name}")
        self.store._create()
        db.executemany(
            "INSERT INTO customers (id, state, profile, due) VALUES (?, ?, ?, ?)",
            (
                (cid, dumps((customer["i"], customer["c"])), dumps(customer["p"]), S.next_due(customer))
                for cid, customer in self.customers.items()
            ),
        )
        at = clock if clock is not None else time.time()  # old ids had no time: kept for one window from now on
        db.executemany("INSERT OR IGNORE INTO seen (id, at) VALUES (?, ?)", ((event_id, at) for event_id in self.seen))
        # Pages of consecutive records; those up to the delivered mark were printed by `run` (the mark says so).
        pages: list[tuple[int, int, bytes]] = []
        run: list[bytes] = []
        first = previous = 0
        for seq, line, _ in self.outbox:
            if run and (seq != previous + 1 or len(run) == PAGE_RECORDS):
                pages.append(_page(first, run))
                run = []
            if not run:
                first = seq
            run.append(line)
            previous = seq
        if run:
            pages.append(_page(first, run))
        db.executemany("INSERT INTO outbox_pages (first, last, lines) VALUES (?, ?, ?)", pages)
        if self.transitions:
            db.execute(
                "INSERT INTO transition_batches (rows) VALUES (?)", (dumps([list(row) for row in self.transitions]),)
            )


register_store(SqliteStore)
