"""`sqlite:///PATH`: the embedded durable store.

WAL journal; the dirty customer states, the new outbox records, the new transitions and the seen
event ids of `batch` units are written in ONE transaction. A crash therefore loses only work that
was not committed, and since the ids of those events were not committed either, a re-run processes
them again: nothing is lost, and the keys of the records make the re-done work recognisable.
The whole state is read into memory on open (the timer heap needs every pending timer anyway).
`synchronous=NORMAL` by default: in WAL mode that survives a process crash; `?synchronous=full`
also survives a power cut at the price of an fsync per commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from journeydsl.runtime.jsonio import dumps, loads
from journeydsl.runtime.store import Store, StoreError, Transition, transition_dict

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS profiles (id TEXT PRIMARY KEY, profile BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS plans (journey TEXT NOT NULL, version INTEGER NOT NULL, plan BLOB NOT NULL,
  PRIMARY KEY (journey, version));
CREATE TABLE IF NOT EXISTS transitions (
  seq INTEGER PRIMARY KEY, journey TEXT NOT NULL, version INTEGER NOT NULL, customer_id TEXT NOT NULL,
  instance TEXT NOT NULL, from_step TEXT, to_step TEXT NOT NULL, at REAL NOT NULL, via TEXT);
"""


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
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous.upper() == 'FULL' else 'NORMAL'}")
            # A larger page cache keeps the customers/seen B-trees in memory across batches (64 MB), and
            # fewer, larger WAL checkpoints cut the time spent copying pages back into the database.
            self._db.execute("PRAGMA cache_size=-65536")
            self._db.execute("PRAGMA wal_autocheckpoint=10000")
            self._db.execute("PRAGMA temp_store=MEMORY")
            self._db.executescript(SCHEMA)
            self._load()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot open SQLite store {path}: {err}") from err
        self._dirty: set[str] = set()
        self._dirty_profiles: set[str] = set()
        self._new_seen: list[str] = []
        self._new_records: list[tuple[int, dict[str, Any]]] = []
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

    def _load(self) -> None:
        db = self._db
        # The profile lives in its own table: it is most of a customer's bytes and changes far less often
        # than the instances, so a commit rewrites it only when it changed.
        for customer_id, state in db.execute("SELECT id, state FROM customers"):
            customer = loads(state)
            customer.setdefault("p", {})
            self.customers[customer_id] = customer
        for customer_id, profile in db.execute("SELECT id, profile FROM profiles"):
            customer = self.customers.setdefault(customer_id, {"p": {}, "i": {}, "c": {}})
            customer["p"] = loads(profile)
        self.seen = {row[0] for row in db.execute("SELECT id FROM seen")}
        rows = db.execute("SELECT journey, version, plan FROM plans")
        self._plans = {(str(j), int(v)): loads(plan) for j, v, plan in rows}
        meta = dict(db.execute("SELECT k, v FROM meta").fetchall())
        self.clock = float(meta["clock"]) if "clock" in meta else None
        self._delivered = int(meta.get("delivered", "0"))
        self._delivered_written = self._delivered
        last = db.execute("SELECT max(seq) FROM outbox").fetchone()[0]
        self._seq = int(last or 0)
        # Committed before a crash but never delivered: delivered first by the next run.
        self._deliverable: list[dict[str, Any]] = [
            loads(row[0])
            for row in db.execute("SELECT record FROM outbox WHERE seq > ? ORDER BY seq", (self._delivered,))
        ]
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
        for record in records:
            self._seq += 1
            self._new_records.append((self._seq, record))

    def log_transitions(self, rows: list[Transition]) -> None:
        self._new_transitions.extend(rows)

    def end_unit(self) -> None:
        self._units += 1
        if self._units >= self.batch:
            self.flush()

    def flush(self) -> None:
        self._units = 0
        if not (
            self._dirty or self._dirty_profiles or self._new_seen or self._new_records or self._new_transitions
        ) and (self._delivered == self._delivered_written):
            return
        db = self._db
        customers = self.customers
        db.execute("BEGIN")
        try:
            if self._dirty:
                db.executemany(
                    "INSERT OR REPLACE INTO customers (id, state) VALUES (?, ?)",
                    [(cid, dumps({"i": customers[cid]["i"], "c": customers[cid]["c"]})) for cid in self._dirty],
                )
            if self._dirty_profiles:
                db.executemany(
                    "INSERT OR REPLACE INTO profiles (id, profile) VALUES (?, ?)",
                    [(cid, dumps(customers[cid]["p"])) for cid in self._dirty_profiles],
                )
            if self._new_seen:
                db.executemany("INSERT OR IGNORE INTO seen (id) VALUES (?)", [(eid,) for eid in self._new_seen])
            if self._new_records:
                db.executemany(
                    "INSERT INTO outbox (seq, record) VALUES (?, ?)",
                    [(seq, dumps(record)) for seq, record in self._new_records],
                )
            if self._new_transitions:
                db.executemany(
                    "INSERT INTO transitions (journey, version, customer_id, instance, from_step, to_step, at, via)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    self._new_transitions,
                )
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
        self._deliverable.extend(record for _, record in self._new_records)
        if self._new_records:
            self._deliverable_upto = self._new_records[-1][0]
        self._dirty.clear()
        self._dirty_profiles.clear()
        self._new_seen.clear()
        self._new_records.clear()
        self._new_transitions.clear()

    # ---- delivery
    def take_deliverable(self) -> list[dict[str, Any]]:
        """Committed records in order; the delivered mark is written with the next commit (at-least-once)."""
        fresh = self._deliverable
        self._deliverable = []
        self._delivered = self._deliverable_upto
        return fresh

    # ---- analytics
    def transitions(self) -> Iterator[dict[str, Any]]:
        self.flush()
        rows = self._db.execute(
            "SELECT journey, version, customer_id, instance, from_step, to_step, at, via FROM transitions ORDER BY seq"
        )
        return (transition_dict(row) for row in rows)

    def actions(self) -> Iterator[dict[str, Any]]:
        self.flush()
        return (loads(row[0]) for row in self._db.execute("SELECT record FROM outbox ORDER BY seq"))

    def close(self) -> None:
        self.flush()
        self._db.close()
