"""`postgresql://USER@HOST:PORT/DB`: the server store (psycopg 3), for `serve`, delivery workers and big stores.

URL: `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB?batch=N&schema=NAME&cache=N&seen_retention=DURATION` (also
`postgres://`). The four parameters are the store's own: `batch` units per commit (default 1,000, and at most 0.1 s
after the first: store.DEFAULT_BATCH, BATCH_SECONDS), `schema` the
PostgreSQL schema holding the tables (default `public`; created when missing), `cache` the number of clean
customers kept in memory (default 10,000; 0: none), `seen_retention` how long event ids are remembered (default
`30d`; a whole number and a unit s, m, h, d or w). Any other parameter is libpq's (`sslmode`, `connect_timeout`,
`application_name`, ...) and is handed to it; one libpq does not know, or any parameter given twice, is refused.
A password is never shown in a message; prefer a `~/.pgpass` file or `PGPASSWORD` to one in the URL.

Layout (schema version 1, in `schema_version`; the store creates the tables and migrates older versions on open,
and refuses a schema newer than it knows):
- `customers(id, state, profile, due, active)`: one row per customer, loaded when an event or a timer needs it.
  `state` is `[instances, cap counts]` and `profile` the profile, both JSON as bytes (bytea: key order and
  numbers come back exactly as written, which JSONB would not promise); `due` the customer's earliest timer,
  indexed with the id (`WHERE due IS NOT NULL`) so the next due timer is one index probe; `active` the
  (journey, version) pairs of its running instances (JSONB), which `in_flight_versions` counts in SQL.
- `seen(id, at)`: handled event ids with the event's time, for duplicate detection.
- `outbox(seq, key, record, delivered, attempts, not_before, claimed_until, error)`: EVERY record the engine
  produced, in order; `record` is exactly the JSON line `journeydsl run` prints. `delivered` means settled:
  handed to a sink that accepted it, printed by `run`, or given up (then also in `dead_deliveries`).
- `transitions`, `events` (the history `replay` runs again), `plans`, `meta` (the clock, the owner).

Commits: the customers saved, the seen ids, the records, the transitions, the events and the clock of `batch` units
go to the server as ONE statement (data-modifying CTEs over arrays: one round trip, one transaction). A crash
(SIGKILL included) loses only the units not committed yet; their event ids were not committed either, so the next
run processes those events again and produces the same records with the same keys. `flush()` commits at once,
`abandon()` drops the pending units, `close()` commits them.

Seen ids and their retention: an event whose id is in `seen` is a duplicate and is skipped. Ids are kept for
`seen_retention` measured on the store's clock (the latest event time the engine reached, not the wall
clock): now and then a commit deletes the ids of events dated more than that before the clock (at the first
commit after opening, then each time the clock moved on by a tenth of the retention). An event re-sent after
its id was forgotten is processed again: pick a retention longer than any producer may retry.

Ownership: one process writes a store (schema) at a time. Mode "write" takes a session-level advisory lock
(keyed by the schema name) for as long as its connection lives; the server drops it when the connection goes,
however the process died. A second writer fails with StoreBusyError naming the owner (its pid and host from
`meta`, its server backend), or waits `wait` seconds for it. "read" takes no lock and refuses to commit (unlike
SQLite's read-only copy, each of its queries sees the owner's latest commit, not one snapshot); "auto" writes
when the lock is free and reads otherwise; "deliver" takes no lock and only claims and settles outbox
rows, so delivery workers (`journeydsl deliver`) run beside the owner, several at once: a claim takes the oldest
claimable rows `FOR UPDATE SKIP LOCKED` and leases them (`claimed_until`), so no two workers get the same row.
The owner's own delivery methods use a second connection, so a relay thread never runs inside a batch.

Memory: clean customers are kept in a bounded LRU cache, the customers of the open batch until it commits, and a
window of at most a few hundred due timers; `scan`, `transitions`, `actions` and `events` stream through a
server-side cursor on a connection of their own. The store's size is bounded by the server's disk, not by RAM.

Errors: a server that cannot be reached, a refused login or a missing database is a StoreError naming host,
port and database and the server's reason; a damaged row (a state not of the shapes the engine relies on) is a
StoreError naming the table and the customer.

Where it sits: one concrete store, above store.py (its base); `stores.open_store` imports it for postgresql: URLs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import math
import os
import re
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from journeydsl.runtime import state as S
from journeydsl.runtime.aggregates import (
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
from journeydsl.runtime.jsonio import dumps, loads
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
from journeydsl.runtime.store_sqlite import _customer_problem

SCHEMA_VERSION = 1

# Each schema version's DDL, applied in order from the store's version to SCHEMA_VERSION in one transaction.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE IF NOT EXISTS meta (k text PRIMARY KEY, v text NOT NULL)",
        "CREATE TABLE IF NOT EXISTS plans (journey text NOT NULL, version integer NOT NULL, plan bytea NOT NULL,"
        " PRIMARY KEY (journey, version))",
        # COLLATE "C": ids order by code point, as Python's str does, so timer ties break as in memory://.
        'CREATE TABLE IF NOT EXISTS customers (id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL,'
        " profile bytea NOT NULL, due double precision, active jsonb)",
        "CREATE INDEX IF NOT EXISTS customers_due ON customers (due, id) WHERE due IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS customers_active ON customers (id) WHERE active IS NOT NULL",
        "CREATE TABLE IF NOT EXISTS seen (id text PRIMARY KEY, at double precision NOT NULL)",
        "CREATE INDEX IF NOT EXISTS seen_at ON seen (at)",
        "CREATE TABLE IF NOT EXISTS transitions (n bigserial PRIMARY KEY, journey text NOT NULL,"
        " version integer NOT NULL, customer_id text NOT NULL, instance text NOT NULL, from_step text,"
        " to_step text NOT NULL, at double precision NOT NULL, via text)",
        "CREATE TABLE IF NOT EXISTS events (n bigserial PRIMARY KEY, event bytea NOT NULL)",
        "CREATE TABLE IF NOT EXISTS outbox (seq bigint PRIMARY KEY, key text, record bytea NOT NULL,"
        " delivered boolean NOT NULL DEFAULT false, attempts integer NOT NULL DEFAULT 0,"
        " not_before double precision NOT NULL DEFAULT 0, claimed_until double precision, error text)",
        # Claims and `run`'s delivered mark read only the unsettled rows: a small index however long the outbox.
        "CREATE INDEX IF NOT EXISTS outbox_unsettled ON outbox (seq) WHERE NOT delivered",
        "CREATE TABLE IF NOT EXISTS dead_deliveries (seq bigint PRIMARY KEY, key text, record bytea NOT NULL,"
        " attempts integer NOT NULL, error text NOT NULL, at double precision NOT NULL)",
    ),
}

TRANSITION_COLUMNS = ("journey", "version", "customer_id", "instance", "from_step", "to_step", "at", "via")
# A batch's writes as ONE statement (data-modifying CTEs over arrays): one round trip and one transaction. Each CTE
# touches rows no other one does: the customers saved with and without a profile change and the popped ones are
# three disjoint sets, the delivered mark covers only records committed before. A customer saved without a profile
# change keeps its stored profile (a new one is written with it all the same).
COMMIT_BATCH = """
WITH saved AS (
  SELECT * FROM unnest(%(id)b::text[], %(state)b::bytea[], %(profile)b::bytea[], %(due)b::float8[],
    %(active)b::jsonb[], %(with_profile)b::boolean[]) AS u(id, state, profile, due, active, with_profile)
), with_profile AS (
  INSERT INTO customers (id, state, profile, due, active)
  SELECT id, state, profile, due, active FROM saved WHERE with_profile
  ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, profile = EXCLUDED.profile, due = EXCLUDED.due,
    active = EXCLUDED.active
), state_only AS (
  INSERT INTO customers (id, state, profile, due, active)
  SELECT id, state, profile, due, active FROM saved WHERE NOT with_profile
  ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, due = EXCLUDED.due, active = EXCLUDED.active
), popped AS (
  UPDATE customers SET due = NULL WHERE id = ANY(%(popped)b::text[])
), seen_ids AS (
  INSERT INTO seen (id, at) SELECT * FROM unnest(%(seen_id)b::text[], %(seen_at)b::float8[])
  ON CONFLICT (id) DO NOTHING
), records AS (
  INSERT INTO outbox (seq, key, record)
  SELECT * FROM unnest(%(seq)b::bigint[], %(key)b::text[], %(record)b::bytea[])
), steps AS (
  INSERT INTO transitions (journey, version, customer_id, instance, from_step, to_step, at, via)
  SELECT * FROM unnest(%(t_journey)b::text[], %(t_version)b::integer[], %(t_customer_id)b::text[],
    %(t_instance)b::text[], %(t_from_step)b::text[], %(t_to_step)b::text[], %(t_at)b::float8[], %(t_via)b::text[])
), history AS (
  INSERT INTO events (event) SELECT * FROM unnest(%(event)b::bytea[])
), handed_out AS (
  UPDATE outbox SET delivered = true, claimed_until = NULL
  WHERE NOT delivered AND seq > %(mark_from)s AND seq <= %(mark_to)s
), clock AS (
  INSERT INTO meta (k, v) SELECT 'clock', %(clock)s::text WHERE %(clock)s::text IS NOT NULL
  ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v
), forgotten AS (
  DELETE FROM seen WHERE at < %(purge)s::float8
)
SELECT 1
"""


def _py_str(x: str) -> str:
    """SQL for Python's `str()` of a JSONB value `x` as orjson wrote it (None for a missing key or null)."""
    return (
        f"CASE jsonb_typeof({x}) WHEN 'string' THEN {x} #>> '{{}}' WHEN 'number' THEN ({x})::text"
        f" WHEN 'boolean' THEN CASE WHEN ({x})::text = 'true' THEN 'True' ELSE 'False' END ELSE 'None' END"
    )


def _falsy(x: str) -> str:
    """SQL for Python's `not x` of a JSONB value (missing, null, "", 0, false, [] or {})."""
    empty = "'null'::jsonb, '\"\"'::jsonb, '0'::jsonb, 'false'::jsonb, '[]'::jsonb, '{}'::jsonb"
    return f"({x} IS NULL OR {x} IN ({empty}))"


# Records counted as aggregates.record_key counts them (the same normalisation, in SQL over the JSON records):
# kind, str(journey), int(version or 0), the label of its kind, a send's status, and a number-valued amount.
_KIND = "CASE jsonb_typeof(j->'kind') WHEN 'string' THEN j->>'kind' ELSE '' END"
_VERSION = (
    "CASE jsonb_typeof(j->'version') WHEN 'number' THEN trunc((j->>'version')::numeric)::bigint"
    " WHEN 'boolean' THEN (j->>'version')::boolean::int"
    " WHEN 'string' THEN CASE WHEN j->>'version' ~ '^\\s*[+-]?[0-9]{1,18}\\s*$' THEN trim(j->>'version')::bigint"
    " ELSE 0 END ELSE 0 END"
)
_OUTCOME, _GOAL, _CHANNEL, _INST = "j->'outcome'", "j->'goal'", "j->'channel'", "j->'instance'"
_LABEL = (
    f"CASE kind WHEN 'exit' THEN {_py_str(_OUTCOME)}"
    f" WHEN 'end' THEN CASE WHEN {_falsy(_OUTCOME)} THEN 'none' ELSE {_py_str(_OUTCOME)} END"
    f" WHEN 'goal' THEN {_py_str(_GOAL)} WHEN 'send' THEN {_py_str(_CHANNEL)} ELSE '' END"
)
_AMOUNT = (
    "CASE kind WHEN 'goal' THEN CASE WHEN jsonb_typeof(j->'value') = 'number' THEN (j->>'value')::float8 END"
    " WHEN 'send' THEN CASE WHEN jsonb_typeof(j->'cost') = 'number' THEN (j->>'cost')::float8 END END"
)
_JOURNEY, _VERSION_RAW, _CUSTOMER = "j->'journey'", "j->'version'", "j->'customer_id'"
_INSTANCE = (
    f"CASE WHEN {_falsy(_INST)} THEN '~' || {_py_str(_JOURNEY)} || '/' || {_py_str(_VERSION_RAW)}"
    f" || '/' || {_py_str(_CUSTOMER)} ELSE {_py_str(_INST)} END"
)
RECORD_AGGREGATES = f"""
WITH r AS (SELECT convert_from(record, 'UTF8')::jsonb AS j FROM outbox),
k AS (SELECT j, {_KIND} AS kind FROM r),
c AS (
  SELECT {_py_str("j->'journey'")} AS journey, {_VERSION} AS version, kind, {_LABEL} AS label,
    CASE kind WHEN 'send' THEN {_py_str("j->'status'")} ELSE '' END AS status, {_AMOUNT} AS amount,
    CASE kind WHEN 'goal' THEN {_INSTANCE} END AS instance
  FROM k
)
SELECT journey, version, kind, label, status, count(*), coalesce(sum(amount), 0)::float8, count(amount),
  count(DISTINCT instance)
FROM c GROUP BY GROUPING SETS ((journey, version, kind, label, status), (journey, version))
"""
TRANSITION_REACH = (
    "SELECT journey, version, to_step, count(DISTINCT CASE WHEN instance <> '' THEN instance"
    " ELSE '~' || journey || '/' || version || '/' || customer_id END) FROM transitions GROUP BY 1, 2, 3"
)
TRANSITION_EDGES = (
    "SELECT journey, version, coalesce(from_step, ''), to_step, count(*) FROM transitions GROUP BY 1, 2, 3, 4"
)
IN_FLIGHT_STEPS = (
    "SELECT i.value->>0, (i.value->>1)::integer, (i.value->>5)::integer, count(*),"
    " count(*) FILTER (WHERE jsonb_typeof(i.value->7) IS DISTINCT FROM 'null')"
    " FROM customers AS c, jsonb_each(convert_from(c.state, 'UTF8')::jsonb -> 0) AS i"
    " WHERE c.active IS NOT NULL AND (i.value->>4) = '1' AND NOT (c.id = ANY(%s)) GROUP BY 1, 2, 3"
)

# Active instances by (journey, version), over the `active` column (the active instances' [journey, version]).
IN_FLIGHT = (
    "SELECT a->>0, (a->>1)::integer, count(*) FROM customers, jsonb_array_elements(active) a"
    " WHERE active IS NOT NULL AND NOT (id = ANY(%s)) GROUP BY 1, 2"
)
# Sends held for a contact policy by (journey, channel): state -> 1 is the cap counts, "@offers" their waiting
# sends; a customer with one has a timer (its settle time), so the `due` index finds them.
WAITING_SENDS = (
    "SELECT o.value->>3, o.value->>5, count(*)"
    " FROM customers AS c, jsonb_array_elements(convert_from(c.state, 'UTF8')::jsonb -> 1 -> '@offers') AS o"
    " WHERE c.due IS NOT NULL AND NOT (c.id = ANY(%s)) GROUP BY 1, 2"
)

STORE_PARAMETERS = ("batch", "schema", "cache", "seen_retention")
DEFAULT_CACHE = 10_000
DEFAULT_RETENTION = 30 * 86_400.0
DUE_PAGE = 256  # due timers read per query
MAX_HEAP = 4 * DUE_PAGE  # due timers kept in memory across commits
FRESH_LIMIT = 100_000  # records kept in memory for take_deliverable before it reads them back from the outbox
CONNECT_TIMEOUT = "10"  # seconds, unless the URL says otherwise: an unreachable host fails instead of hanging
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


# ---------------------------------------------------------------------------------------------- the URL


@dataclass(frozen=True, slots=True)
class PostgresSettings:
    """What a store URL says: the libpq connection string (the store's own parameters removed) and the store's
    settings; `display` names the store in messages (no password)."""

    conninfo: str
    display: str
    batch: int
    schema: str
    cache: int
    seen_retention: float


def parse_url(url: str) -> PostgresSettings:
    """The settings of a `postgresql://` URL; StoreError naming what is wrong (never the password)."""
    secret = _password(url)
    shown = _redact(url, secret)
    scheme, _, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres") or not _:
        raise StoreError(f"invalid store URL {shown!r}: use postgresql://USER@HOST:PORT/DATABASE")
    if "#" in rest:
        raise StoreError(f"invalid store URL {shown!r}: a store URL has no #fragment")
    base, _, query = rest.partition("?")
    own: dict[str, str] = {}
    passed: list[str] = []
    given: set[str] = set()
    for item in query.split("&") if query else ():
        name = unquote(item.partition("=")[0])
        if name in given:
            raise StoreError(f"invalid store URL {shown!r}: {name} is given twice")
        given.add(name)
        if name in STORE_PARAMETERS:
            name, equals, value = item.partition("=")
            if not equals:
                raise StoreError(f"invalid store URL {shown!r}: {name} needs a value ({name}=...)")
            own[name] = unquote(value)
        else:
            passed.append(item)
    conninfo = f"postgresql://{base}" + (f"?{'&'.join(passed)}" if passed else "")
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error as err:
        raise StoreError(
            f"invalid store URL {shown!r}: {_scrub(str(err), secret)} (the store's own parameters: "
            f"{', '.join(STORE_PARAMETERS)})"
        ) from None
    for port in str(params.get("port") or "5432").split(","):  # libpq checks it only when connecting
        if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            raise StoreError(f"invalid store URL {shown!r}: the port must be a number from 1 to 65535, not {port!r}")
    batch = _whole(own.get("batch", str(DEFAULT_BATCH)), "batch", shown, minimum=1)
    cache = _whole(own.get("cache", str(DEFAULT_CACHE)), "cache", shown, minimum=0)
    schema = own.get("schema", "public")
    if not _SCHEMA_NAME.fullmatch(schema):
        raise StoreError(
            f"invalid store URL {shown!r}: schema must be a lower-case name of letters, digits and _ (at most "
            f"63, not starting with a digit), not {schema!r}"
        )
    retention = DEFAULT_RETENTION
    if "seen_retention" in own:
        retention = _duration(own["seen_retention"], shown)
    host = str(params.get("host") or params.get("hostaddr") or "local socket")
    port = str(params.get("port") or "5432")
    database = str(params.get("dbname") or params.get("user") or "")
    user = f"{params['user']}@" if params.get("user") else ""
    display = f"postgresql://{user}{host}:{port}/{database}" + ("" if schema == "public" else f"?schema={schema}")
    return PostgresSettings(conninfo, display, batch, schema, cache, retention)


def _whole(text: str, name: str, shown: str, minimum: int) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 9 and int(text) >= minimum):
        raise StoreError(f"invalid store URL {shown!r}: {name} must be a whole number from {minimum}, not {text!r}")
    return int(text)


def _duration(text: str, shown: str) -> float:
    number, unit = text[:-1], text[-1:]
    if unit not in _UNITS or not (number.isascii() and number.isdigit() and len(number) <= 9 and int(number) > 0):
        raise StoreError(
            f"invalid store URL {shown!r}: seen_retention must be a whole number and a unit "
            f"({', '.join(_UNITS)}), such as 30d, not {text!r}"
        )
    return float(int(number) * _UNITS[unit])


def _password(url: str) -> str | None:
    """The password of a URL, wherever it is (in the authority or as a parameter), so messages can hide it."""
    try:
        parts = urlsplit(url)
        found = parts.password
    except ValueError:
        found = None
    for item in url.partition("?")[2].split("&"):
        name, _, value = item.partition("=")
        if unquote(name) == "password" and value:
            found = found or unquote(value)
    return found or None


def _redact(url: str, secret: str | None) -> str:
    """The URL with its password replaced by ***."""
    if not secret:
        return url
    shown = re.sub(r"(://[^/@?#]*?:)[^/@?#]*@", r"\1***@", url, count=1)
    shown = re.sub(r"([?&]password=)[^&#]*", r"\1***", shown)
    return _scrub(shown, secret)


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


# ---------------------------------------------------------------------------------------------- connecting


def connect(settings: PostgresSettings, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A connection to the store's server with the store's schema first on its search path; StoreError (host,
    port, database and the server's reason) when there is none to be had."""
    params = conninfo_to_dict(settings.conninfo)
    params.setdefault("connect_timeout", CONNECT_TIMEOUT)
    params.setdefault("application_name", f"journeydsl pid {os.getpid()}")
    try:
        connection = psycopg.connect(make_conninfo("", **params), autocommit=autocommit)
    except psycopg.Error as err:
        raise StoreError(f"cannot connect to the PostgreSQL store {settings.display}: {_reason(err)}") from None
    try:
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(settings.schema)))
        if not autocommit:
            connection.commit()
    except psycopg.Error as err:
        connection.close()
        raise StoreError(f"cannot use the PostgreSQL store {settings.display}: {_reason(err)}") from None
    return connection


def _reason(err: psycopg.Error) -> str:
    """The server's or libpq's reason, without psycopg's framing ("connection failed: connection to server at
    ... failed:") and hints."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    text = re.sub(r"^connection failed: ", "", text)
    text = re.sub(r"^connection to server (at|on) .*? failed: ", "", text)
    text = re.sub(r"^(FATAL|ERROR):\s+", "", text)
    return text or type(err).__name__


def lock_key(schema: str) -> int:
    """The advisory lock key of a store: a signed 64-bit number derived from its schema (locks are per
    database already)."""
    digest = hashlib.sha256(f"journeydsl store {schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# ---------------------------------------------------------------------------------------------- due timers


_MISSING = object()


class DueWindow:
    """The next due timers: committed rows read a page at a time in (due, id) order (whether due yet or not: the
    page is also a look-ahead, so most pops need no query), merged with the customers saved since the last
    commit, whose due time overrides their row's.

    `_end` is the last key read from the table, and every committed row up to it is in the heap (or was popped);
    `_complete` says there was nothing after it. Every saved customer with a timer is pushed, so it comes out in
    order wherever its due time falls. A heap entry is current when the customer was not saved or popped since it
    was pushed (`over` lacks it), or when its due time is the one last saved; popping a customer makes it "no
    timer" until it is saved again. After a commit the table holds what `over` says, so `committed` keeps the
    current entries up to `_end` and forgets `over`; a heap grown past MAX_HEAP is cut back to its first page
    (the rest is in the table, read again when the window gets there)."""

    def __init__(self, fetch: Callable[[tuple[float, str] | None, int], list[tuple[float, str]]]) -> None:
        self._fetch = fetch  # (after key, limit) -> committed (due, id) rows after the key, in order
        self._heap: list[tuple[float, str]] = []
        self._end: tuple[float, str] | None = None
        self._complete = False
        self.over: dict[str, float | None] = {}

    def saved(self, customer_id: str, due: float | None) -> None:
        self.over[customer_id] = due
        if due is not None:
            heapq.heappush(self._heap, (due, customer_id))

    def _current(self, entry: tuple[float, str]) -> bool:
        over = self.over.get(entry[1], _MISSING)
        return over is _MISSING or over == entry[0]

    def pop(self, upto: float) -> tuple[float, str] | None:
        heap = self._heap
        while True:
            while heap and not self._current(heap[0]):
                heapq.heappop(heap)
            end = self._end
            if heap and (self._complete or (end is not None and heap[0] <= end)):
                break  # no unread row comes before it
            if self._complete or (end is not None and end[0] > upto):
                break  # no unread row is due by `upto`, and the top (if any) is not before the unread rows
            rows = self._fetch(end, DUE_PAGE)
            for row in rows:
                heapq.heappush(heap, row)
            if rows:
                self._end = rows[-1]
            self._complete = len(rows) < DUE_PAGE
        if not heap or heap[0][0] > upto:
            return None
        due, customer_id = heapq.heappop(heap)
        self.over[customer_id] = None
        return due, customer_id

    def committed(self) -> None:
        """The batch is in the table: keep the current entries the window covers (one per customer)."""
        if not self.over and len(self._heap) <= MAX_HEAP:
            return
        end, complete = self._end, self._complete
        kept = {
            entry[1]: entry
            for entry in self._heap
            if self._current(entry) and (complete or (end is not None and entry <= end))
        }
        heap = sorted(kept.values())
        if len(heap) > MAX_HEAP:
            heap = heap[:DUE_PAGE]
            self._end, self._complete = heap[-1], False
        self._heap = heap  # sorted: a heap already
        self.over = {}


# ---------------------------------------------------------------------------------------------- the store


def _storable(text: str) -> bool:
    """Whether PostgreSQL can hold `text` as text: no NUL character, and valid UTF-8 (no lone surrogate)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


@dataclass(slots=True)
class _Pending:
    customer: dict[str, Any]
    due: float | None
    profile: bool


class PostgresStore(Store):
    schemes = ("postgresql", "postgres")

    @classmethod
    def from_url(cls, url: str, batch: int | None = None, mode: OpenMode = "auto", wait: float = 0.0) -> PostgresStore:
        settings = parse_url(url)
        if batch is not None:  # the caller's (`run --batch`) wins over the URL's
            settings = dataclasses.replace(settings, batch=max(1, int(batch)))
        return cls(settings, mode=mode, wait=wait)

    def __init__(self, settings: PostgresSettings, mode: OpenMode = "auto", wait: float = 0.0) -> None:
        super().__init__(durable=True)
        self.settings = settings
        self.name = settings.display
        self.batch = settings.batch
        self.mode: OpenMode = mode
        # Why this copy may not commit (mode read, or another process owns the store), or None for the owner.
        self._read_only: str | None = f"store {self.name} was opened read-only" if mode == "read" else None
        self._outbox_db: psycopg.Connection[Any] | None = None
        self._closed = False
        self._locked = False  # this connection holds the store's advisory lock
        # What `_load_meta` reads for every mode but deliver (which never commits nor hands out records).
        self._clock_written: float | None = None
        self._seq = 0
        self._backlog = False
        self._fresh_records: list[dict[str, Any]] = []
        self._fresh_lines: list[bytes] = []
        self._mark = self._mark_written = 0  # records up to this seq were handed out by take_deliverable
        self._purged_at: float | None = None
        self._db = connect(settings)
        try:
            if mode in ("write", "auto"):
                try:
                    self._lock(wait if mode == "write" else 0.0)
                except StoreBusyError as busy:
                    if mode == "write":
                        raise
                    self._read_only = str(busy)
            if self._read_only is None and mode != "deliver":
                self._create_or_migrate()
                self._write_owner()
            else:
                self._check_version()
            if mode != "deliver":
                self._load_meta()
        except BaseException as err:
            self._db.close()
            if isinstance(err, psycopg.Error):
                raise StoreError(f"cannot open the PostgreSQL store {self.name}: {_reason(err)}") from None
            raise
        self.due = DueWindow(self._fetch_due)
        self._pending: dict[str, _Pending] = {}
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._new_seen: dict[str, float] = {}
        self._seen_cache: OrderedDict[str, None] = OrderedDict()
        # What the last `prefetch` found missing: customers not in the table, event ids not seen. Only this
        # process writes the store, so they stay missing until it saves or adds them (which drops them here).
        self._absent: set[str] = set()
        self._unseen: set[str] = set()
        self._new_records: list[dict[str, Any]] = []
        self._new_transitions: list[Transition] = []
        self._new_events: list[dict[str, Any]] = []
        self._commits = CommitPolicy()

    # ---- opening
    def _lock(self, wait: float) -> None:
        key = lock_key(self.settings.schema)
        deadline = time.monotonic() + wait
        while True:
            row = self._db.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row is not None and row[0]:
                self._locked = True
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreBusyError(f"store {self.name} is in use by another journeydsl process{self._owner(key)}")
            time.sleep(min(0.05, remaining))

    def _owner(self, key: int) -> str:
        """Who holds the store's lock, as far as the server tells: the owner's pid and host from meta, and the
        backend holding the lock."""
        parts: list[str] = []
        try:
            if self._exists("meta"):
                row = self._db.execute("SELECT v FROM meta WHERE k = 'owner'").fetchone()
                owner = loads(row[0]) if row else None
                if type(owner) is dict:
                    parts.append(f"pid {owner.get('pid')} on {owner.get('host')}")
            row = self._db.execute(
                "SELECT l.pid, a.application_name FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s AND l.objid::bigint = %s"
                " AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
            ).fetchone()
            if row is not None:
                parts.append(f"server backend {row[0]}" + (f", {row[1]!r}" if row[1] else ""))
        except (psycopg.Error, ValueError):
            pass  # the holder's name is a courtesy; the store is busy either way
        return f" ({'; '.join(parts)})" if parts else ""

    def _exists(self, table: str) -> bool:
        row = self._db.execute("SELECT to_regclass(%s)", (f"{self.settings.schema}.{table}",)).fetchone()
        return row is not None and row[0] is not None

    def _version(self) -> int | None:
        if not self._exists("schema_version"):
            return None
        rows = self._db.execute("SELECT version FROM schema_version").fetchall()
        if len(rows) != 1 or type(rows[0][0]) is not int:
            raise StoreError(f"cannot open the PostgreSQL store {self.name}: table schema_version is not one version")
        version: int = rows[0][0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"cannot open the PostgreSQL store {self.name}: its schema is version {version}, newer than this "
                f"journeydsl knows ({SCHEMA_VERSION}); upgrade journeydsl"
            )
        return version

    def _check_version(self) -> None:
        if self._version() is None:
            raise StoreError(
                f"no journeydsl store in {self.name} (schema {self.settings.schema} has no schema_version table): "
                "run events into it first"
            )

    def _create_or_migrate(self) -> None:
        db = self._db
        with db.transaction():
            db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.settings.schema)))
            version = self._version()
            if version is None:
                tables = {"meta", "customers", "outbox", "seen", "plans"}
                found = [t for t in sorted(tables) if self._exists(t)]
                if found:  # tables of something else: refused, not altered
                    raise StoreError(
                        f"{self.name} is not a journeydsl store: schema {self.settings.schema} has tables "
                        f"{', '.join(found)} but no schema_version"
                    )
                db.execute("CREATE TABLE schema_version (version integer NOT NULL)")
                db.execute("INSERT INTO schema_version VALUES (0)")
                version = 0
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    db.execute(statement)
            if version != SCHEMA_VERSION:
                db.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION,))

    def _write_owner(self) -> None:
        owner = dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}).decode()
        self._db.execute(
            "INSERT INTO meta (k, v) VALUES ('owner', %s) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v", (owner,)
        )

    def _load_meta(self) -> None:
        db = self._db
        meta = dict(db.execute("SELECT k, v FROM meta").fetchall())
        clock = meta.get("clock")
        self.clock = None
        if clock is not None:
            try:
                self.clock = float(clock)
            except ValueError:
                self.clock = math.nan
            if not math.isfinite(self.clock):
                raise self._damaged("table meta", f"holds a clock {clock!r} that is not a time")
        self._clock_written = self.clock
        plans: dict[tuple[str, int], dict[str, Any]] = {}
        for journey, version, plan in db.execute("SELECT journey, version, plan FROM plans"):
            decoded = self._json(plan, f"plans row ({journey!r}, {version})")
            if type(decoded) is not dict:
                raise self._damaged(f"plans row ({journey!r}, {version})", "is not a plan")
            plans[(journey, version)] = decoded
        self._plans = plans
        row = db.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()
        self._seq = int(row[0]) if row else 0
        # Records committed before this process opened the store and not settled: `take_deliverable` reads them.
        backlog = db.execute("SELECT EXISTS (SELECT 1 FROM outbox WHERE NOT delivered)").fetchone()
        self._backlog = bool(backlog and backlog[0])

    @property
    def read_only(self) -> bool:
        """True for a copy that may not commit: mode read, or another process owned the store when it opened."""
        return self._read_only is not None

    def _damaged(self, where: str, what: str) -> StoreError:
        return StoreError(f"damaged PostgreSQL store {self.name}: {where} {what}")

    def _json(self, data: Any, where: str) -> Any:
        if type(data) is not bytes:
            raise self._damaged(where, f"holds {type(data).__name__}, not JSON")
        try:
            return loads(data)
        except ValueError as err:
            raise self._damaged(where, f"is not JSON ({err})") from None

    def _fail(self, verb: str, err: psycopg.Error) -> NoReturn:
        raise StoreError(f"cannot {verb} the PostgreSQL store {self.name}: {_reason(err)}") from None

    def _store_only(self, what: str) -> None:
        """The methods of the engine's side refuse a store opened for delivery workers."""
        if self.mode == "deliver":
            raise StoreError(f"store {self.name} was opened for delivery only: it cannot {what}")

    # ---- customers
    def load(self, customer_id: str) -> dict[str, Any] | None:
        pending = self._pending.get(customer_id)
        if pending is not None:
            return pending.customer
        cache = self._cache
        customer = cache.get(customer_id)
        if customer is not None:
            cache.move_to_end(customer_id)
            return customer
        if customer_id in self._absent:
            return None
        self._store_only("load customers")
        self._check_text(customer_id, "customer id")
        try:
            row = self._db.execute("SELECT state, profile FROM customers WHERE id = %s", (customer_id,)).fetchone()
        except psycopg.Error as err:
            self._fail("read", err)
        if row is None:
            return None
        customer = self._customer(customer_id, row[0], row[1])
        self._remember(customer_id, customer)
        return customer

    def _check_text(self, text: str, what: str) -> None:
        if not _storable(text):
            raise StoreError(
                f"the PostgreSQL store {self.name} cannot hold the {what} {text!r}: PostgreSQL text has no NUL "
                "character and no lone surrogate"
            )

    def _customer(self, customer_id: str, state: Any, profile: Any) -> dict[str, Any]:
        where = f"customers row {customer_id!r}"
        decoded = self._json(state, where)
        if type(decoded) is not list or len(decoded) != 2:
            raise self._damaged(where, "has a state that is not [instances, cap counts]")
        problem = _customer_problem(decoded[0], decoded[1])
        if problem is not None:
            raise self._damaged(where, problem)
        decoded_profile = self._json(profile, where)
        if type(decoded_profile) is not dict:
            raise self._damaged(where, f"has a profile of type {type(decoded_profile).__name__}, not an object")
        return {"p": decoded_profile, "i": decoded[0], "c": decoded[1]}

    def _remember(self, customer_id: str, customer: dict[str, Any]) -> None:
        limit = self.settings.cache
        if limit <= 0:
            return
        cache = self._cache
        cache[customer_id] = customer
        cache.move_to_end(customer_id)
        while len(cache) > limit:
            cache.popitem(last=False)

    def save(self, customer_id: str, customer: dict[str, Any], due: float | None, profile: bool) -> None:
        self._store_only("save customers")
        self._cache.pop(customer_id, None)
        self._absent.discard(customer_id)
        pending = self._pending.get(customer_id)
        if pending is None:
            self._pending[customer_id] = _Pending(customer, due, profile)
        else:
            pending.customer, pending.due, pending.profile = customer, due, pending.profile or profile
        self.due.saved(customer_id, due)

    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Committed customers streamed from a server-side cursor on a connection of its own, the pending versions
        in place of their rows, then the pending customers not committed yet."""
        self._store_only("scan customers")
        pending = self._pending
        given: set[str] = set()
        for customer_id, state, profile in self._stream("SELECT id, state, profile FROM customers"):
            found = pending.get(customer_id)
            if found is not None:
                given.add(customer_id)
                yield customer_id, found.customer
            else:
                yield customer_id, self._customer(customer_id, state, profile)
        for customer_id, found in list(pending.items()):
            if customer_id not in given:
                yield customer_id, found.customer

    def _stream(self, query: str) -> Iterator[tuple[Any, ...]]:
        """Rows of `query` through a server-side cursor on a new read-only connection (a long read neither holds a
        transaction open on the store's own connection nor sees half a batch)."""
        connection = connect(self.settings, autocommit=False)
        try:
            connection.read_only = True
            with connection.cursor(name="journeydsl_stream") as cursor:
                cursor.itersize = 2000
                cursor.execute(query)
                yield from cursor
        except psycopg.Error as err:
            self._fail("read", err)
        finally:
            connection.close()

    def customer_count(self) -> int:
        self._store_only("count customers")
        try:
            row = self._db.execute("SELECT count(*) FROM customers").fetchone()
            ids = list(self._pending)
            stored = self._db.execute("SELECT count(*) FROM customers WHERE id = ANY(%s)", (ids,)).fetchone()
        except psycopg.Error as err:
            self._fail("read", err)
        assert row is not None and stored is not None
        return int(row[0]) + len(ids) - int(stored[0])

    def in_flight_versions(self) -> dict[tuple[str, int], int]:
        """Counted by the server over the `active` column, with the pending customers counted here instead of
        their rows."""
        found: dict[tuple[str, int], int] = {}
        rows, pending = self._over_committed(IN_FLIGHT, "count instances")
        for journey, version, count in rows:
            found[(journey, version)] = int(count)
        for customer in pending:
            for inst in customer["i"].values():
                if inst[S.ACTIVE]:
                    key = (inst[S.JOURNEY], inst[S.VERSION])
                    found[key] = found.get(key, 0) + 1
        return found

    def in_flight_steps(self) -> tuple[InFlightStep, ...]:
        """Counted by the server over the customers with active instances, the pending ones counted here."""
        rows, pending = self._over_committed(IN_FLIGHT_STEPS, "count instances")
        found = [(j, v, s, int(a), int(t)) for j, v, s, a, t in rows]
        found += [
            (inst[S.JOURNEY], inst[S.VERSION], inst[S.STEP], 1, int(inst[S.TIMER] is not None))
            for customer in pending
            for inst in customer["i"].values()
            if inst[S.ACTIVE]
        ]
        return in_flight_of(found)

    def waiting_sends(self) -> tuple[WaitingSends, ...]:
        """Counted by the server over the customers with a timer (a waiting send is one), the pending ones here."""
        rows, pending = self._over_committed(WAITING_SENDS, "count waiting sends")
        if not all(type(journey) is str and type(channel) is str for journey, channel, _ in rows):
            raise self._damaged("table customers", "holds a waiting send without a journey and channel")
        found = [(journey, channel, int(sends)) for journey, channel, sends in rows]
        found += [row for customer in pending for row in offer_rows(customer["c"])]
        return waiting_sends_of(found)

    def _over_committed(self, query: str, doing: str) -> tuple[list[Any], list[dict[str, Any]]]:
        """`query`'s rows over the committed customers but those of the open batch (its one parameter: their ids),
        and the open batch's customers: a count takes them from memory."""
        self._store_only(doing)
        try:
            rows = self._db.execute(query, (list(self._pending),)).fetchall()
        except psycopg.Error as err:
            self._fail("read", err)
        return rows, [pending.customer for pending in self._pending.values()]

    # ---- timers
    def pop_due(self, upto: float) -> tuple[float, str] | None:
        self._store_only("fire timers")
        return self.due.pop(upto)

    def _fetch_due(self, after: tuple[float, str] | None, limit: int) -> list[tuple[float, str]]:
        try:
            if after is None:
                rows = self._db.execute(
                    "SELECT due, id FROM customers WHERE due IS NOT NULL ORDER BY due, id LIMIT %s", (limit,)
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT due, id FROM customers WHERE due IS NOT NULL AND (due, id) > (%s, %s)"
                    " ORDER BY due, id LIMIT %s",
                    (after[0], after[1], limit),
                ).fetchall()
        except psycopg.Error as err:
            self._fail("read", err)
        return [(float(due), str(customer_id)) for due, customer_id in rows]

    # ---- seen event ids
    def seen_before(self, event_id: str) -> bool:
        if event_id in self._new_seen:
            return True
        cache = self._seen_cache
        if event_id in cache:
            cache.move_to_end(event_id)
            return True
        if event_id in self._unseen:
            return False
        self._store_only("check event ids")
        self._check_text(event_id, "event id")
        try:
            row = self._db.execute("SELECT 1 FROM seen WHERE id = %s", (event_id,)).fetchone()
        except psycopg.Error as err:
            self._fail("read", err)
        if row is None:
            return False
        self._remember_seen(event_id)
        return True

    def _remember_seen(self, event_id: str) -> None:
        cache = self._seen_cache
        if self.settings.cache > 0:
            cache[event_id] = None
            while len(cache) > self.settings.cache:
                cache.popitem(last=False)

    def add_seen(self, event_id: str, at: float) -> None:
        self._new_seen[event_id] = at
        self._unseen.discard(event_id)

    def prefetch(self, customer_ids: Iterable[str], event_ids: Iterable[str]) -> None:
        """Read ahead, in two queries, what the next events will ask for one by one: their customers (into the
        cache, at most `cache` of them) and whether their ids were seen. A caller holding a group of events
        (serve's NDJSON batch, run's next lines) saves a round trip per event and per customer."""
        if self.mode == "deliver":
            return
        pending, cache, storable = self._pending, self._cache, _storable
        wanted = [cid for cid in dict.fromkeys(customer_ids) if cid not in pending and cid not in cache]
        wanted = [cid for cid in wanted if storable(cid)][: self.settings.cache]  # bad ones fail when asked for
        ids = [eid for eid in dict.fromkeys(event_ids) if eid not in self._new_seen and eid not in self._seen_cache]
        ids = [eid for eid in ids if storable(eid)]
        try:
            rows = (
                self._db.execute("SELECT id, state, profile FROM customers WHERE id = ANY(%s)", (wanted,)).fetchall()
                if wanted
                else []
            )
            seen = (
                {row[0] for row in self._db.execute("SELECT id FROM seen WHERE id = ANY(%s)", (ids,))} if ids else set()
            )
        except psycopg.Error as err:
            self._fail("read", err)
        for customer_id, state, profile in rows:
            self._remember(customer_id, self._customer(customer_id, state, profile))
        self._absent = set(wanted).difference(row[0] for row in rows)
        for event_id in seen:
            self._remember_seen(event_id)
        self._unseen = set(ids) - seen

    # ---- plans
    def record_plans(self, plans: Mapping[tuple[str, int], dict[str, Any]]) -> None:
        fresh = {key: plan for key, plan in plans.items() if key not in self._plans}
        if not fresh:
            return
        self._store_only("record plans")
        if self._read_only is not None:
            raise StoreError(f"{self._read_only}: this copy cannot record the plans of a new bundle")
        try:
            with self._db.transaction(), self._db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO plans (journey, version, plan) VALUES (%s, %s, %s)"
                    " ON CONFLICT (journey, version) DO UPDATE SET plan = EXCLUDED.plan",
                    [(j, v, dumps(plan)) for (j, v), plan in sorted(fresh.items())],
                )
        except psycopg.Error as err:
            self._fail("commit to", err)
        super().record_plans(fresh)

    # ---- what units produce
    def log_actions(self, records: list[dict[str, Any]]) -> None:
        self._new_records += records

    def log_event(self, event: dict[str, Any]) -> None:
        self._new_events.append(event)

    def log_transitions(self, rows: list[Transition]) -> None:
        self._new_transitions += rows

    def end_unit(self) -> None:
        if self._commits.unit_done(self.batch):
            self.flush()

    def _pending_work(self) -> bool:
        return bool(
            self._pending
            or self.due.over
            or self._new_seen
            or self._new_records
            or self._new_transitions
            or self._new_events
            or self._mark != self._mark_written
        )

    def flush(self) -> None:
        """Commit the pending units in one transaction."""
        self._commits.committed()
        if self._closed:
            return
        if self._read_only is not None or self.mode == "deliver":
            if self._pending_work():
                raise StoreError(f"{self._read_only or f'store {self.name} was opened for delivery'}: "
                                 "this copy cannot commit its changes")  # fmt: skip
            return
        clock_moved = self.clock is not None and self.clock != self._clock_written
        if not (self._pending_work() or clock_moved):
            return
        records = self._new_records
        lines = [dumps(record) for record in records]
        first = self._seq + 1
        purge = self._purge_before()
        customers = self._customer_rows()
        popped = [cid for cid, due in self.due.over.items() if due is None and cid not in self._pending]
        transitions: list[tuple[Any, ...]] = list(zip(*self._new_transitions, strict=True)) or [()] * 8
        if transitions[6]:
            transitions[6] = tuple(float(at) for at in transitions[6])
        parameters = {
            "id": [row[0] for row in customers],
            "state": [row[1] for row in customers],
            "profile": [row[2] for row in customers],
            # Times as floats: an array is sent in binary with the type of its first element, and an int among
            # floats would make it a bigint array.
            "due": [None if row[3] is None else float(row[3]) for row in customers],
            "active": [row[4] for row in customers],
            "with_profile": [row[5] for row in customers],
            "popped": popped,
            "seen_id": list(self._new_seen),
            "seen_at": [float(at) for at in self._new_seen.values()],
            "seq": list(range(first, first + len(records))),
            "key": [key if type(key := record.get("key")) is str else None for record in records],
            "record": lines,
            **{f"t_{name}": list(column) for name, column in zip(TRANSITION_COLUMNS, transitions, strict=True)},
            "event": [dumps(event) for event in self._new_events],
            "mark_from": self._mark_written,
            "mark_to": self._mark,
            "clock": None if self.clock is None else repr(self.clock),
            "purge": purge,
        }
        try:
            # One statement, so one round trip and one transaction whatever the batch holds.
            self._db.execute(COMMIT_BATCH, parameters)
        except psycopg.Error as err:
            self._fail("commit to", err)
        # Committed: the batch's customers are clean now, and the table is the truth about due times again.
        for customer_id, pending in self._pending.items():
            self._remember(customer_id, pending.customer)
        self._pending.clear()
        self.due.committed()
        self._new_seen.clear()
        self._new_transitions.clear()
        self._new_events.clear()
        self._mark_written = self._mark
        self._clock_written = self.clock
        if purge is not None:
            self._purged_at = self.clock
            self._seen_cache.clear()  # some of them may be forgotten now
        if records:
            self._seq = first + len(records) - 1
            self._new_records = []
            if not self._backlog:
                self._fresh_records += records
                self._fresh_lines.append(b"".join(line + b"\n" for line in lines))
                if len(self._fresh_records) > FRESH_LIMIT:  # nobody takes them (serve): read them back if asked
                    self._fresh_records, self._fresh_lines, self._backlog = [], [], True

    def _customer_rows(self) -> list[tuple[Any, ...]]:
        """(id, state, profile, due, active, with profile) of the pending customers."""
        over = self.due.over  # a pending customer's due time as last saved, or None once popped since
        rows = []
        for customer_id, pending in self._pending.items():
            customer = pending.customer
            active = [[i[S.JOURNEY], i[S.VERSION]] for i in customer["i"].values() if i[S.ACTIVE]]
            rows.append(
                (
                    customer_id,
                    dumps((customer["i"], customer["c"])),
                    dumps(customer["p"]),
                    over.get(customer_id, pending.due),
                    dumps(active).decode() if active else None,
                    pending.profile,
                )
            )
        return rows

    def _purge_before(self) -> float | None:
        """The time before which seen ids are deleted in this commit, or None (not this time)."""
        clock, retention = self.clock, self.settings.seen_retention
        if clock is None:
            return None
        if self._purged_at is not None and clock - self._purged_at < retention / 10:
            return None
        return clock - retention

    # ---- delivery by `journeydsl run`
    def take_deliverable(self) -> list[dict[str, Any]]:
        if not (self._fresh_records or self._backlog):  # `run` asks after every event; most find nothing new
            return []
        return self.take_deliverable_lines()[0]

    def take_deliverable_lines(self) -> tuple[list[dict[str, Any]], bytes]:
        """Committed, unsettled records in order, with their JSON Lines as committed; marked delivered with the
        next commit (a caller that cannot pass them on must `abandon()`, and the next run hands them out again)."""
        self._store_only("hand out records")
        if not (self._backlog or self._fresh_records):
            return [], b""
        if self._read_only is not None:  # the owner delivers them; handing them out here would print them twice
            raise StoreError(f"{self._read_only}: this copy cannot deliver records")
        if self._backlog:
            try:
                rows = self._db.execute(
                    "SELECT seq, record FROM outbox WHERE NOT delivered AND seq > %s AND seq <= %s ORDER BY seq",
                    (self._mark, self._seq),
                ).fetchall()
            except psycopg.Error as err:
                self._fail("read", err)
            records = [self._record(seq, line) for seq, line in rows]
            data = b"".join(line + b"\n" for _, line in rows)
            self._backlog = False
        else:
            records, data = self._fresh_records, b"".join(self._fresh_lines)
        self._fresh_records, self._fresh_lines = [], []
        if not records:
            return [], b""
        self._mark = self._seq
        return records, data

    def _record(self, seq: int, line: Any) -> dict[str, Any]:
        record = self._json(line, f"outbox row {seq}")
        if type(record) is not dict:
            raise self._damaged(f"outbox row {seq}", "is not an action record")
        return record

    # ---- delivery workers
    def _outbox(self) -> psycopg.Connection[Any]:
        """The connection the delivery methods use: its own, so a relay thread never runs inside a batch's
        transaction on the engine's connection."""
        if self._outbox_db is None:
            if self._closed:
                raise StoreError(f"store {self.name} is closed")
            self._outbox_db = connect(self.settings)
        return self._outbox_db

    def claim_outbox(self, limit: int, lease: float) -> list[OutboxItem]:
        now = time.time()
        try:
            rows = (
                self._outbox()
                .execute(
                    "UPDATE outbox SET claimed_until = %s WHERE seq IN (SELECT seq FROM outbox WHERE NOT delivered"
                    " AND not_before <= %s AND (claimed_until IS NULL OR claimed_until < %s) ORDER BY seq LIMIT %s"
                    " FOR UPDATE SKIP LOCKED) RETURNING seq, record, attempts",
                    (now + lease, now, now, max(0, limit)),
                )
                .fetchall()
            )
        except psycopg.Error as err:
            self._fail("claim from", err)
        rows.sort()
        return [OutboxItem(seq, self._record(seq, record), attempts) for seq, record, attempts in rows]

    def outbox_delivered(self, seqs: list[int]) -> None:
        if not seqs:
            return
        try:
            self._outbox().execute(
                "UPDATE outbox SET delivered = true, claimed_until = NULL WHERE seq = ANY(%s)", (list(seqs),)
            )
        except psycopg.Error as err:
            self._fail("settle records in", err)

    def outbox_retry(self, seq: int, attempts: int, not_before: float, error: str) -> None:
        try:
            self._outbox().execute(
                "UPDATE outbox SET attempts = %s, not_before = %s, error = %s, claimed_until = NULL WHERE seq = %s",
                (attempts, not_before, error, seq),
            )
        except psycopg.Error as err:
            self._fail("settle records in", err)

    def outbox_dead(self, seq: int, attempts: int, error: str) -> None:
        """The row stays in the outbox (the history `actions` reads), settled, and is copied to dead_deliveries."""
        db = self._outbox()
        try:
            with db.transaction():
                db.execute(
                    "INSERT INTO dead_deliveries (seq, key, record, attempts, error, at)"
                    " SELECT seq, key, record, %s, %s, %s FROM outbox WHERE seq = %s"
                    " ON CONFLICT (seq) DO UPDATE SET attempts = EXCLUDED.attempts, error = EXCLUDED.error,"
                    " at = EXCLUDED.at",
                    (attempts, error, time.time(), seq),
                )
                db.execute(
                    "UPDATE outbox SET delivered = true, attempts = %s, error = %s, claimed_until = NULL"
                    " WHERE seq = %s",
                    (attempts, error, seq),
                )
        except psycopg.Error as err:
            self._fail("settle records in", err)

    def dead_deliveries(self) -> list[DeadDelivery]:
        try:
            rows = (
                self._outbox()
                .execute("SELECT seq, record, attempts, error FROM dead_deliveries ORDER BY seq")
                .fetchall()
            )
        except psycopg.Error as err:
            self._fail("read", err)
        return [DeadDelivery(seq, self._record(seq, record), attempts, error) for seq, record, attempts, error in rows]

    # ---- history
    def transitions(self) -> Iterator[dict[str, Any]]:
        self._store_only("read transitions")
        self._flush_if_owner()
        query = (
            "SELECT journey, version, customer_id, instance, from_step, to_step, at, via FROM transitions ORDER BY n"
        )
        return (transition_dict(row) for row in self._stream(query))

    def record_aggregates(self) -> RecordAggregates:
        """Counted by the server over the outbox's JSON records (GROUP BY, one scan)."""
        self._store_only("read records")
        self._flush_if_owner()
        try:
            rows = self._db.execute(RECORD_AGGREGATES).fetchall()
        except psycopg.Error as err:
            self._fail("read", err)
        counts = [
            (j, int(v), k, lab, st, int(n), float(t), int(p)) for j, v, k, lab, st, n, t, p, _ in rows if k is not None
        ]
        converted = [(j, int(v), int(i)) for j, v, k, _, _, _, _, _, i in rows if k is None]
        return record_aggregates_of(counts, converted)

    def transition_aggregates(self) -> TransitionAggregates:
        """Counted by the server over the transitions table."""
        self._store_only("read transitions")
        self._flush_if_owner()
        try:
            reach = self._db.execute(TRANSITION_REACH).fetchall()
            edges = self._db.execute(TRANSITION_EDGES).fetchall()
        except psycopg.Error as err:
            self._fail("read", err)
        return transition_aggregates_of(
            [(j, int(v), s, int(n)) for j, v, s, n in reach], [(j, int(v), a, b, int(n)) for j, v, a, b, n in edges]
        )

    def actions(self) -> Iterator[dict[str, Any]]:
        self._store_only("read records")
        self._flush_if_owner()
        return (self._record(seq, line) for seq, line in self._stream("SELECT seq, record FROM outbox ORDER BY seq"))

    def events(self) -> Iterator[dict[str, Any]]:
        self._store_only("read events")
        self._flush_if_owner()
        return self._events()

    def _events(self) -> Iterator[dict[str, Any]]:
        for n, data in self._stream("SELECT n, event FROM events ORDER BY n"):
            event = self._json(data, f"events row {n}")
            if type(event) is not dict:
                raise self._damaged(f"events row {n}", "is not an event")
            yield event

    def _flush_if_owner(self) -> None:
        """The history includes what is pending (as store_sqlite's): the owner commits it first."""
        if self._read_only is None:
            self.flush()

    # ---- closing
    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._close_connections()

    def abandon(self) -> None:
        """Close without committing: the pending units are dropped, and their events are redone by the next run."""
        self._close_connections()

    def _close_connections(self) -> None:
        self._closed = True
        if self._locked:
            # At once: the server drops a closed session's locks only once its backend has wound up, and a process
            # reopening the store right away would find it busy.
            try:
                self._db.execute("SELECT pg_advisory_unlock_all()")
            except psycopg.Error:
                pass  # a broken connection: its backend is gone or going, and its lock with it
            self._locked = False
        for connection in (self._db, self._outbox_db):
            if connection is not None:
                connection.close()
        self._outbox_db = None


register_store(PostgresStore)
