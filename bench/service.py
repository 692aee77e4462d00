"""Service benchmark (issue 15): `serve` ingest over HTTP and the PostgreSQL store, against `run` on SQLite.

The issue asks for "`serve` ingest throughput (events/s through HTTP, NDJSON batches) and PostgreSQL store
throughput against `run` on sqlite in the same run". One workload, the example journeys' events
(`bench.workload.example_events`, every event drives a journey, 2% deliberately bad), written once as JSONL, and
one bundle of the example journeys. Measured in turns, best of ROUNDS each (least CPU), each on a fresh store:

1. `journeydsl run BUNDLE --events FILE --batch N` in a child process on sqlite:///FILE (the baseline the issue
   names) and on postgresql:// (a throwaway server from tests/pg_server.py, a fresh `?schema=` per run), net of
   the command's start-up (a one-event run on a fresh store of the same kind, measured once).
2. `journeydsl serve BUNDLE --clock event --insecure` on the same two stores: once GET /readyz answers, the
   events are POSTed as NDJSON (`--batch-lines` per request) over keep-alive connections by 1 and by 2 client
   threads (with 2, each client posts the events of its own half of the customers, in order, as a producer
   partitioned by customer would), until every request has its 202; the 202 bodies must add up to the events
   (accepted + duplicates + dead letters). Then SIGTERM, and `serve` must exit 0.

No `--until` anywhere: `serve` ingest has no horizon, so both commands do the same work, timers firing by
event time as the stream advances (both print the same records). Rates are events/s by CPU time and by wall
time. CPU is the journeydsl process's: the child's rusage for `run`; for `serve`, its threads' CPU (/proc) from
the first POST until it has also delivered the records of what it ingested (to its default sink, standard output,
into a file), printed by thread: HTTP (uvicorn's event loop), the engine worker, the relay. Wall time for `serve`
ends at the last 202. On PostgreSQL the server's CPU (the postmaster and its children, /proc; not counted for a
server on another machine) is added, since the store's work is done there. The HTTP client runs
in this process on the same 2 cores and is not counted. The issue sets no target for these figures: each ratio
line says so.

Run: `python -m bench service` or `PYTHONPATH=. python -m bench.service [--customers N] [--batch-lines N]
[--batch N] [--clients 1,2] [--rounds N] [--postgres-url URL]`.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType

from bench.endtoend import write_jsonl
from bench.workload import (
    JOURNEYS,
    ROOT,
    ROUNDS,
    Meter,
    build_name,
    bundle_files,
    env_int,
    example_events,
    in_turns,
)
from journeydsl.compile.bundle import write_bundle
from journeydsl.runtime.jsonio import DecodeError, loads

BATCH = 1000  # --batch of `run` and `serve`: units per commit of the durable store
BATCH_LINES = 500  # events per POST
READY_TIMEOUT = 60.0  # seconds `serve` may take to answer GET /readyz with 200
REQUEST_TIMEOUT = 120.0  # seconds one POST may wait for its 202 (the commit of its batch)
POST_TIMEOUT = 900.0  # seconds all the clients together may take
STOP_TIMEOUT = 60.0  # seconds `serve` may take to exit after SIGTERM (its --grace is 10 s)
RUN_TIMEOUT = 900.0  # seconds one `journeydsl run` may take
SETTLE_TIMEOUT = 30.0  # seconds `serve` may take to deliver what it ingested before its CPU is read
SETTLE_STEP = 0.2  # seconds between two readings of its CPU while it settles
IDLE_CPU = 0.02  # CPU seconds per SETTLE_STEP below which it counts as idle (its ticks and polls only)
PORT_ATTEMPTS = 3  # serve start-ups tried when the free port found was taken before serve could bind it
BUSY_RETRIES = 100  # 503 answers (commit queue full) one request may get before the benchmark gives up
NDJSON = "application/x-ndjson"
# The synthetic replay is sparse when --customers is small (days between events): without a skew bound every
# valid event is processed whatever the workload's size, so only synth's deliberately bad events are dead letters.
SKEW = ("--max-skew", "none")


# --------------------------------------------------------------------------- CPU of other processes


def _stat_fields(pid: int) -> list[str] | None:
    return _stat_fields_of(f"/proc/{pid}/stat")


def _stat_fields_of(path: str) -> list[str] | None:
    """A /proc stat file after the command name (which may hold spaces): field 3 of proc(5) is index 0."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _command_name(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


ZOMBIE_WAIT = 2.0  # seconds PostgresCpu waits for the postmaster to reap an exited backend
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int, children: bool = False) -> float | None:
    """User + system CPU seconds of a live process (and of its reaped children); None without /proc."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / TICK


class PostgresCpu:
    """CPU seconds used so far by a PostgreSQL server: the postmaster, its live children (backends, walwriter,
    checkpointer, autovacuum) and the children it has reaped (a backend's time moves there when its client
    disconnects). Two readings around a run give the server's share of the run's work."""

    def __init__(self, url: str) -> None:
        import psycopg  # only the PostgreSQL runs need it

        with psycopg.connect(url, connect_timeout=10) as connection:
            row = connection.execute("SELECT pg_backend_pid()").fetchone()
            # A server on another machine (or in another pid namespace) has pids that mean nothing here: only a
            # local process named postgres is the backend, and its parent the postmaster.
            pid = int(row[0]) if row else 0
            fields = _stat_fields(pid) if _command_name(pid) == "postgres" else None
        self.postmaster = int(fields[1]) if fields else None

    def seconds(self) -> float | None:
        # A backend that has exited but is not yet reaped (a zombie) shows no CPU time, and its time moves to the
        # postmaster's cutime when reaped, maybe while /proc is being scanned: read again until no child is a
        # zombie and the postmaster's own reading did not change during the scan.
        deadline = time.monotonic() + ZOMBIE_WAIT
        while True:
            total, settled = self._read()
            if settled or time.monotonic() > deadline:
                return total
            time.sleep(0.005)

    def _read(self) -> tuple[float | None, bool]:
        if self.postmaster is None:
            return None, True
        own = process_cpu(self.postmaster, children=True)
        if own is None:
            return None, True
        total, settled = own, True
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                fields = _stat_fields(int(entry.name))
                if fields is not None and int(fields[1]) == self.postmaster:
                    settled = settled and fields[0] not in ("Z", "X")
                    total += (int(fields[11]) + int(fields[12])) / TICK
        return total, settled and process_cpu(self.postmaster, children=True) == own


# --------------------------------------------------------------------------- stores


@dataclass
class Stores:
    """Fresh store URLs on demand: a new SQLite file, or a new schema of the PostgreSQL database (dropped by
    `drop` once its run is over, so a database given with --postgres-url keeps nothing)."""

    folder: Path
    postgres: str | None = None
    cpu: PostgresCpu | None = None
    _count: int = 0

    def fresh(self, kind: str) -> str:
        self._count += 1
        if kind == "sqlite":
            return f"sqlite:///{self.folder / f'bench-{self._count}.db'}"
        if self.postgres is None:
            raise RuntimeError("no PostgreSQL server")
        joiner = "&" if "?" in self.postgres else "?"
        return f"{self.postgres}{joiner}schema=jdbench_{os.getpid()}_{self._count}"

    def server_cpu(self, kind: str) -> float | None:
        return self.cpu.seconds() if kind == "postgresql" and self.cpu is not None else None

    def drop(self, url: str) -> None:
        """Remove a run's store (a PostgreSQL schema; a SQLite file with its -wal, -shm and .lock files)."""
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            for name in path.parent.glob(f"{path.name}*"):
                name.unlink(missing_ok=True)
            return
        import psycopg
        from psycopg import sql

        base, _, query = url.partition("?")
        schema = next(p.split("=", 1)[1] for p in query.split("&") if p.startswith("schema="))
        kept = "&".join(p for p in query.split("&") if not p.startswith("schema="))
        try:
            with psycopg.connect(base + (f"?{kept}" if kept else ""), autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        except psycopg.Error as err:  # a failed run, not a crashed benchmark (in_turns reports RuntimeError)
            raise RuntimeError(f"could not drop the schema {schema}: {err}") from err


def kind_of(url: str) -> str:
    return "postgresql" if url.startswith(("postgresql:", "postgres:")) else url.partition(":")[0]


# --------------------------------------------------------------------------- figures


@dataclass
class Figure:
    """One measured run: `events` in `wall` seconds, using `cpu` seconds of the journeydsl process and
    `server_cpu` of the PostgreSQL server (None on other stores)."""

    events: int
    wall: float
    cpu: float
    server_cpu: float | None
    records: int
    dead_letters: int
    note: str = ""

    @property
    def total_cpu(self) -> float:
        return self.cpu + (self.server_cpu or 0.0)

    def rate(self, seconds: float) -> float:
        return self.events / seconds if seconds > 0 else float("inf")

    def line(self, label: str) -> str:
        server = "" if self.server_cpu is None else f", {self.rate(self.total_cpu):>7,.0f} incl. PostgreSQL"
        return (
            f"  {label:<38} {self.rate(self.cpu):>7,.0f} events/s CPU{server} ({self.rate(self.wall):>7,.0f} wall); "
            f"{self.records:,} records, {self.dead_letters:,} dead letters{self.note}"
        )


def meter_of(figure: Figure) -> Meter:
    """A Meter for `in_turns`, which keeps the run of least CPU (here including the PostgreSQL server's)."""
    return Meter(wall=figure.wall, cpu=figure.total_cpu)


# --------------------------------------------------------------------------- `journeydsl run`


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


# The child runs the same `main` as the installed `journeydsl` script, with the runtime build this process imports.
JOURNEYDSL = [sys.executable, "-c", "import sys; from journeydsl.cli import main; sys.argv[0] = 'journeydsl'; main()"]


@dataclass
class Child:
    wall: float
    cpu: float  # the child's user + system CPU seconds (its rusage)
    status: int
    stderr: str


def run_child(args: list[str], out: Path, err: Path) -> Child:
    """`journeydsl ARGS` with standard output into `out` and standard error into `err`, within RUN_TIMEOUT."""
    started = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen([*JOURNEYDSL, *args], stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
    # wait4 gives the child's own rusage but has no timeout: a timer kills a child that overstays.
    overstayed = threading.Event()

    def kill() -> None:
        overstayed.set()
        child.kill()

    timer = threading.Timer(RUN_TIMEOUT, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if overstayed.is_set():
        raise RuntimeError(f"journeydsl {args[0]} still running after {RUN_TIMEOUT:g} s: killed")
    text = err.read_text(encoding="utf-8", errors="replace")
    return Child(wall, usage.ru_utime + usage.ru_stime, child.returncode, text)


@dataclass
class RunResult:
    child: Child
    server_cpu: float | None
    records: int
    dead_letters: int


def run_once(bundle: Path, events_file: Path, store: str, batch: int, stores: Stores) -> RunResult:
    """`journeydsl run` on a fresh store `store`; RuntimeError with the command's own error when it fails."""
    folder = stores.folder
    out, dead = folder / "run.out", folder / "run.dead"
    dead.unlink(missing_ok=True)
    args = ["run", str(bundle), "--events", str(events_file), "--store", store, "--batch", str(batch), *SKEW]
    kind = kind_of(store)
    before = stores.server_cpu(kind)
    try:
        child = run_child([*args, "--dead-letter", str(dead)], out, folder / "run.err")
        after = stores.server_cpu(kind)
    finally:
        stores.drop(store)
    if child.status != 0:
        raise RuntimeError(f"journeydsl run --store {store} failed (exit {child.status}): {_tail(child.stderr)}")
    server = after - before if before is not None and after is not None else None
    return RunResult(child, server, _count_lines(out), _count_lines(dead))


@dataclass
class RunMeasure:
    """`journeydsl run` on a store kind, net of the start-up measured once on a one-event file."""

    bundle: Path
    events_file: Path
    events: int
    kind: str
    batch: int
    stores: Stores
    startup: RunResult

    @classmethod
    def start(
        cls, bundle: Path, events_file: Path, one_event: Path, kind: str, batch: int, stores: Stores
    ) -> RunMeasure:
        startup = run_once(bundle, one_event, stores.fresh(kind), batch, stores)
        return cls(bundle, events_file, _count_lines(events_file), kind, batch, stores, startup)

    def __call__(self) -> tuple[Figure, Meter]:
        result = run_once(self.bundle, self.events_file, self.stores.fresh(self.kind), self.batch, self.stores)
        base = self.startup
        server = None
        if result.server_cpu is not None:
            server = max(result.server_cpu - (base.server_cpu or 0.0), 0.0)
        figure = Figure(
            self.events,
            max(result.child.wall - base.child.wall, 1e-9),
            max(result.child.cpu - base.child.cpu, 1e-9),
            server,
            result.records,
            result.dead_letters,
        )
        return figure, meter_of(figure)


# --------------------------------------------------------------------------- `journeydsl serve`


def _tail(text: str, lines: int = 8) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(nothing on standard error)"


def pg_server() -> ModuleType:
    """tests/pg_server.py (the tests' throwaway PostgreSQL), as `tests.pg_server` when the repository root is on
    the path (python -m from the root), else from the tests folder itself."""
    try:
        return importlib.import_module("tests.pg_server")
    except ImportError:
        sys.path.insert(0, str(ROOT / "tests"))
        return importlib.import_module("pg_server")


def free_port() -> int:
    port: int = pg_server().free_port()
    return port


class Serve(AbstractContextManager["Serve"]):
    """`journeydsl serve BUNDLE --store URL --clock event --insecure` on a free loopback port, in a child process
    with standard output (the delivered records) and standard error (the JSON logs) in files.

    Entering waits for GET /readyz to answer 200 (RuntimeError if the process exits or READY_TIMEOUT passes);
    `stop()` sends SIGTERM and returns once the process exited 0 (RuntimeError otherwise); leaving the block
    stops it, and kills it if SIGTERM was not enough within STOP_TIMEOUT."""

    def __init__(
        self, bundle: Path, store: str, folder: Path, batch: int | None = None, options: tuple[str, ...] = ()
    ) -> None:
        self.out, self.err = folder / "serve.out", folder / "serve.err"
        self.args = ["serve", str(bundle), "--store", store, "--insecure", "--clock", "event", *SKEW]
        self.args += [*(["--batch", str(batch)] if batch else []), *options]
        self.status: int | None = None
        self._spawn()

    def _spawn(self) -> None:
        self.port = free_port()
        with self.out.open("wb") as out, self.err.open("wb") as err:
            command = [*JOURNEYDSL, *self.args, "--listen", f"127.0.0.1:{self.port}"]
            self.process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)

    def __enter__(self) -> Serve:
        for attempt in range(PORT_ATTEMPTS):
            try:
                self._wait_ready()
                return self
            except RuntimeError as err:
                # Another process may take the port between free_port() and serve's bind: try another one.
                if "cannot listen" not in str(err) or attempt == PORT_ATTEMPTS - 1:
                    self._kill()
                    raise
                self._spawn()
            except BaseException:
                self._kill()
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self.process.poll() is None:
            try:
                self.stop()
            except RuntimeError:
                if kind is None:
                    raise
            finally:
                self._kill()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"journeydsl serve exited {self.process.returncode} at start-up: {self.stderr()}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", "/readyz")
                answer = connection.getresponse()
                last = f"{answer.status} {answer.read()[:200]!r}"
                if answer.status == 200:
                    return
            except OSError as err:
                last = str(err)
            finally:
                connection.close()
            time.sleep(0.05)
        raise RuntimeError(f"journeydsl serve not ready after {READY_TIMEOUT:g} s (last /readyz: {last})")

    def cpu(self) -> float | None:
        return process_cpu(self.process.pid)

    def threads(self) -> dict[int, float]:
        """CPU seconds by thread id (the main thread's id is the process id); {} without /proc."""
        found: dict[int, float] = {}
        try:
            tasks = list(os.scandir(f"/proc/{self.process.pid}/task"))
        except OSError:
            return found
        for task in tasks:
            fields = _stat_fields_of(f"/proc/{self.process.pid}/task/{task.name}/stat")
            if fields is not None:
                found[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICK
        return found

    def settle(self) -> None:
        """Wait (at most SETTLE_TIMEOUT) until the process is idle: the relay has delivered what was ingested."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        before = self.cpu()
        while before is not None and time.monotonic() < deadline:
            time.sleep(SETTLE_STEP)
            now = self.cpu()
            if now is None or now - before <= IDLE_CPU:
                return
            before = now

    def stderr(self) -> str:
        return _tail(self.err.read_text(encoding="utf-8", errors="replace"))

    def stop(self) -> int:
        """SIGTERM, then wait for the exit; RuntimeError unless it is 0. Returns the records it delivered."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.status = self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill()
            raise RuntimeError(f"journeydsl serve still running {STOP_TIMEOUT:g} s after SIGTERM") from None
        if self.status != 0:
            raise RuntimeError(f"journeydsl serve exited {self.status} after SIGTERM (not 0): {self.stderr()}")
        return _count_lines(self.out)

    def _kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)


@dataclass
class Tally:
    """What the 202 answers said, added up."""

    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    busy: int = 0  # 503 answers (commit queue full), retried

    @property
    def events(self) -> int:
        return self.accepted + self.duplicates + self.dead_letters

    def add(self, other: Tally) -> None:
        self.requests += other.requests
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.dead_letters += other.dead_letters
        self.busy += other.busy


def partition(lines: list[bytes], clients: int) -> list[list[bytes]]:
    """The lines split among `clients` by customer (a stable hash of customer_id), each part in file order, as
    a producer partitioned by customer sends them; a line without a customer goes by its position."""
    parts: list[list[bytes]] = [[] for _ in range(clients)]
    for index, line in enumerate(lines):
        try:
            event = loads(line)
        except DecodeError:
            event = None
        customer = event.get("customer_id") if isinstance(event, dict) else None
        key = zlib.crc32(customer.encode()) if isinstance(customer, str) else index
        parts[key % clients].append(line)
    return parts


def post_lines(port: int, lines: list[bytes], batch_lines: int) -> Tally:
    """POST the lines as NDJSON, `batch_lines` a request, one after another on one keep-alive connection."""
    tally = Tally()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        for start in range(0, len(lines), batch_lines):
            body = b"".join(lines[start : start + batch_lines])
            for _ in range(BUSY_RETRIES):
                connection.request("POST", "/v1/events", body=body, headers={"Content-Type": NDJSON})
                answer = connection.getresponse()
                data = answer.read()
                if answer.status != 503:
                    break
                tally.busy += 1
                time.sleep(float(answer.headers.get("Retry-After", "1")))
            if answer.status != 202:
                raise RuntimeError(f"POST /v1/events answered {answer.status}: {data[:300]!r}")
            result = loads(data)
            tally.requests += 1
            tally.accepted += int(result["accepted"])
            tally.duplicates += int(result["duplicates"])
            tally.dead_letters += len(result["dead_letters"])
    finally:
        connection.close()
    return tally


def post_events(port: int, lines: list[bytes], batch_lines: int, clients: int) -> Tally:
    """POST every line with `clients` threads (the customers partitioned among them); the answers added up.
    RuntimeError when a client fails or they do not finish within POST_TIMEOUT."""
    if clients == 1:
        try:
            return post_lines(port, lines, batch_lines)
        except (OSError, http.client.HTTPException, ValueError, KeyError) as err:  # a broken answer or connection
            raise RuntimeError(f"posting to serve: {type(err).__name__}: {err}") from err
    results: list[Tally | BaseException | None] = [None] * clients

    def client(index: int, part: list[bytes]) -> None:
        try:
            results[index] = post_lines(port, part, batch_lines)
        except BaseException as err:  # noqa: BLE001 - handed to the main thread, which raises it
            results[index] = err

    threads = [
        threading.Thread(target=client, args=(i, part), name=f"bench-client-{i}", daemon=True)
        for i, part in enumerate(partition(lines, clients))
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + POST_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    total = Tally()
    for thread, result in zip(threads, results, strict=True):
        if thread.is_alive():
            raise RuntimeError(f"{thread.name} still posting after {POST_TIMEOUT:g} s")
        if isinstance(result, BaseException):
            raise RuntimeError(f"{thread.name}: {type(result).__name__}: {result}") from result
        assert result is not None
        total.add(result)
    return total


# `serve`'s threads in start order (service/server.py: uvicorn's event loop in the main thread, then the engine
# worker, then the relay); the names are used only when there are exactly these three.
SERVE_THREADS = ("HTTP", "engine", "relay")


def thread_split(pid: int, split: dict[int, float]) -> str:
    """`HTTP 0.05 s, engine 0.89 s, relay 0.56 s`: the main thread first, then the others in start order (thread
    ids grow); numbered (`#2`, `#3`, ...) when the threads are not the three `serve` is known to start."""
    ordered = sorted(split.items(), key=lambda item: (item[0] != pid, item[0]))
    names = SERVE_THREADS if len(ordered) == len(SERVE_THREADS) else ["main", *(f"#{n}" for n in range(2, 99))]
    return ", ".join(f"{name} {used:.2f} s" for name, (_, used) in zip(names, ordered, strict=False))


@dataclass
class ServeMeasure:
    """`serve` ingest on a fresh store of `kind`: POST every line by `clients` clients, timed from the first
    request to the last 202 (start-up and shutdown excluded)."""

    bundle: Path
    lines: list[bytes]
    kind: str
    batch: int
    batch_lines: int
    clients: int
    stores: Stores
    tallies: list[Tally] = field(default_factory=list)

    def __call__(self) -> tuple[Figure, Meter]:
        store = self.stores.fresh(self.kind)
        try:
            with Serve(self.bundle, store, self.stores.folder, self.batch) as serve:
                threads0, server0 = serve.threads(), self.stores.server_cpu(self.kind)
                started = time.perf_counter()
                try:
                    tally = post_events(serve.port, self.lines, self.batch_lines, self.clients)
                except RuntimeError as err:
                    raise RuntimeError(f"{err} (serve's log: {serve.stderr()})") from err
                wall = time.perf_counter() - started
                serve.settle()  # the CPU counted includes delivering the records of the events ingested
                threads1, server1 = serve.threads(), self.stores.server_cpu(self.kind)
                pid = serve.process.pid
                records = serve.stop()
        finally:
            self.stores.drop(store)
        if tally.events != len(self.lines):
            raise RuntimeError(
                f"the 202 answers add up to {tally.events} events (accepted {tally.accepted} + duplicates "
                f"{tally.duplicates} + dead letters {tally.dead_letters}), not the {len(self.lines)} posted"
            )
        self.tallies.append(tally)
        split = {tid: used - threads0.get(tid, 0.0) for tid, used in threads1.items()}
        cpu = sum(split.values()) if split else float("nan")
        server = server1 - server0 if server0 is not None and server1 is not None else None
        note = f"; {tally.requests} requests" + (f", {tally.busy} answered 503 and retried" if tally.busy else "")
        note += f"; CPU by thread {thread_split(pid, split)}"
        figure = Figure(len(self.lines), wall, cpu, server, records, tally.dead_letters, note)
        return figure, meter_of(figure)


# --------------------------------------------------------------------------- the benchmark


def ratio_line(name: str, top: Figure, bottom: Figure) -> str:
    """One ratio of events/s, by CPU (the PostgreSQL server's included) and by wall time; the issue sets none."""
    by_cpu = bottom.total_cpu / top.total_cpu if top.total_cpu > 0 else float("inf")
    by_wall = bottom.wall / top.wall if top.wall > 0 else float("inf")
    return (
        f"  ratio {name}: {by_cpu:.2f} by CPU, {by_wall:.2f} by wall time (events/s, same events; "
        "no target: issue 15 sets none)"
    )


def postgres(url: str | None) -> AbstractContextManager[str | None]:
    """The PostgreSQL to measure: the one given, else a throwaway server (None, said why, when there is none)."""
    if url is not None:
        return nullcontext(url)
    module = pg_server()
    try:
        module.find_binaries()
        module._prefix()  # as root, the `postgres` user must exist
    except module.PostgresUnavailable as missing:
        print(f"  no PostgreSQL figures: {missing}", flush=True)
        return nullcontext(None)
    return module.postgres_server("journeydsl_bench")  # type: ignore[no-any-return]


def measure(args: argparse.Namespace, folder: Path, postgres_url: str | None) -> None:
    events = example_events(args.customers)
    bundle = write_bundle(bundle_files([JOURNEYS]), folder / "journeys.jbundle")
    events_file, one_event = folder / "events.jsonl", folder / "one.jsonl"
    lines = write_jsonl(events, events_file)
    one_event.write_bytes(lines[0])
    del events
    print(
        f"example journeys' events: {len(lines):,} ({args.customers:,} customers, "
        f"{events_file.stat().st_size / 1e6:.1f} MB JSONL); --batch {args.batch}; serve: {args.batch_lines} "
        f"events per POST; runtime {build_name()}",
        flush=True,
    )
    stores = Stores(folder, postgres_url, PostgresCpu(postgres_url) if postgres_url else None)
    kinds = ["sqlite"] + (["postgresql"] if postgres_url else [])
    labels: list[str] = []
    runs: list[Callable[[], tuple[Figure, Meter]]] = []
    for kind in kinds:
        try:
            runner = RunMeasure.start(bundle, events_file, one_event, kind, args.batch, stores)
        except RuntimeError as err:
            print(f"  run, {kind}: FAILED at start-up: {err}", flush=True)
            continue
        base = runner.startup.child
        print(f"  start-up of `journeydsl run` on {kind} (1 event): {base.wall * 1000:.0f} ms wall, "
              f"{base.cpu * 1000:.0f} ms CPU (subtracted)", flush=True)  # fmt: skip
        labels.append(f"run, {kind}")
        runs.append(runner)
    for kind in kinds:
        for clients in args.clients:
            labels.append(f"serve, {kind}, {clients} client{'s' if clients > 1 else ''}")
            runs.append(ServeMeasure(bundle, lines, kind, args.batch, args.batch_lines, clients, stores))
    print(f"  (each run on a fresh store; all take turns, best of {args.rounds} by CPU)", flush=True)
    found: dict[str, Figure] = {}
    for label, result in zip(labels, in_turns(args.rounds, *runs), strict=True):
        if isinstance(result, RuntimeError):
            print(f"  {label}: FAILED: {result}", flush=True)
        else:
            found[label] = result[0]
            print(result[0].line(label), flush=True)
    print_ratios(found, kinds, args.clients)


def print_ratios(found: dict[str, Figure], kinds: list[str], clients: list[int]) -> None:
    base = found.get("run, sqlite")
    if "run, postgresql" in found and base is not None:
        print(ratio_line("run postgresql / run sqlite", found["run, postgresql"], base), flush=True)
    for kind in kinds:
        for count in clients:
            label = f"serve, {kind}, {count} client{'s' if count > 1 else ''}"
            if label not in found:
                continue
            if f"run, {kind}" in found:
                print(ratio_line(f"{label} / run, {kind}", found[label], found[f"run, {kind}"]), flush=True)
            if kind != "sqlite" and base is not None:
                print(ratio_line(f"{label} / run, sqlite", found[label], base), flush=True)
    missing = [label for label in ("run, sqlite", "run, postgresql") if label not in found]
    if missing:
        print(f"  no ratio against {' or '.join(missing)}: not measured (see above)", flush=True)


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, not {value}")
    return value


def client_counts(text: str) -> list[int]:
    counts = [positive(part.strip()) for part in text.split(",") if part.strip()]
    if not counts:
        raise argparse.ArgumentTypeError("--clients takes numbers >= 1 separated by commas, e.g. 1,2")
    return counts


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.service", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=positive, default=env_int("JD_BENCH_SERVICE_CUSTOMERS", 2_000))
    parser.add_argument("--batch-lines", type=positive, default=BATCH_LINES, help="events per POST")
    parser.add_argument("--batch", type=positive, default=BATCH, help="--batch of run and serve")
    parser.add_argument("--clients", type=client_counts, default=[1, 2], help="client threads (default 1,2)")
    parser.add_argument("--rounds", type=positive, default=max(ROUNDS, 1))
    parser.add_argument(
        "--postgres-url", help="measure on this PostgreSQL (a fresh schema per run) instead of a throwaway server"
    )
    args = parser.parse_args(argv)
    if args.postgres_url is not None:
        problem = check_postgres_url(args.postgres_url)
        if problem:
            parser.error(f"--postgres-url: {problem}")
    return args


def check_postgres_url(url: str) -> str | None:
    """Why a --postgres-url cannot be used, or None: the scheme, a schema of its own, or no connection."""
    if kind_of(url) != "postgresql":
        return f"expected a postgresql:// URL, not {url!r}"
    if "schema=" in url.partition("?")[2]:
        return "leave out ?schema=: every run makes a schema of its own (and drops it)"
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10):
            return None
    except psycopg.Error as err:
        return f"cannot connect: {str(err).strip() or type(err).__name__}"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv if argv is not None else [])
    with tempfile.TemporaryDirectory(prefix="jd-service-") as tmp, postgres(args.postgres_url) as url:
        measure(args, Path(tmp), url)


if __name__ == "__main__":
    main(sys.argv[1:])
