"""`sqlite:///PATH`: the embedded durable store.

WAL journal; the dirty customer states, the new outbox records, the new transitions and the seen
event ids of `batch` units are written in ONE transaction. A crash therefore loses only work that
was not committed, and since the ids of those events were not committed either, a re-run processes
them again: nothing is lost, and the keys of the records make the re-done work recognisable.
The whole state is read into memory on open (the timer heap needs every pending timer anyway).
`synchronous=NORMAL` by default: in WAL mode that survives a process crash; `?synchronous=full`
also survives a power cut at the price of an fsync per commit.

Layout: besides `meta` and `plans`, every table is a log, ONE row per commit holding that commit's items
encoded together. Nothing is ever looked up by item (all state is read on open, the outbox is read in
order from the delivered mark, analytics read every transition), and a B-tree insert per item, or a
rewrite in place of customers scattered over the whole table (each commit then rewrote nearly every
page of it), cost far more than the encoding. So:
- `customer_log`: the states and profiles of the customers a commit changed, as two JSON objects by
  customer id; read in order on open, a later row wins. When the log holds more than COMPACT_FACTOR
  times the bytes of the last full copy, a commit writes a full copy instead and deletes the rows
  before it (same transaction), so the log stays within about COMPACT_FACTOR + 1 copies of the live
  state. Large sets are split over several rows (CHUNK customers each), far below SQLite's limit on
  one value.
- `seen_batches`, `transition_batches`: the commit's event ids, its transition rows (JSON arrays).
- `outbox_batches`: the commit's records as JSON Lines, exactly the bytes `journeydsl run` prints, so
  delivery hands the encoded lines out without encoding the records again (`take_deliverable_lines`).
A store file written with one row per item (tables `customers`, `profiles`, `seen`, `outbox`,
`transitions`) is converted on open, in one transaction.

One process owns a store at a time (`StoreLock`): the state is read into memory on open and written back from
memory, so two writers would overwrite each other (one's compaction deletes the other's customers). The owner
holds an exclusive `flock` on the sidecar file `PATH.lock` from before it reads the store until its connection is
closed; the kernel drops the lock when the process dies, however it dies. A copy opened while another process
owns the store reads one consistent snapshot (WAL readers do not block the writer) and refuses to commit.

Everything read is checked for the shapes the engine relies on (`_customer_problem`, ...): a damaged store is
refused with a StoreError naming the file, the table and what is wrong, never half used.

Where it sits: one concrete store, above store.py (its base); `stores.open_store` imports it for sqlite: URLs.
"""

from __future__ import annotations

import gc
import math
import os
import socket
import sqlite3
import sys
import time
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from journeydsl.runtime import state as S
from journeydsl.runtime.jsonio import dumps, dumps_lines, loads
from journeydsl.runtime.store import OpenMode, Store, StoreBusyError, StoreError, Transition, transition_dict

if sys.platform != "win32":
    import fcntl

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customer_log (
  n INTEGER PRIMARY KEY, full INTEGER NOT NULL, states BLOB NOT NULL, profiles BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS plans (journey TEXT NOT NULL, version INTEGER NOT NULL, plan BLOB NOT NULL,
  PRIMARY KEY (journey, version));
CREATE TABLE IF NOT EXISTS seen_batches (n INTEGER PRIMARY KEY, ids BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_batches (first INTEGER PRIMARY KEY, last INTEGER NOT NULL, records BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS transition_batches (n INTEGER PRIMARY KEY, rows BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS event_batches (n INTEGER PRIMARY KEY, events BLOB NOT NULL);
"""
TABLES = ("meta", "customer_log", "plans", "seen_batches", "outbox_batches", "transition_batches")

INSERT_LOG = "INSERT INTO customer_log (full, states, profiles) VALUES (?, ?, ?)"
# The tables of the one-row-per-item layout and their columns: only tables exactly like these are converted (and
# dropped), so a database that merely has a table of one of these names is refused, not altered.
LEGACY_TABLES = {
    "customers": ["id", "state"],
    "profiles": ["id", "profile"],
    "seen": ["id"],
    "outbox": ["seq", "record"],
    "transitions": ["seq", "journey", "version", "customer_id", "instance", "from_step", "to_step", "at", "via"],
}
CHUNK = 20_000  # customers per customer_log row
# A full copy is written once the log since the last one holds more than COMPACT_FACTOR times its bytes (and at
# least COMPACT_FLOOR bytes, so a small store is not copied at every commit).
COMPACT_FACTOR = 3
COMPACT_FLOOR = 1 << 20

URL_PARAMETERS = ("batch", "synchronous")
SYNCHRONOUS = ("normal", "full")


def parse_url(url: str) -> tuple[str, int, str]:
    """The path, batch and synchronous setting of `sqlite:///PATH[?batch=N&synchronous=normal|full]`.

    Raises StoreError for anything else: a misspelt or repeated parameter, or a value it cannot take, would
    otherwise be ignored, and the store would run with settings the user did not ask for."""
    if not url.startswith("sqlite:///"):
        raise StoreError(f"invalid store URL {url!r}: use sqlite:///PATH (sqlite:////PATH for an absolute path)")
    path, _, query = url[len("sqlite:///") :].partition("?")
    if not path:
        raise StoreError(f"the SQLite store URL {url!r} names no file: use sqlite:///PATH")
    if "#" in url:
        raise StoreError(f"invalid store URL {url!r}: a store URL has no #fragment")
    batch, synchronous = 1, "normal"
    given: set[str] = set()
    for item in query.split("&") if query else ():
        name, equals, value = (unquote(part) if part != "=" else part for part in item.partition("="))
        if name not in URL_PARAMETERS:
            raise StoreError(
                f"invalid store URL {url!r}: unknown parameter {name!r} (known: {', '.join(URL_PARAMETERS)})"
            )
        if name in given:
            raise StoreError(f"invalid store URL {url!r}: {name} is given twice")
        given.add(name)
        if name == "batch":
            if not (equals and value.isascii() and value.isdigit() and 0 < len(value) <= 9 and int(value) >= 1):
                raise StoreError(f"invalid store URL {url!r}: batch must be a whole number from 1, not {value!r}")
            batch = int(value)
        else:
            if not equals or value.lower() not in SYNCHRONOUS:
                raise StoreError(
                    f"invalid store URL {url!r}: synchronous must be {' or '.join(SYNCHRONOUS)}, not {value!r}"
                )
            synchronous = value.lower()
    return path, batch, synchronous


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
        if type(times) is not list or not _NUMBER.issuperset(map(type, times)):
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
        return f"holds customer {customer_id!r} that {_customer_problem(instances, caps)}"
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


def _log_rows(
    customers: dict[str, dict[str, Any]], state_ids: Collection[str], profile_ids: Collection[str], full: int
) -> list[tuple[int, bytes, bytes]]:
    """customer_log rows: the states ([instances, cap counts]) and profiles of these customers, CHUNK a row."""
    states, profiles = list(state_ids), list(profile_ids)
    return [
        (
            full,
            dumps({cid: (customers[cid]["i"], customers[cid]["c"]) for cid in states[start : start + CHUNK]}),
            dumps({cid: customers[cid]["p"] for cid in profiles[start : start + CHUNK]}),
        )
        for start in range(0, max(len(states), len(profiles)), CHUNK)
    ]


def _lines(data: bytes) -> list[bytes]:
    """The JSON Lines of an outbox row (orjson escapes every newline inside a string, so each is one record)."""
    return data.split(b"\n")[:-1]


def _reading(path: str, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """`rows`, with an error of SQLite while reading them (a damaged page) raised as a StoreError."""
    try:
        yield from rows
    except sqlite3.DatabaseError as err:
        raise StoreError(f"cannot read SQLite store {path}: {err}") from err


class SqliteStore(Store):
    schemes = ("sqlite",)
    durable = True

    def __init__(
        self, path: str, batch: int = 1, synchronous: str = "NORMAL", mode: OpenMode = "auto", wait: float = 0.0
    ) -> None:
        """`mode` and `wait` as in `stores.open_store`. A copy that does not own the store reads one consistent
        snapshot of it and raises StoreError on anything that would write (a commit, a delivery, new plans)."""
        super().__init__()
        self.path = path
        self.batch = max(1, int(batch))
        # Why this copy may not write (another process owns the store, or it was opened to read), or None.
        self._read_only: str | None = f"store sqlite:///{path} was opened read-only" if mode == "read" else None
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
                db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=_Connection)
                self._db: sqlite3.Connection = db
                db.store_lock, lock = lock, None  # from here closing the connection releases the lock
                self._open_to_write(synchronous)
            else:
                self._open_to_read()
            # Reading the state builds millions of small dicts and lists with no reference cycles: the collector
            # would re-scan them again and again (it doubled the time to open the example workload's store).
            collecting = gc.isenabled()
            gc.disable()
            try:
                self._load()
            finally:
                if collecting:
                    gc.enable()
        except BaseException as err:
            if lock is not None:
                lock.release()
            if hasattr(self, "_db"):
                self._db.close()
            if isinstance(err, StoreError):
                raise
            # ValueError: a value in the file that is not JSON (a damaged file, or not a store's)
            if isinstance(err, (sqlite3.DatabaseError, ValueError)):
                raise StoreError(f"cannot open SQLite store {path}: {err}") from err
            if isinstance(err, OSError):  # the store's folder cannot be made
                raise StoreError(f"cannot open SQLite store {path}: {err.strerror or err}") from err
            # Every shape is checked while loading; should one slip through, the store is still refused cleanly.
            if isinstance(err, (TypeError, KeyError, IndexError, AttributeError)):
                reason = f"damage the checks missed ({type(err).__name__}: {err})"
                raise StoreError(f"cannot open SQLite store {path}: {reason}") from err
            raise
        self._dirty: set[str] = set()
        self._dirty_profiles: set[str] = set()
        self._new_seen: list[str] = []
        self._new_events: list[dict[str, Any]] = []
        self._new_records: list[dict[str, Any]] = []
        self._new_transitions: list[Transition] = []
        self._units = 0

    @classmethod
    def from_url(cls, url: str, batch: int | None = None, mode: OpenMode = "auto", wait: float = 0.0) -> SqliteStore:
        path, url_batch, synchronous = parse_url(url)
        return cls(path, batch=url_batch if batch is None else batch, synchronous=synchronous, mode=mode, wait=wait)

    @property
    def read_only(self) -> bool:
        """True for a copy that may not write: another process owned the store when it was opened, or mode "read"."""
        return self._read_only is not None

    def _open_to_write(self, synchronous: str) -> None:
        db = self._db
        names = self._table_names()
        legacy = [name for name in LEGACY_TABLES if name in names]
        # Checked before anything is set or created: a database that is not a store is refused, not altered.
        for name in legacy:
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({name})")]
            if columns != LEGACY_TABLES[name]:
                raise StoreError(f"{self.path} is not a journeydsl store: its table {name} has columns {columns}")
        if names and "meta" not in names and not legacy:
            raise StoreError(f"{self.path} is not a journeydsl store: it holds the tables {', '.join(sorted(names))}")
        # Only a new file takes a page size (it must come before WAL is set). Batched commits append a few
        # large rows: 16 KiB pages write them in fewer, larger pieces (about 15% less store time at
        # batch=1000); a commit per event writes whole pages for a few small rows, where SQLite's 4 KiB
        # default costs less (about 15% less at batch=1).
        db.execute(f"PRAGMA page_size={16384 if self.batch >= 100 else 4096}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if synchronous.upper() == 'FULL' else 'NORMAL'}")
        # A larger page cache (64 MB) and fewer, larger WAL checkpoints (about every 40 MB written) cut the
        # time spent copying pages back into the database.
        db.execute("PRAGMA cache_size=-65536")
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        db.execute(f"PRAGMA wal_autocheckpoint={(40 << 20) // page_size}")
        db.execute("PRAGMA temp_store=MEMORY")
        db.executescript(SCHEMA)
        if legacy:
            self._convert_legacy(legacy)

    def _open_to_read(self) -> None:
        if not Path(self.path).is_file():  # connecting would create an empty database
            raise StoreError(f"no store at {self.path} (run events into it first with `journeydsl run`)")
        db = self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA query_only=ON")  # whatever happens, this connection cannot write
        names = self._table_names()
        if any(name in names for name in LEGACY_TABLES):
            raise StoreError(
                f"{self._read_only}, and it is in the layout of an older journeydsl, which only its owner converts"
            )
        missing = [name for name in TABLES if name not in names]
        if missing:
            raise StoreError(f"{self.path} is not a journeydsl store: it has no table {', '.join(missing)}")
        # Everything this copy reads comes from one snapshot, while the owner goes on writing (WAL).
        db.execute("BEGIN")

    def _table_names(self) -> set[str]:
        rows = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row[0]) for row in rows if not str(row[0]).startswith("sqlite_")}

    def _damaged(self, where: str, what: str, verb: str = "open") -> StoreError:
        return StoreError(f"cannot {verb} SQLite store {self.path}: {where} {what}")

    def _json(self, data: Any, where: str, verb: str = "open") -> Any:
        if type(data) is not bytes and type(data) is not str:
            raise self._damaged(where, f"holds {type(data).__name__}, not JSON", verb)
        try:
            return loads(data)
        except ValueError as err:
            raise self._damaged(where, f"is not JSON ({err})", verb) from err

    def _convert_legacy(self, legacy: list[str]) -> None:
        """Move the rows of a store written with one row per customer, profile, seen id, record and transition
        into the log tables, in one transaction (a crash during it leaves the old layout, converted next time)."""
        db = self._db
        db.execute("BEGIN")
        try:
            customers: dict[str, dict[str, Any]] = {}
            if "customers" in legacy:
                for customer_id, state in db.execute("SELECT id, state FROM customers"):
                    where = f"customers row {customer_id!r}"
                    decoded = self._json(state, where)
                    if type(decoded) is dict and "i" in decoded and "c" in decoded:  # {"i": instances, "c": caps}
                        decoded = [decoded["i"], decoded["c"]]
                    if type(customer_id) is not str or type(decoded) is not list or len(decoded) != 2:
                        raise self._damaged(where, "is not a customer state")
                    problem = _customer_problem(decoded[0], decoded[1])
                    if problem is not None:
                        raise self._damaged(where, problem)
                    customers[customer_id] = {"p": {}, "i": decoded[0], "c": decoded[1]}
            if "profiles" in legacy:
                for customer_id, profile in db.execute("SELECT id, profile FROM profiles"):
                    where = f"profiles row {customer_id!r}"
                    decoded = self._json(profile, where)
                    if type(customer_id) is not str or type(decoded) is not dict:
                        raise self._damaged(where, "is not a customer profile")
                    customers.setdefault(customer_id, {"p": {}, "i": {}, "c": {}})["p"] = decoded
            if customers:
                db.executemany(INSERT_LOG, _log_rows(customers, customers, customers, 1))
            if "seen" in legacy:
                ids = [row[0] for row in db.execute("SELECT id FROM seen")]
                if not all(type(event_id) is str for event_id in ids):
                    raise self._damaged("table seen", "holds an event id that is not text")
                if ids:
                    db.execute("INSERT INTO seen_batches (ids) VALUES (?)", (dumps(ids),))
            if "outbox" in legacy:
                batches = []
                for seq, record in db.execute("SELECT seq, record FROM outbox ORDER BY seq"):
                    data = record.encode() if type(record) is str else record
                    if (
                        type(data) is not bytes
                        or b"\n" in data
                        or type(self._json(data, f"outbox row {seq}")) is not dict
                    ):
                        raise self._damaged(f"outbox row {seq}", "is not one action record")
                    # Sequence numbers were handed out one by one from 1, so each row is its own batch of one: that
                    # keeps every number as it was (the delivered mark counts them).
                    batches.append((seq, seq, data + b"\n"))
                db.executemany("INSERT INTO outbox_batches (first, last, records) VALUES (?, ?, ?)", batches)
            if "transitions" in legacy:
                rows = db.execute(
                    "SELECT journey, version, customer_id, instance, from_step, to_step, at, via FROM transitions"
                    " ORDER BY seq"
                ).fetchall()
                if not all(_transition_ok(list(row)) for row in rows):
                    raise self._damaged("table transitions", "holds a row of the wrong types")
                if rows:
                    db.execute("INSERT INTO transition_batches (rows) VALUES (?)", (dumps(rows),))
            for name in legacy:
                db.execute(f"DROP TABLE {name}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _load(self) -> None:
        db = self._db
        customers = self.customers
        self._log_bytes = 0  # bytes of customer_log, compared with the last full copy's
        self._copy_bytes = 0
        for n, states, profiles, full in db.execute("SELECT n, states, profiles, full FROM customer_log ORDER BY n"):
            where = f"customer_log row {n}"
            if full != 0 and full != 1:
                raise self._damaged(where, f"has {full!r} in column full, not 0 or 1")
            decoded_states, decoded_profiles = self._json(states, where), self._json(profiles, where)
            problem = _states_problem(decoded_states) or _profiles_problem(decoded_profiles)
            if problem is not None:
                raise self._damaged(where, problem)
            self._log_bytes += len(states) + len(profiles)
            if full:  # the rows of the one full copy come first: older rows were deleted with its commit
                self._copy_bytes += len(states) + len(profiles)
            for customer_id, (instances, caps) in decoded_states.items():
                customer = customers.get(customer_id)
                if customer is None:
                    customers[customer_id] = {"p": {}, "i": instances, "c": caps}
                else:
                    customer["i"], customer["c"] = instances, caps
            for customer_id, profile in decoded_profiles.items():
                customer = customers.get(customer_id)
                if customer is None:
                    customers[customer_id] = {"p": profile, "i": {}, "c": {}}
                else:
                    customer["p"] = profile
        seen = self.seen
        for n, ids in db.execute("SELECT n, ids FROM seen_batches"):
            decoded = self._json(ids, f"seen_batches row {n}")
            if type(decoded) is not list or not {*map(type, decoded)} <= {str}:
                raise self._damaged(f"seen_batches row {n}", "is not a list of event ids")
            seen.update(decoded)
        plans: dict[tuple[str, int], dict[str, Any]] = {}
        for journey, version, plan in db.execute("SELECT journey, version, plan FROM plans"):
            where = f"plans row ({journey!r}, {version!r})"
            decoded = self._json(plan, where)
            if type(journey) is not str or type(version) is not int or type(decoded) is not dict:
                raise self._damaged(where, "is not a journey, a version and a plan")
            plans[(journey, version)] = decoded
        self._plans = plans
        meta = dict(db.execute("SELECT k, v FROM meta").fetchall())
        clock, delivered = meta.get("clock"), meta.get("delivered", "0")
        if clock is None:
            self.clock = None
        else:
            try:
                self.clock = float(clock) if type(clock) is str else math.nan
            except ValueError:
                self.clock = math.nan
            if not math.isfinite(self.clock):
                raise self._damaged("table meta", f"holds a clock {clock!r} that is not a time")
        # Up to 18 digits: a record number SQLite can compare (its integers are 64-bit).
        if type(delivered) is not str or not delivered.isascii() or not delivered.isdigit() or len(delivered) > 18:
            raise self._damaged("table meta", f"holds a delivered mark {delivered!r} that is not a record number")
        self._delivered = int(delivered)
        self._delivered_written = self._delivered
        # Committed before a crash but never delivered: delivered first by the next run. The first batch read is
        # the one holding the record after the delivered mark (it may start before it).
        self._deliverable: list[dict[str, Any]] = []
        self._deliverable_lines: list[bytes] = []
        start = db.execute(
            "SELECT coalesce(max(first), 0) FROM outbox_batches WHERE first <= ?", (self._delivered + 1,)
        ).fetchone()[0]
        self._seq = 0
        for first, last, data in self._outbox_rows(
            "SELECT first, last, records FROM outbox_batches WHERE first >= ? ORDER BY first", (start,), "open"
        ):
            lines = _lines(data)[max(0, self._delivered + 1 - first) :]
            if lines:
                records = [self._json(line, f"outbox_batches row {first}") for line in lines]
                if not all(type(record) is dict for record in records):
                    raise self._damaged(f"outbox_batches row {first}", "holds a line that is not an action record")
                self._deliverable.extend(records)
                self._deliverable_lines.append(b"\n".join(lines) + b"\n")
            self._seq = last
        if self._delivered > self._seq:
            raise self._damaged("table meta", f"marks {self._delivered} records delivered of {self._seq}")
        self._deliverable_upto = self._seq

    def _outbox_rows(self, query: str, parameters: tuple[Any, ...], verb: str) -> Iterator[tuple[int, int, bytes]]:
        """The outbox rows of `query` (first, last, records), checked: numbered on from the row before, and holding
        one line per number."""
        previous: int | None = None
        for first, last, data in self._db.execute(query, parameters):
            where = f"outbox_batches row {first}"
            if type(first) is not int or type(last) is not int or type(data) is not bytes:
                raise self._damaged(where, "does not hold numbers and JSON Lines", verb)
            if last < first or (previous is not None and first != previous + 1):
                raise self._damaged(where, f"numbers records {first} to {last} after record {previous}", verb)
            if data.count(b"\n") != last - first + 1 or not data.endswith(b"\n"):
                raise self._damaged(where, f"does not hold the {last - first + 1} records it numbers", verb)
            previous = last
            yield first, last, data

    def record_plans(self, plans: Mapping[tuple[str, int], dict[str, Any]]) -> None:
        fresh = {key: plan for key, plan in plans.items() if key not in self._plans}
        if fresh:
            if self._read_only is not None:
                raise StoreError(f"{self._read_only}: this copy cannot record the plans of a new bundle")
            try:
                with self._db:  # its own small transaction, before any event
                    self._db.execute("BEGIN")
                    self._db.executemany(
                        "INSERT OR REPLACE INTO plans (journey, version, plan) VALUES (?, ?, ?)",
                        [(j, v, dumps(plan)) for (j, v), plan in sorted(fresh.items())],
                    )
            except sqlite3.Error as err:
                raise StoreError(f"cannot commit to the SQLite store {self.path}: {err}") from err
            super().record_plans(fresh)

    # ---- changes
    def touch(self, customer_id: str) -> None:
        self._dirty.add(customer_id)

    def touch_profile(self, customer_id: str) -> None:
        self._dirty_profiles.add(customer_id)

    def add_seen(self, event_id: str) -> None:
        self.seen.add(event_id)
        self._new_seen.append(event_id)

    def log_actions(self, records: list[dict[str, Any]]) -> None:
        self._new_records += records

    def log_event(self, event: dict[str, Any]) -> None:
        self._new_events.append(event)

    def events(self) -> Iterator[dict[str, Any]]:
        """The event history, a commit's events a row as JSON Lines (`event_batches`; a store written before it
        existed has none, and a read-only copy of one has no such table)."""
        if "event_batches" not in self._table_names():
            return
        for n, data in self._db.execute("SELECT n, events FROM event_batches ORDER BY n").fetchall():
            for line in _lines(data):
                event = self._json(line, f"event_batches row {n}", "read")
                if type(event) is not dict:
                    raise self._damaged(f"event_batches row {n}", "holds a line that is not an event", "read")
                yield event

    def log_transitions(self, rows: list[Transition]) -> None:
        self._new_transitions += rows

    def end_unit(self) -> None:
        self._units += 1
        if self._units >= self.batch:
            self.flush()

    def _pending(self) -> bool:
        return bool(
            self._dirty
            or self._dirty_profiles
            or self._new_seen
            or self._new_events
            or self._new_records
            or self._new_transitions
            or self._delivered != self._delivered_written
        )

    def flush(self, compact: bool = False) -> None:
        """Commit what is pending; with `compact`, write the customer log as one full copy in the same commit."""
        self._units = 0
        if self._read_only is not None:
            if self._pending():
                raise StoreError(f"{self._read_only}: this copy cannot commit its changes")
            return  # compact on a copy that changed nothing: there is nothing to write
        if not (compact or self._pending()):
            return
        records = self._new_records
        changed = compact or self._dirty or self._dirty_profiles
        db = self._db
        customers = self.customers
        lines = dumps_lines(records) if records else b""
        last = self._seq + len(records)
        db.execute("BEGIN")
        try:
            if changed:
                if compact or self._log_bytes - self._copy_bytes > max(
                    COMPACT_FACTOR * self._copy_bytes, COMPACT_FLOOR
                ):
                    log = _log_rows(customers, customers, customers, 1)
                    db.execute("DELETE FROM customer_log")
                    log_bytes = copy_bytes = sum(len(states) + len(profiles) for _, states, profiles in log)
                else:
                    log = _log_rows(customers, self._dirty, self._dirty_profiles, 0)
                    log_bytes = self._log_bytes + sum(len(states) + len(profiles) for _, states, profiles in log)
                    copy_bytes = self._copy_bytes
                db.executemany(INSERT_LOG, log)
            if self._new_seen:
                db.execute("INSERT INTO seen_batches (ids) VALUES (?)", (dumps(self._new_seen),))
            if self._new_events:
                db.execute("INSERT INTO event_batches (events) VALUES (?)", (dumps_lines(self._new_events),))
            if records:
                db.execute(
                    "INSERT INTO outbox_batches (first, last, records) VALUES (?, ?, ?)", (self._seq + 1, last, lines)
                )
            if self._new_transitions:
                db.execute("INSERT INTO transition_batches (rows) VALUES (?)", (dumps(self._new_transitions),))
            meta = [("delivered", str(self._delivered))]
            if self.clock is not None:
                meta.append(("clock", repr(self.clock)))
            db.executemany("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", meta)
            db.execute("COMMIT")
        except sqlite3.Error as err:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StoreError(f"cannot commit to the SQLite store {self.path}: {err}") from err
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._delivered_written = self._delivered
        if changed:
            self._log_bytes, self._copy_bytes = log_bytes, copy_bytes
        if records:
            self._seq = self._deliverable_upto = last
            self._deliverable += records
            self._deliverable_lines.append(lines)
            self._new_records = []
        self._dirty.clear()
        self._dirty_profiles.clear()
        self._new_seen.clear()
        self._new_events.clear()
        self._new_transitions.clear()

    # ---- delivery
    def take_deliverable(self) -> list[dict[str, Any]]:
        """Committed records in order; the delivered mark is written with the next commit (at-least-once)."""
        if not self._deliverable:  # `run` asks after every event; most find nothing new
            return []
        return self.take_deliverable_lines()[0]

    def take_deliverable_lines(self) -> tuple[list[dict[str, Any]], bytes]:
        """As `take_deliverable`, with the records' JSON Lines as committed to the outbox (no second encoding).

        The records count as delivered in memory at once, but the mark reaches the file only with the next
        commit: a caller that cannot pass them on must `abandon()` the store, and the next run hands them out
        again."""
        if not self._deliverable:
            return [], b""
        if self._read_only is not None:  # the owner delivers them; handing them out here would print them twice
            raise StoreError(f"{self._read_only}: this copy cannot deliver records")
        fresh, lines = self._deliverable, self._deliverable_lines
        self._deliverable, self._deliverable_lines = [], []
        self._delivered = self._deliverable_upto
        return fresh, b"".join(lines)

    # ---- analytics
    def transitions(self) -> Iterator[dict[str, Any]]:
        self.flush()
        return _reading(self.path, self._transitions())

    def _transitions(self) -> Iterator[dict[str, Any]]:
        for n, data in self._db.execute("SELECT n, rows FROM transition_batches ORDER BY n"):
            rows = self._json(data, f"transition_batches row {n}", "read")
            if type(rows) is not list or not all(_transition_ok(row) for row in rows):
                raise self._damaged(f"transition_batches row {n}", "is not a list of transitions", "read")
            for row in rows:
                yield transition_dict(row)

    def actions(self) -> Iterator[dict[str, Any]]:
        self.flush()
        return _reading(self.path, self._actions())

    def _actions(self) -> Iterator[dict[str, Any]]:
        query = "SELECT first, last, records FROM outbox_batches ORDER BY first"
        for first, _, data in self._outbox_rows(query, (), "read"):
            for line in _lines(data):
                record = self._json(line, f"outbox_batches row {first}", "read")
                if type(record) is not dict:
                    raise self._damaged(
                        f"outbox_batches row {first}", "holds a line that is not an action record", "read"
                    )
                yield record

    def close(self) -> None:
        if self._read_only is not None:
            pending = self._pending()
            self._db.close()
            if pending:
                raise StoreError(f"{self._read_only}: this copy cannot commit its changes, which are dropped")
            return
        # The next open decodes the whole log, and decoding costs several times what encoding does: when the
        # changes since the last full copy outweigh it, leave one full copy behind.
        grown = self._log_bytes - self._copy_bytes > max(self._copy_bytes, COMPACT_FLOOR)
        try:
            self.flush(compact=grown)
        finally:
            self._db.close()

    def abandon(self) -> None:
        """Close without committing: the pending work is dropped, and its events are redone by the next run."""
        self._db.close()
