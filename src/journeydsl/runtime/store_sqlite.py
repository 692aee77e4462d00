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
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from journeydsl.runtime.jsonio import dumps, dumps_lines, loads
from journeydsl.runtime.store import Store, StoreError, Transition, transition_dict

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customer_log (
  n INTEGER PRIMARY KEY, full INTEGER NOT NULL, states BLOB NOT NULL, profiles BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS plans (journey TEXT NOT NULL, version INTEGER NOT NULL, plan BLOB NOT NULL,
  PRIMARY KEY (journey, version));
CREATE TABLE IF NOT EXISTS seen_batches (n INTEGER PRIMARY KEY, ids BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_batches (first INTEGER PRIMARY KEY, last INTEGER NOT NULL, records BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS transition_batches (n INTEGER PRIMARY KEY, rows BLOB NOT NULL);
"""

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


class SqliteStore(Store):
    durable = True

    def __init__(self, path: str, batch: int = 1, synchronous: str = "NORMAL") -> None:
        super().__init__()
        self.path = path
        self.batch = max(1, int(batch))
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            # Only a new file takes a page size (it must come before WAL is set). Batched commits append a few
            # large rows: 16 KiB pages write them in fewer, larger pieces (about 15% less store time at
            # batch=1000); a commit per event writes whole pages for a few small rows, where SQLite's 4 KiB
            # default costs less (about 15% less at batch=1).
            self._db.execute(f"PRAGMA page_size={16384 if self.batch >= 100 else 4096}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous.upper() == 'FULL' else 'NORMAL'}")
            # A larger page cache (64 MB) and fewer, larger WAL checkpoints (about every 40 MB written) cut the
            # time spent copying pages back into the database.
            self._db.execute("PRAGMA cache_size=-65536")
            page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
            self._db.execute(f"PRAGMA wal_autocheckpoint={(40 << 20) // page_size}")
            self._db.execute("PRAGMA temp_store=MEMORY")
            self._db.executescript(SCHEMA)
            self._convert_legacy()
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
            if hasattr(self, "_db"):
                self._db.close()
            # ValueError: a value in the file that is not JSON (a damaged file, or not a store's)
            if isinstance(err, (sqlite3.DatabaseError, ValueError)):
                raise StoreError(f"cannot open SQLite store {path}: {err}") from err
            raise
        self._dirty: set[str] = set()
        self._dirty_profiles: set[str] = set()
        self._new_seen: list[str] = []
        self._new_records: list[dict[str, Any]] = []
        self._new_transitions: list[Transition] = []
        self._units = 0

    @classmethod
    def from_url(cls, url: str, batch: int | None = None) -> SqliteStore:
        parts = urlsplit(url)
        # sqlite:///rel/path -> "rel/path"; sqlite:////abs/path -> "/abs/path"
        path = url[len("sqlite:///") :].split("?", 1)[0] if url.startswith("sqlite:///") else parts.path
        if not path:
            raise StoreError(f"the SQLite store URL {url!r} names no file: use sqlite:///PATH")
        query = parse_qs(parts.query)
        if batch is None:
            batch = int(query.get("batch", ["1"])[0])
        return cls(path, batch=batch, synchronous=query.get("synchronous", ["normal"])[0])

    def _convert_legacy(self) -> None:
        """Move the rows of a store written with one row per customer, profile, seen id, record and transition
        into the log tables, in one transaction (a crash during it leaves the old layout, converted next time)."""
        db = self._db
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        legacy = [name for name in LEGACY_TABLES if name in names]
        if not legacy:
            return
        for name in legacy:
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({name})")]
            if columns != LEGACY_TABLES[name]:
                raise StoreError(f"{self.path} is not a journeydsl store: its table {name} has columns {columns}")
        db.execute("BEGIN")
        try:
            customers: dict[str, dict[str, Any]] = {}
            if "customers" in legacy:
                for customer_id, state in db.execute("SELECT id, state FROM customers"):
                    decoded = loads(state)
                    if isinstance(decoded, dict):  # {"i": instances, "c": cap counts}
                        decoded = [decoded["i"], decoded["c"]]
                    customers[customer_id] = {"p": {}, "i": decoded[0], "c": decoded[1]}
            if "profiles" in legacy:
                for customer_id, profile in db.execute("SELECT id, profile FROM profiles"):
                    customers.setdefault(customer_id, {"p": {}, "i": {}, "c": {}})["p"] = loads(profile)
            if customers:
                db.executemany(INSERT_LOG, _log_rows(customers, customers, customers, 1))
            if "seen" in legacy:
                ids = [row[0] for row in db.execute("SELECT id FROM seen")]
                if ids:
                    db.execute("INSERT INTO seen_batches (ids) VALUES (?)", (dumps(ids),))
            if "outbox" in legacy:
                rows = db.execute("SELECT seq, record FROM outbox ORDER BY seq").fetchall()
                # Sequence numbers were handed out one by one from 1, so each row is its own batch of one: that
                # keeps every number as it was (the delivered mark counts them).
                db.executemany(
                    "INSERT INTO outbox_batches (first, last, records) VALUES (?, ?, ?)",
                    [(seq, seq, bytes(record) + b"\n") for seq, record in rows],
                )
            if "transitions" in legacy:
                rows = db.execute(
                    "SELECT journey, version, customer_id, instance, from_step, to_step, at, via FROM transitions"
                    " ORDER BY seq"
                ).fetchall()
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
        for states, profiles, full in db.execute("SELECT states, profiles, full FROM customer_log ORDER BY n"):
            self._log_bytes += len(states) + len(profiles)
            if full:  # the rows of the one full copy come first: older rows were deleted with its commit
                self._copy_bytes += len(states) + len(profiles)
            for customer_id, (instances, caps) in loads(states).items():
                customer = customers.get(customer_id)
                if customer is None:
                    customers[customer_id] = {"p": {}, "i": instances, "c": caps}
                else:
                    customer["i"], customer["c"] = instances, caps
            for customer_id, profile in loads(profiles).items():
                customer = customers.get(customer_id)
                if customer is None:
                    customers[customer_id] = {"p": profile, "i": {}, "c": {}}
                else:
                    customer["p"] = profile
        seen = self.seen
        for (ids,) in db.execute("SELECT ids FROM seen_batches"):
            seen.update(loads(ids))
        rows = db.execute("SELECT journey, version, plan FROM plans")
        self._plans = {(str(j), int(v)): loads(plan) for j, v, plan in rows}
        meta = dict(db.execute("SELECT k, v FROM meta").fetchall())
        self.clock = float(meta["clock"]) if "clock" in meta else None
        self._delivered = int(meta.get("delivered", "0"))
        self._delivered_written = self._delivered
        last = db.execute("SELECT last FROM outbox_batches ORDER BY first DESC LIMIT 1").fetchone()
        self._seq = int(last[0]) if last else 0
        # Committed before a crash but never delivered: delivered first by the next run. The first batch read is
        # the one holding the record after the delivered mark (it may start before it).
        self._deliverable: list[dict[str, Any]] = []
        self._deliverable_lines: list[bytes] = []
        start = db.execute(
            "SELECT coalesce(max(first), 0) FROM outbox_batches WHERE first <= ?", (self._delivered + 1,)
        ).fetchone()[0]
        for first, data in db.execute(
            "SELECT first, records FROM outbox_batches WHERE first >= ? ORDER BY first", (start,)
        ):
            lines = _lines(data)[max(0, self._delivered + 1 - first) :]
            if lines:
                self._deliverable.extend(loads(line) for line in lines)
                self._deliverable_lines.append(b"\n".join(lines) + b"\n")
        self._deliverable_upto = self._seq

    def record_plans(self, plans: Mapping[tuple[str, int], dict[str, Any]]) -> None:
        fresh = {key: plan for key, plan in plans.items() if key not in self._plans}
        if fresh:
            with self._db:  # its own small transaction, before any event
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO plans (journey, version, plan) VALUES (?, ?, ?)",
                    [(j, v, dumps(plan)) for (j, v), plan in sorted(fresh.items())],
                )
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

    def log_transitions(self, rows: list[Transition]) -> None:
        self._new_transitions += rows

    def end_unit(self) -> None:
        self._units += 1
        if self._units >= self.batch:
            self.flush()

    def flush(self, compact: bool = False) -> None:
        """Commit what is pending; with `compact`, write the customer log as one full copy in the same commit."""
        self._units = 0
        records = self._new_records
        changed = compact or self._dirty or self._dirty_profiles
        if not (changed or self._new_seen or records or self._new_transitions) and (
            self._delivered == self._delivered_written
        ):
            return
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
        self._new_transitions.clear()

    # ---- delivery
    def take_deliverable(self) -> list[dict[str, Any]]:
        """Committed records in order; the delivered mark is written with the next commit (at-least-once)."""
        if not self._deliverable:  # `run` asks after every event; most find nothing new
            return []
        return self.take_deliverable_lines()[0]

    def take_deliverable_lines(self) -> tuple[list[dict[str, Any]], bytes]:
        """As `take_deliverable`, with the records' JSON Lines as committed to the outbox (no second encoding)."""
        if not self._deliverable:
            return [], b""
        fresh, lines = self._deliverable, self._deliverable_lines
        self._deliverable, self._deliverable_lines = [], []
        self._delivered = self._deliverable_upto
        return fresh, b"".join(lines)

    # ---- analytics
    def transitions(self) -> Iterator[dict[str, Any]]:
        self.flush()
        batches = self._db.execute("SELECT rows FROM transition_batches ORDER BY n")
        return (transition_dict(row) for (data,) in batches for row in loads(data))

    def actions(self) -> Iterator[dict[str, Any]]:
        self.flush()
        batches = self._db.execute("SELECT records FROM outbox_batches ORDER BY first")
        return (loads(line) for (data,) in batches for line in _lines(data))

    def close(self) -> None:
        # The next open decodes the whole log, and decoding costs several times what encoding does: when the
        # changes since the last full copy outweigh it, leave one full copy behind.
        grown = self._log_bytes - self._copy_bytes > max(self._copy_bytes, COMPACT_FLOOR)
        self.flush(compact=grown)
        self._db.close()
