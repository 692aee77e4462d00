"""The engine worker: one thread owns the Engine and its store (stores are not thread-safe).

HTTP handlers put jobs on the worker's queue and wait on a future. The worker takes every job queued so far
(group commit), runs the events through `engine.process`, commits them with ONE `store.flush()` and only then
resolves the futures: a 202 means the events are durable. Between two groups it fires the timers due on the wall
clock (`--clock wall`), swaps in a reloaded bundle, refreshes the instance gauge and, for a store only this
thread may touch (memory://), runs the relay.

Back-pressure counts event batches only: a bundle swap, a clock request or the stop never wait behind a full
queue, and they keep their place in the order of jobs (a swap happens between the batches before and after it).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from journeydsl.runtime.timeparse import TimeError, parse_time
from journeydsl.service import logs
from journeydsl.service.metrics import ServiceMetrics

if TYPE_CHECKING:
    from journeydsl.runtime.bundle import Bundle
    from journeydsl.runtime.engine import Engine

ClockMode = Literal["wall", "event"]
# Jobs taken in one group at most: bounds the latency of the first batch of a long queue.
GROUP_JOBS = 256
# Seconds the worker may spend delivering between two groups when the relay runs on its thread (memory://).
DELIVER_BUDGET = 0.5


class QueueFull(Exception):
    """The commit queue holds as many batches as allowed: answer 503 and let the client retry."""


class ServiceStopped(Exception):
    """The worker stopped (shutting down, or after a store failure) before this job was committed."""


class Deliverer(Protocol):
    """What the worker runs between groups when it must deliver on its own thread (relaying.RelayLoop)."""

    def deliver_once(self) -> int: ...


@dataclass(frozen=True)
class BatchResult:
    accepted: int
    duplicates: int
    dead_letters: list[dict[str, Any]]

    def body(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "dead_letters": self.dead_letters}


@dataclass
class EventBatch:
    events: list[tuple[int, Any]]  # (line, event)
    dead: list[dict[str, Any]]  # framing dead letters found before the engine ({"line", "reason"})
    future: Future[BatchResult] = field(default_factory=Future)


@dataclass
class ClockJob:
    until: float
    future: Future[int] = field(default_factory=Future)  # the number of records the timers produced


@dataclass
class SwapJob:
    bundle: Bundle
    source: str
    future: Future[str] = field(default_factory=Future)  # the new revision, or EngineError & co


@dataclass
class _Stop:
    pass


Job = EventBatch | ClockJob | SwapJob | _Stop


@dataclass
class WorkerSettings:
    clock: ClockMode = "wall"
    queue_size: int = 64
    tick: float = 1.0  # seconds between wall-clock timer runs (and the other periodic work)
    stats_every: float = 15.0  # seconds between refreshes of the instance gauge (a store-wide count)
    grace: float = 10.0  # seconds the stop may spend delivering what is due (on-thread relay only)


class Worker:
    def __init__(
        self,
        engine: Engine,
        build_engine: Callable[[Bundle], Engine],
        metrics: ServiceMetrics,
        settings: WorkerSettings,
        *,
        deliverer: Deliverer | None = None,
        after_commit: Callable[[], None] | None = None,
        on_fatal: Callable[[str], None] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.build_engine = build_engine
        self.metrics = metrics
        self.settings = settings
        self.deliverer = deliverer
        self.after_commit = after_commit  # wakes a relay thread: new records are committed
        self.on_fatal = on_fatal
        self.now = now
        self.failure: str | None = None
        self.last_alive = time.monotonic()
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._batches = 0  # event batches queued, not yet taken: the back-pressure bound
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._main, name="engine-worker", daemon=True)
        metrics.watch_queue(lambda: float(self._batches))

    # ------------------------------------------------------------------ other threads

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: EventBatch | ClockJob | SwapJob) -> None:
        with self._lock:
            if self._stopping or self.failure is not None:
                raise ServiceStopped(self.failure or "the service is shutting down")
            if isinstance(job, EventBatch):
                if self._batches >= self.settings.queue_size:
                    raise QueueFull(f"{self._batches} batches are waiting to be committed")
                self._batches += 1
            self._jobs.put(job)

    def stop(self, timeout: float) -> bool:
        """Commit what is queued, deliver what is due (within the grace period), close the store; False when the
        worker did not finish within `timeout` seconds."""
        with self._lock:
            if not self._stopping:
                self._stopping = True
                self._jobs.put(_Stop())
        if not self._thread.is_alive():
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def ready(self) -> str | None:
        """None when ready; otherwise why not (the store failed, the worker is stuck, shutting down)."""
        if self.failure is not None:
            return self.failure
        if self._stopping:
            return "shutting down"
        if not self._thread.is_alive():
            return "the engine worker is not running"
        stale = time.monotonic() - self.last_alive
        if stale > max(10.0, 10 * self.settings.tick):
            return f"the engine worker has not come round for {stale:.0f} s"
        return None

    # ------------------------------------------------------------------ the worker thread

    def _main(self) -> None:
        try:
            self._loop()
        except BaseException as err:  # noqa: BLE001 - any failure stops the service with a reason, never silently
            self._fail(f"{type(err).__name__}: {err}")
        finally:
            self._drain_refused()

    def _loop(self) -> None:
        settings = self.settings
        self._refresh_stats()
        next_tick = time.monotonic()
        next_stats = next_tick + settings.stats_every
        while True:
            try:
                first = self._jobs.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                jobs: list[Job] = []
            else:
                jobs = [first]
                while len(jobs) < GROUP_JOBS:
                    try:
                        jobs.append(self._jobs.get_nowait())
                    except queue.Empty:
                        break
            if self._run_jobs(jobs):
                self._finish()
                return
            if jobs:
                self._deliver(DELIVER_BUDGET)  # what this group committed goes out now, not at the next tick
            clock = time.monotonic()
            if clock >= next_tick:
                next_tick = clock + settings.tick
                if settings.clock == "wall":
                    self._wall_timers()
                self._deliver(DELIVER_BUDGET)
                if clock >= next_stats:
                    next_stats = clock + settings.stats_every
                    self._refresh_stats()
            self.last_alive = time.monotonic()

    def _run_jobs(self, jobs: list[Job]) -> bool:
        """Process a group of jobs in order, committing before a swap and at the end; True at the stop."""
        done: list[tuple[Future[Any], Any]] = []
        stop = False
        started = time.perf_counter()
        try:
            for job in jobs:
                if isinstance(job, EventBatch):
                    with self._lock:
                        self._batches -= 1
                    done.append((job.future, self._events(job)))
                elif isinstance(job, ClockJob):
                    done.append((job.future, self._advance(job.until)))
                elif isinstance(job, SwapJob):
                    self._commit(done)
                    done = []
                    self._swap(job)
                else:
                    stop = True
            self._commit(done)
        except BaseException as err:
            # Nothing of this group is committed (or only what a swap committed, whose futures are resolved):
            # every client still waiting hears so, and the worker stops (_main).
            for job in jobs:
                if not isinstance(job, _Stop) and not job.future.done():
                    job.future.set_exception(ServiceStopped(f"not committed: {type(err).__name__}: {err}"))
            raise
        if jobs:
            self.metrics.commit_seconds.observe(time.perf_counter() - started)
        return stop

    def _events(self, batch: EventBatch) -> BatchResult:
        engine = self.engine
        dead_letters = list(batch.dead)
        accepted = duplicates = 0
        # One read-ahead for the whole request (PostgreSQL: two queries instead of two per event).
        engine.prefetch(event for _, event in batch.events)
        for line, event in batch.events:
            before = _duplicates(engine)
            records = engine.process(event)
            if engine.dead_letters:
                dead_letters.extend({"line": line, "reason": str(dead["reason"])} for dead in engine.dead_letters)
                engine.dead_letters.clear()
            elif _duplicates(engine) != before:
                duplicates += 1
            else:
                accepted += 1
            if records:
                self.metrics.count_records(records)
        dead_letters.sort(key=lambda entry: int(entry["line"]))
        self.metrics.count_events(accepted, duplicates, len(dead_letters))
        return BatchResult(accepted, duplicates, dead_letters)

    def _advance(self, until: float) -> int:
        fired = 0
        for records in self.engine.fire_chunks(until):  # in pieces: a far `until` holds no huge list of records
            self.metrics.count_records(records)
            fired += len(records)
        return fired

    def _commit(self, done: list[tuple[Future[Any], Any]]) -> None:
        if not done:
            return
        self.engine.store.flush()  # one transaction for the whole group; raises: _main fails every future
        self.metrics.batches.inc(len(done))
        for future, result in done:
            future.set_result(result)
        if self.after_commit is not None:
            self.after_commit()

    def _wall_timers(self) -> None:
        now = self.now()
        lag = 0.0
        fired = False
        for records in self.engine.fire_chunks(now):  # after a long stop many timers are due: a piece at a time
            self.metrics.count_records(records)
            lag = max(lag, _lag(now, records))
            fired = True
        if fired:
            self.engine.store.flush()
            if self.after_commit is not None:
                self.after_commit()
        self.metrics.timer_lag.set(lag)

    def _swap(self, job: SwapJob) -> None:
        try:
            engine = self.build_engine(job.bundle)
        except Exception as err:  # noqa: BLE001 - EngineError, StoreError, PlanError...: the old engine stays
            reason = str(err) or type(err).__name__
            self.metrics.reloads.labels("failed").inc()
            logs.warning("bundle refused; the old one keeps running", source=job.source, reason=reason)
            job.future.set_exception(err)
            return
        self.engine = engine
        revision = str(job.bundle.revision)
        self.metrics.reloads.labels("ok").inc()
        self.metrics.set_bundle(revision, job.source)
        logs.info("bundle swapped", source=job.source, revision=revision)
        job.future.set_result(revision)
        self._refresh_stats()

    def _refresh_stats(self) -> None:
        self.metrics.set_instances(self.engine.store.in_flight_versions())

    def _deliver(self, budget: float) -> None:
        """Run the on-thread relay until nothing is due or `budget` seconds are spent (ingestion waits meanwhile)."""
        if self.deliverer is None:
            return
        deadline = time.monotonic() + budget
        while self.deliverer.deliver_once() and time.monotonic() < deadline:
            pass

    def _finish(self) -> None:
        """The stop: everything before it is committed; deliver what is due within the grace period, close."""
        self._deliver(self.settings.grace)
        self.engine.close()

    def _fail(self, reason: str) -> None:
        with self._lock:
            self.failure = reason
        logs.error("the engine worker stopped", reason=reason)
        try:
            self.engine.store.abandon()  # nothing uncommitted may be committed after a failure
        except Exception as err:  # noqa: BLE001 - already failing; say so and go on
            logs.error("could not abandon the store", reason=str(err))
        if self.on_fatal is not None:
            self.on_fatal(reason)

    def _drain_refused(self) -> None:
        """Fail every job still queued (the worker is gone): their clients get an error, never a hang."""
        with self._lock:
            self._stopping = True
        reason = self.failure or "the service is shutting down"
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if not isinstance(job, _Stop) and not job.future.done():
                job.future.set_exception(ServiceStopped(reason))


def _duplicates(engine: Engine) -> int:
    # `Engine.duplicates` counts events skipped for an id seen before (the lead adds it; 0 until then).
    return int(getattr(engine, "duplicates", 0))


def _lag(now: float, records: list[dict[str, Any]]) -> float:
    """How late the oldest timer fired: the wall clock minus the earliest `at` among its records (a delayed
    send is dated at the end of quiet hours, later than now, so it never counts)."""
    oldest = now
    for record in records:
        at = record.get("at")
        if isinstance(at, str):
            try:
                oldest = min(oldest, parse_time(at))
            except TimeError:
                continue
    return max(0.0, now - oldest)
