"""`journeydsl run --workers N`: one stream over N processes, each with the customers of one shard.

Where it sits: beside the engine (engine.py) and below the `run` command (cli/run.py), which keeps its own
single-process path for one worker; `journeydsl.api.run_events` calls `run_file` here.

What the records are: the same records, with the same keys, as one process makes, each customer's in the same
order; what differs is how the customers of different shards interleave. How:
- Every worker reads the whole events file. A customer belongs to shard `crc32(customer_id) % N` (stable across
  processes and runs, unlike Python's `hash`); an event without a usable customer id, or a line that is not
  JSON, belongs to shard 0, so every dead letter is reported by exactly one worker.
- First pass: worker k decodes and checks every N-th line (lines k+1, k+1+N, ...; `Core.check` needs no state)
  and writes, into maps all workers share, the line's owner and, when the event passes the checks, its time (NaN
  for a dead letter). Second pass, once every worker is through the first: a worker handles its own events with
  `Engine.process`, and for every other event that passed the checks does what `process` does before handling
  one: `--until` and `--max-skew` against the same stream clock, then the timers due up to the event's time, and
  the clock. So every shard's clock moves with every event, timers fire at the same points as in one process,
  and every line is decoded and checked once in the first pass, whoever owns it.
- The output goes block by block: the records made while reading lines 1-1024 (BLOCK), worker 1's then worker
  2's and so on, then those of lines 1025-2048 in the same way, then the `--until` firings at the end, a piece
  (ADVANCE_CHUNK customers) of each worker's in turn. So it is the same bytes on every run with the same worker
  count, and the parent's work is a write per worker per block, not per record: an exact merge into one
  process's order cost the parent and the workers about 0.6 s of CPU per 400,000 records (docs/decisions.md,
  "The order of `run --workers`"). Dead letters keep line order.
- A worker's block goes to the parent through a shared-memory Ring (its bytes copied once in and once out, not
  pickled) and a message on its pipe saying where it is.

Where a sharded run differs from one process: seen event ids are kept per shard (an event id reused on two
customers of different shards is handled on both; the Flink job, keyed by customer, differs the same way); a
SQLite shard forgets seen ids past their retention at its own commits, which fall at other points than one
store's, so which re-sent events older than the retention count as seen again may differ; and on SQLite records
are written as they are made rather than once committed, with every shard's delivered mark moved only when the
whole run has been written: after a crash or Ctrl-C the next run prints again all the records of the stopped
run (at-least-once; the keys tell repeats), where one process repeats only those since its last commit.

Stores: memory:// (each worker its own), sqlite:///PATH (one file per shard next to PATH, `PATH.shard2-of-4`,
and the shard count in `PATH.shards`, so a reopen with another count is refused). PostgreSQL has one owner at a
time (its lock), so it runs with one worker only.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
import mmap
import multiprocessing
import os
import queue
import signal
import threading
import time
import zlib
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from journeydsl.runtime.delivery import Summary, flush, write_all
from journeydsl.runtime.jsonio import DecodeError, dumps_lines, loads
from journeydsl.runtime.shards import SHARDS_SUFFIX, recorded_shards, shard_url, write_record
from journeydsl.runtime.store import StoreError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.synchronize import Event as MpEvent

    from journeydsl.runtime.engine import Engine
    from journeydsl.runtime.store import Store

# Below this size the default is one worker. Starting the workers (a fork, an engine and a first pass each, the
# parent's merge) costs about 0.1-0.2 s here; one compiled process runs about 6 MB/s of a stream where every event
# drives a journey and 15 MB/s of a whole stream, so 2 workers only pay off above a few MB.
SMALL_STREAM = 4 << 20
MAX_WORKERS = 128  # a line's owner (its number + 1) fits in one byte of the shared map, beside two notes
BLOCK = 1024  # input lines a block of output covers: a few hundred KB to a few MB of records per worker
# A dead letter of a block: (line, reason, the event as decoded or None, the raw line when not JSON, the source line)
DeadLetter = tuple[int, str, Any, "bytes | None", bytes]
RING = 16 << 20  # bytes of shared memory through which a worker hands the parent its records (see Ring)


class WorkersError(Exception):
    """A sharded run cannot start or did not finish (the message says why, and which worker)."""


def shard_of(customer_id: str, shards: int) -> int:
    """The shard of a customer id: crc32 of its UTF-8 bytes, modulo the shard count."""
    return zlib.crc32(customer_id.encode("utf-8", "surrogatepass")) % shards


def owner_of(event: Any, shards: int) -> int:
    """The shard that handles (or dead-letters) an event: its customer's, or 0 when it has no usable id."""
    if type(event) is dict:
        customer_id = event.get("customer_id")
        if type(customer_id) is str:
            return shard_of(customer_id, shards)
    return 0


def can_fork() -> bool:
    """Workers are forked: they inherit the loaded bundle and start in milliseconds (not on Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- store layout


def _sqlite_path(url: str) -> str:
    from journeydsl.runtime.store_sqlite import parse_url

    return parse_url(url).path


@dataclass(frozen=True, slots=True)
class Layout:
    """The stores of a run: one URL per worker."""

    urls: tuple[str, ...]
    new_record: str | None = None  # the shard-count file this run must write (a new sharded store)

    @property
    def workers(self) -> int:
        return len(self.urls)


def plan_layout(url: str, workers: int | None, size: int) -> Layout:
    """The workers and their stores for `run --store URL [--workers N]` on an events file of `size` bytes.

    The default (`workers` None): a store that exists keeps its own count (a plain SQLite file: 1); a new
    SQLite store and PostgreSQL get 1 (the layout of a durable store is the user's choice, made once);
    memory:// gets one per core, or 1 for a file under SMALL_STREAM. Raises WorkersError for a count the store
    cannot take."""
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise WorkersError(f"--workers takes 1 to {MAX_WORKERS}, not {workers}")
    scheme = url.partition(":")[0]
    if scheme == "memory":
        count = workers if workers is not None else (cores() if size >= SMALL_STREAM else 1)
        if count > 1 and not can_fork():
            if workers is None:
                count = 1
            else:
                raise WorkersError("--workers N > 1 needs a platform that can fork processes; use --workers 1")
        return Layout((url,) * count)
    if scheme != "sqlite":
        if workers is not None and workers > 1:
            raise WorkersError(
                f"--workers {workers} needs a store that can be split into shards (memory://, sqlite:///PATH): "
                f"a {scheme}:// store has one owner at a time; run it with --workers 1"
            )
        return Layout((url,))
    path = _sqlite_path(url)
    recorded = recorded_shards(path)
    if recorded is not None:
        if workers is not None and workers != recorded:
            raise WorkersError(
                f"the store {path} is split into {recorded} shards (a shard count is fixed when the store is made, "
                f"in {path}{SHARDS_SUFFIX}): run it with --workers {recorded}, or start a new store"
            )
        urls = tuple(shard_url(url, i, recorded) for i in range(recorded))
        missing = [
            shard_url(path, i, recorded) for i in range(recorded) if not Path(shard_url(path, i, recorded)).exists()
        ]
        if missing and len(missing) < recorded:  # none at all: a first run stopped before its workers began
            raise StoreError(
                f"the store {path} is split into {recorded} shards, but {', '.join(missing)} is missing: a shard "
                "that was moved or deleted would start again empty; put it back, or start a new store"
            )
        return Layout(urls)
    if workers is None or workers == 1:
        return Layout((url,))
    if Path(path).exists():
        raise WorkersError(
            f"the store {path} was made by a single-process run: --workers {workers} needs a new store "
            "(a store's shard count is fixed when it is made), or run it with --workers 1"
        )
    if not can_fork():
        raise WorkersError("--workers N > 1 needs a platform that can fork processes; use --workers 1")
    return Layout(tuple(shard_url(url, i, workers) for i in range(workers)), new_record=path + SHARDS_SUFFIX)


# --------------------------------------------------------------------------- one worker


@dataclass(frozen=True, slots=True)
class RunSpec:
    """What every worker needs (inherited through fork, never pickled)."""

    bundle: Any  # a loaded Bundle
    events: Path
    until: str | None = None
    max_skew: float | None = 86400.0
    batch: int | None = None
    wait: bool = False
    allow_orphans: bool = False
    allow_rollback: bool = False
    summary: bool = False


def _open_shard(url: str, spec: RunSpec) -> Store:
    from journeydsl.runtime import MemoryStore, open_store
    from journeydsl.runtime.store import StoreBusyError

    if url in ("memory://", "memory:"):
        return MemoryStore(keep_log=False)
    try:
        return open_store(url, batch=spec.batch, mode="write", wait=math.inf if spec.wait else 0.0)
    except StoreBusyError as err:
        raise StoreError(f"{err}; wait for it or pass --wait") from err


Encode = Callable[[list[dict[str, Any]]], bytes]


def advance_to(engine: Engine, now: float, into: list[dict[str, Any]]) -> None:
    """What `Engine.process` does before handling an event dated `now` that passed the checks, for another shard's
    customer's event: unless `--until` or `--max-skew` refuse it, fire the timers due up to `now` (their records
    into `into`) and move the stream's clock there. Reports no dead letter (the event's owner does)."""
    store = engine.store
    if engine.until is not None and now > engine.until:
        return
    if engine.max_skew is not None:
        reference = store.clock
        if reference is not None and now > reference + engine.max_skew:
            return
    if now >= engine.due_floor:  # the engine's own test: no timer is due before its floor
        into += engine.fire_until(now)
    elif store.clock is None or now > store.clock:
        store.clock = now


def count_lines(path: Path) -> int:
    """The lines of a file as iterating it gives them (a last line without a newline counts)."""
    count, last = 0, b"\n"
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


# What the first pass notes about each line in the shared `owners` map: nothing to do (a blank line), the number
# of the worker that owns the event plus one, or a line that is not JSON (which worker 0 reports).
SKIP, NOT_JSON = 0, 255


@dataclass(frozen=True, slots=True)
class Shared:
    """Per line of the events file, what the first pass found, in anonymous shared mappings made before the fork
    (MAP_SHARED: the same memory in every worker): `times` the event's time when it passed the checks (NaN: a dead
    letter), `owners` as SKIP, NOT_JSON or its owner's number + 1."""

    times: memoryview[float]
    owners: memoryview[int]

    @classmethod
    def for_file(cls, path: Path) -> tuple[Shared, list[mmap.mmap]]:
        lines = count_lines(path) + 2  # line numbers start at 1; one more to notice a file that grew
        maps = [mmap.mmap(-1, 8 * lines), mmap.mmap(-1, lines)]
        return cls(memoryview(maps[0]).cast("d"), memoryview(maps[1])), maps

    def release(self) -> None:
        self.times.release()
        self.owners.release()


class Shard:
    """One worker's part of a run: its customers' events handled, its records in blocks (`messages`)."""

    def __init__(self, spec: RunSpec, url: str, index: int, shards: int, shared: Shared) -> None:
        self.spec = spec
        self.url = url
        self.index = index
        self.shards = shards
        self.shared = shared
        self.summary = Summary() if spec.summary else None

    def _grew(self) -> WorkersError:
        return WorkersError(f"{self.spec.events} grew while the run read it: run a file that is complete")

    def _first_pass(self, engine: Engine) -> None:
        """Decode and check every `shards`-th line (the checks need no state): its owner and, if it passes, its
        time, for every worker to read. Each line is decoded and checked once here, whoever owns it."""
        index, shards = self.index, self.shards
        times, owners = self.shared.times, self.shared.owners
        capacity = len(owners)
        check = engine.core.check
        dead_letters = engine.dead_letters
        nan = math.nan
        with self.spec.events.open("rb") as events:
            # Lines index+1, index+1+shards, ...: islice skips the others' lines without a Python step each.
            for number, line in zip(itertools.count(index + 1, shards), itertools.islice(events, index, None, shards)):
                if number >= capacity:
                    raise self._grew()
                try:
                    event = loads(line)
                except DecodeError:
                    if line.strip():  # blank lines are allowed
                        owners[number] = NOT_JSON
                    continue
                owners[number] = owner_of(event, shards) + 1
                checked = check(event)
                if checked is None:
                    dead_letters.clear()  # its owner's `process` reports it, in the second pass
                    times[number] = nan
                else:
                    times[number] = checked[2]["at"]

    def _encode(self, records: list[dict[str, Any]]) -> bytes:
        if self.summary is not None:
            for record in records:
                self.summary.add(record)
        return dumps_lines(records)

    def messages(self) -> Generator[tuple[str, Any], None, None]:
        """("ready", [records as JSON Lines]) once through the first pass, then ("block", (records as JSON Lines,
        [DeadLetter])) for every BLOCK of lines and for every piece of the `--until` firings, ("done", summary), and
        ("closed", None) once the caller has written everything and pulls again."""
        from journeydsl.runtime.engine import Engine
        from journeydsl.runtime.timeparse import parse_time

        spec = self.spec
        store = _open_shard(self.url, spec)
        closed = False
        try:
            engine = Engine(
                spec.bundle,
                store,
                until=spec.until,
                max_skew=spec.max_skew,
                allow_orphans=spec.allow_orphans,
                allow_rollback=spec.allow_rollback,
            )
            first: list[bytes] = []
            if store.durable:  # committed by an earlier, interrupted run and never delivered
                records, lines = store.take_deliverable_lines()
                if records:
                    if self.summary is not None:
                        for record in records:
                            self.summary.add(record)
                    first.append(lines)
            if engine.orphaned:
                first.append(self._encode(engine.orphaned))
            self._first_pass(engine)
            yield "ready", first  # the caller pulls on (or lets the workers go on) once every first pass is done
            times, owners = self.shared.times, self.shared.owners
            capacity = len(owners)
            mine = self.index + 1
            reports_not_json = self.index == 0
            process = engine.process
            encode: Encode = dumps_lines if self.summary is None else self._encode
            dead_letters = engine.dead_letters
            # Another shard's event that fires nothing here only moves the clock: that test is inlined (most lines
            # are others' on N workers), with the engine's due floor kept in `floor` between the calls that move
            # it. The rest is advance_to's.
            until, skew = engine.until, engine.max_skew
            floor = engine.due_floor
            block: list[dict[str, Any]] = []
            dead: list[DeadLetter] = []
            block_end = BLOCK  # the block's last line: every worker sends one block per BLOCK lines, empty or not
            number = 0
            with spec.events.open("rb") as events:
                for number, line in enumerate(events, start=1):
                    if number > block_end:
                        yield "block", (encode(block), dead)
                        block, dead = [], []
                        block_end += BLOCK
                    if number >= capacity:
                        raise self._grew()
                    owner = owners[number]
                    if owner == mine:
                        block += process(loads(line))
                        floor = engine.due_floor
                        if dead_letters:
                            for letter in dead_letters:
                                dead.append((number, letter["reason"], letter["event"], None, line))
                            dead_letters.clear()
                    elif owner == SKIP:
                        continue
                    elif owner == NOT_JSON:
                        if reports_not_json:
                            try:
                                loads(line)
                            except DecodeError as err:
                                dead.append((number, f"not JSON: {err}", None, line, line))
                    else:
                        now = times[number]
                        if now != now:  # NaN: a dead letter, which moves nothing
                            continue
                        if now < floor:
                            clock = store.clock
                            if clock is None or now > clock:
                                if until is not None and now > until:
                                    continue
                                if skew is not None and clock is not None and now > clock + skew:
                                    continue
                                store.clock = now
                            continue
                        advance_to(engine, now, block)
                        floor = engine.due_floor
            if number:
                yield "block", (encode(block), dead)
            del block, dead  # the last block's records, before the advance makes its own
            if spec.until is not None:
                # A piece of ADVANCE_CHUNK customers' firings at a time: a worker's memory stays bounded however
                # many customers wait for a timer at the end.
                for records in engine.fire_chunks(parse_time(spec.until)):
                    yield "block", (encode(records), [])
            store.flush()
            yield "done", self.summary
            # The caller has written and flushed every record: they count as delivered.
            if store.durable:
                store.take_deliverable_lines()
            engine.close()
            closed = True
            yield "closed", None
        finally:
            if not closed:
                store.abandon()
                with contextlib.suppress(Exception):
                    store.close()


# --------------------------------------------------------------------------- the parent


class Ring:
    """Shared memory, mapped before the fork, through which a worker hands the parent a block's encoded records:
    the pipe carries only their place, and the bytes are copied once into the ring and once out of it, instead of
    pickled, piped and unpickled (a third of the parent's CPU on the 220,000-event stream). The worker
    writes at most the ring's size ahead of what the parent has written out (`consumed`, which only the parent
    moves), and waits when it is that far ahead."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.maps = [mmap.mmap(-1, size), mmap.mmap(-1, 8)]
        self.view = memoryview(self.maps[0])
        self.consumed = memoryview(self.maps[1]).cast("q")  # bytes written out, counted from the start
        self.end = 0  # the worker's: bytes put in, counted from the start (the gaps left at the ring's end too)

    def put(self, blob: bytes, parent: int) -> int | None:
        """In the worker: place `blob` whole, once there is room; its offset in the ring, or None when it is too
        large for the ring (it then goes through the pipe)."""
        size = len(blob)
        if size > self.size // 2:
            return None
        start = self.end
        offset = start % self.size
        if offset + size > self.size:  # whole, never split: the parent slices within one piece
            start += self.size - offset
            offset = 0
        while start + size - self.consumed[0] > self.size:
            time.sleep(0.0005)
            if os.getppid() != parent:  # the parent died: nobody will make room
                os._exit(1)
        self.view[offset : offset + size] = blob
        self.end = start + size
        return offset

    def release(self) -> None:
        with contextlib.suppress(BufferError):  # a slice still held (a failed run): the collector frees it later
            self.view.release()
            self.consumed.release()
            for mapping in self.maps:
                mapping.close()


def _child(shard: Shard, conn: Connection, go: MpEvent, written: MpEvent, parent: int, ring: Ring) -> None:
    """A worker process: its shard's messages to the pipe, a block's records through the ring; the parent's
    signals between the stages."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops every worker
    code = 0
    messages = None  # held to the end: a finished generator would free the shard's store object by object (a
    # tenth of a second for 65,000 customers, which the parent waits for), where os._exit hands the pages back at once
    try:
        messages = shard.messages()
        for kind, payload in messages:
            if kind == "block" and payload[0]:
                blob, dead = payload
                offset = ring.put(blob, parent)
                if offset is not None:
                    conn.send(("ring", (offset, len(blob), ring.end, dead)))
                    continue
            conn.send((kind, payload))
            if kind == "closed":
                break
            if kind in ("ready", "done"):  # the parent writes what came so far before the shard goes on
                gate = go if kind == "ready" else written
                while not gate.wait(0.5):
                    if os.getppid() != parent:  # the parent died: nobody will write these records
                        os._exit(1)
    except BaseException as err:  # noqa: BLE001 - whatever it is, the parent must hear it and stop the run
        code = 1
        with contextlib.suppress(Exception):
            conn.send(("error", _describe(err)))
    finally:
        with contextlib.suppress(Exception):
            conn.close()
    os._exit(code)  # no atexit handlers, no flush of the parent's inherited buffers


def _describe(err: BaseException) -> str:
    from journeydsl.runtime.bundle import BundleError
    from journeydsl.runtime.engine import EngineError

    if isinstance(err, (StoreError, EngineError, BundleError, OSError, WorkersError)):
        return str(err)
    return f"{type(err).__name__}: {err}"


class _Source:
    """One worker as the parent sees it: its messages, in order."""

    def __init__(self, index: int, shards: int) -> None:
        self.index = index
        self.shards = shards
        self.summary: Summary | None = None
        self.ring_end = 0  # where the worker's last block ends in its ring (counted from the start)

    def ring_view(self) -> memoryview:
        raise NotImplementedError  # only a process sends through a ring

    def written_out(self) -> None:
        """The parent has written the worker's last block: its room in the ring is free again."""

    def receive(self) -> tuple[str, Any]:
        raise NotImplementedError

    def release(self) -> None:
        """After `done`: the parent has written everything (a process is signalled; in-process nothing)."""

    def stop(self) -> None:
        """Stop the worker at once (a failure elsewhere, or an interrupt)."""

    def expect(self, wanted: str) -> Any:
        kind, payload = self.receive()
        if kind != wanted:
            self._unexpected(kind, payload, wanted)
        return payload

    def next_block(self) -> tuple[bytes | memoryview, list[DeadLetter]] | None:
        """The worker's next block (its records as JSON Lines, its dead letters), or None once it has sent all
        (its counts are then in `summary`)."""
        kind, payload = self.receive()
        if kind == "ring":
            offset, size, end, dead = payload
            self.ring_end = end
            return self.ring_view()[offset : offset + size], dead
        if kind == "block":
            blob, dead = payload
            return blob, dead
        if kind != "done":
            self._unexpected(kind, payload, "a block or done")
        self.summary = payload
        return None

    def _unexpected(self, kind: str, payload: Any, wanted: str) -> NoReturn:
        """WorkersError: the error the worker reported, or (a bug in Shard.messages) a message out of turn."""
        if kind == "error":
            raise WorkersError(f"worker {self.index + 1} of {self.shards}: {payload}")
        raise WorkersError(  # pragma: no cover
            f"worker {self.index + 1} of {self.shards} sent {kind!r} where {wanted!r} was due"
        )


class _InProcess(_Source):
    def __init__(self, shard: Shard) -> None:
        super().__init__(shard.index, shard.shards)
        self._messages = shard.messages()

    def receive(self) -> tuple[str, Any]:
        try:
            return next(self._messages)
        except StopIteration:  # pragma: no cover - a bug in Shard.messages
            return "error", "stopped early"
        except Exception as err:  # noqa: BLE001 - reported as a worker's error, as from a process
            return "error", _describe(err)

    def stop(self) -> None:
        self._messages.close()


class _Process(_Source):
    """A forked worker. A thread drains its pipe into a bounded queue: the parent reads the workers a block each in
    turn, and a worker blocked on a full pipe in the meantime would run in lockstep with the others (with more
    workers than cores, slower than one process). AHEAD bounds what it may run ahead."""

    AHEAD = 16  # messages (a block each, its records in the ring, so the pipe holds little)

    def __init__(self, shard: Shard, context: Any, go: MpEvent, written: MpEvent) -> None:
        super().__init__(shard.index, shard.shards)
        reader, writer = context.Pipe(duplex=False)
        self.ring = Ring(RING)
        self.process = context.Process(
            target=_child,
            args=(shard, writer, go, written, os.getpid(), self.ring),
            name=f"journeydsl-worker-{shard.index + 1}",
        )
        self.process.start()
        writer.close()  # the worker's end: only the worker holds it, so its death ends the pipe (EOFError)
        self.conn: Connection = reader
        self.written = written
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=self.AHEAD)
        self._drainer = threading.Thread(target=self._drain, name=f"journeydsl-drain-{shard.index + 1}", daemon=True)
        self._drainer.start()

    def _drain(self) -> None:
        while True:
            try:
                message: tuple[str, Any] = self.conn.recv()
            except BaseException:  # noqa: BLE001 - the pipe ended (the worker exited or was stopped)
                self._queue.put(("ended", None))
                return
            self._queue.put(message)
            if message[0] in ("closed", "error"):
                return

    def receive(self) -> tuple[str, Any]:
        kind, payload = self._queue.get()
        if kind != "ended":
            return kind, payload
        self.process.join(5)
        code = self.process.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        return "error", f"the worker process {how} without saying why"

    def ring_view(self) -> memoryview:
        return self.ring.view

    def written_out(self) -> None:
        self.ring.consumed[0] = self.ring_end

    def release(self) -> None:
        self.written.set()

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)
        if self.process.is_alive():  # pragma: no cover - a worker that ignores SIGTERM
            self.process.kill()
            self.process.join()
        with contextlib.suppress(Exception):
            while True:  # a drainer blocked on a full queue can then see the end of the pipe and stop
                self._queue.get_nowait()
        self._drainer.join(5)
        self.conn.close()


DeadSink = Callable[[int, str, Any, "bytes | None", bytes], None]


@dataclass
class RunResult:
    summary: Summary = field(default_factory=Summary)
    workers: int = 1


def merge_summary(into: Summary, part: Summary) -> None:
    """Add a worker's counts to the run's."""
    into.entries.update(part.entries)
    into.sends.update(part.sends)
    into.suppressed.update(part.suppressed)
    into.goals.update(part.goals)
    for name, value in part.goal_value.items():
        into.goal_value[name] = into.goal_value.get(name, 0.0) + value
    into.ends.update(part.ends)
    into.errors += part.errors
    into.dead += part.dead
    into.records += part.records


def _warm(spec: RunSpec, layout: Layout) -> None:
    """Before the fork, what every worker would otherwise do for itself: import its store's module and compile
    the bundle's templates into the process's template cache (templates.py), which the workers then inherit.
    A template that does not compile is left to the engine, which reports it where it is used."""
    from journeydsl.runtime import templates
    from journeydsl.runtime.stores import store_class

    store_class(layout.urls[0].partition(":")[0])
    templates.warm((getattr(spec.bundle, "templates", None) or {}).values())


def run_file(
    spec: RunSpec,
    layout: Layout,
    out: IO[bytes],
    dead: DeadSink,
    written: Callable[[], None] | None = None,
) -> RunResult:
    """Run `spec.events` over the layout's workers: records to `out` (JSON Lines, block by block), dead
    letters to `dead(line, reason, event, raw, source)` in line order, then `written()` (closing the dead-letter
    file, say) before the shards commit their last work. One worker runs in this process.

    Raises WorkersError (a worker failed: which, and why), OutputError (writing `out`), StoreError."""
    shards = layout.workers
    if layout.new_record is not None:
        write_record(layout.new_record, shards)
    result = RunResult(workers=shards)
    sources: list[_Source] = []
    finished = False
    go: MpEvent | None = None
    shared, maps = Shared.for_file(spec.events)
    try:
        if shards == 1:
            sources.append(_InProcess(Shard(spec, layout.urls[0], 0, 1, shared)))
        else:
            _warm(spec, layout)
            context = multiprocessing.get_context("fork")
            go, done = context.Event(), context.Event()
            # Everything the workers inherit is frozen for their collector. A collection in a worker would otherwise
            # run the finalizers of this process's uncollected garbage: a caller's proxies that talk to a server over
            # an inherited socket (py4j's, after a Flink job in the same process) hung a worker that way.
            gc.freeze()
            try:
                for index, url in enumerate(layout.urls):
                    sources.append(_Process(Shard(spec, url, index, shards, shared), context, go, done))
            finally:
                gc.unfreeze()
        for source in sources:
            for lines in source.expect("ready"):
                write_all(out, lines)
        flush(out)  # a durable store's backlog is written before any shard marks it delivered (its next commit)
        if go is not None:
            go.set()
        active = sources
        while active:  # one block of each worker's, in turn (see the module's docstring)
            blocks: list[bytes | memoryview] = []
            letters: list[DeadLetter] = []
            going: list[_Source] = []
            for source in active:
                block = source.next_block()
                if block is not None:
                    going.append(source)
                    blocks.append(block[0])
                    letters += block[1]
            active = going
            if letters:
                letters.sort(key=itemgetter(0))  # line order; one line's letters keep theirs (a stable sort)
                for line, reason, event, raw, source_line in letters:
                    result.summary.dead += 1
                    dead(line, reason, event, raw, source_line)
            for blob in blocks:
                if blob:
                    write_all(out, blob)
            blocks = []  # its slices of the rings, before the rings are reused
            for source in active:
                source.written_out()
        flush(out)
        if written is not None:
            written()
        for source in sources:
            if source.summary is not None:
                merge_summary(result.summary, source.summary)
            source.release()
        for source in sources:
            source.expect("closed")
        finished = True
    finally:
        if not finished:
            for source in sources:
                with contextlib.suppress(Exception):
                    source.stop()
        else:
            for source in sources:
                if isinstance(source, _Process):
                    source.process.join(5)
                    source.conn.close()
        if shards == 1 and sources:
            sources[0].stop()  # an in-process shard holds the view until its generator is closed
        for source in sources:
            if isinstance(source, _Process):
                source.ring.release()
        shared.release()
        for mapping in maps:
            mapping.close()
    return result


# --------------------------------------------------------------------------- the Python API


@dataclass
class RunOutcome:
    """What `run_events` returns: the records in order, the dead letters in line order ({"line", "reason", and
    "event" or, for a line that is not JSON, "raw"}), the counts, and the workers the run used."""

    records: list[dict[str, Any]]
    dead_letters: list[dict[str, Any]]
    summary: Summary
    workers: int


def run_events(
    bundle: Any,
    events: str | Path,
    store: str = "memory://",
    *,
    workers: int | None = 1,
    until: str | None = None,
    max_skew: float | None = 86400.0,
    batch: int | None = None,
    public_key: Any = None,
    wait: bool = False,
    allow_orphans: bool = False,
    allow_rollback: bool = False,
) -> RunOutcome:
    """`journeydsl run` from Python: the JSONL file `events` through `bundle` (a path, a {path: bytes} mapping or a
    loaded Bundle) over `workers` processes (None: the command's default), the records collected in memory.

    Raises WorkersError (a count the store cannot take, or a worker that failed, with its reason), StoreError,
    BundleError."""
    import io

    if not hasattr(bundle, "plans"):
        from journeydsl.runtime.bundle import load_bundle

        bundle = load_bundle(str(bundle) if isinstance(bundle, Path) else bundle, public_key=public_key)
    path = Path(events)
    layout = plan_layout(store, workers, path.stat().st_size)
    spec = RunSpec(
        bundle=bundle,
        events=path,
        until=until,
        max_skew=max_skew,
        batch=batch,
        wait=wait,
        allow_orphans=allow_orphans,
        allow_rollback=allow_rollback,
        summary=True,
    )
    out = io.BytesIO()
    dead_letters: list[dict[str, Any]] = []

    def dead(line: int, reason: str, event: Any, raw: bytes | None, source: bytes) -> None:
        entry: dict[str, Any] = {"line": line, "reason": reason}
        if raw is None:
            entry["event"] = event
        else:
            entry["raw"] = raw.decode("utf-8", "replace").rstrip("\n")
        dead_letters.append(entry)

    result = run_file(spec, layout, out, dead)
    records = [loads(line) for line in out.getvalue().splitlines()]
    return RunOutcome(records, dead_letters, result.summary, result.workers)
