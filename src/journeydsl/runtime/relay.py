"""The relay: claims records from a store's outbox, hands each to its sink, and settles it by the sink's answer.

Where it sits: in the runtime, above store.py (the outbox claims), delivery_config.py (the routing tables) and
sinks.py; `serve` runs one in a thread and `journeydsl deliver` runs one per worker. It imports nothing of the
front end nor of the service layer.

Routing: a send that is not suppressed goes to `[channels.<its channel>]`, a call to `[calls.<its name>]`; every
other record (suppressed sends, enter, exit, end, goal, set, emit, error, migrate) and anything the config does
not map goes to `[default]` (standard output unless configured).

Delivery is at least once: a record is marked delivered only after its sink accepted it, so a crash between the
two (or a lease that ran out) hands it out again, with the same key. A refused record is retried after an
exponential backoff with jitter (`backoff * 2**(attempts-1)`, capped at `backoff_max`, then scaled by a random
factor in [0.5, 1) so a crowd of records does not come back at the same instant; at least what an HTTP
Retry-After asked for, up to `backoff_max`), and moves to the dead deliveries after `max_attempts` attempts, or at
once when the sink says retrying cannot help.

Clocks: with clock "wall" (a live service) a send held back by quiet hours ("status": "delayed") waits until its
`at` (the end of the quiet hours): it goes back to the outbox with that retry time, its attempts unchanged. With
clock "event" (a replay, tests) event time has nothing to do with the wall clock, so it goes at once, as `run`
prints it at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import IO, Any, Literal, Protocol

from journeydsl.runtime.delivery_config import DeliveryConfig, RetryPolicy, default_config
from journeydsl.runtime.jsonio import dumps
from journeydsl.runtime.sinks import Outcome, RecordSink, build_sink, retry
from journeydsl.runtime.store import OutboxItem, Store
from journeydsl.runtime.timeparse import TimeError, format_time, parse_time

RelayClock = Literal["wall", "event"]

DEFAULT_BATCH = 50
DEFAULT_LEASE = 60.0


class DeliveryMetrics(Protocol):
    """What a relay reports after each attempt (serve exports it to Prometheus): the sink's table name, whether
    the sink accepted the record, and how long the attempt took."""

    def on_attempt(self, sink: str, ok: bool, seconds: float) -> None: ...


class SinkStats:
    """DeliveryMetrics as plain counters per sink (thread-safe: several workers may share one)."""

    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def on_attempt(self, sink: str, ok: bool, seconds: float) -> None:
        with self._lock:
            self.attempts[sink] += 1
            if not ok:
                self.failures[sink] += 1
            self.seconds[sink] = self.seconds.get(sink, 0.0) + seconds


@dataclass(slots=True)
class RelayCounts:
    """What some rounds of delivery did: rows claimed, and how each claimed row was settled (or left alone)."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    held: int = 0  # delayed sends put back until their time (wall clock)
    skipped: int = 0  # claimed but left for their lease to run out (the lease was nearly over)

    def add(self, other: RelayCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


LogHook = Callable[[str, Mapping[str, Any]], None]


def backoff_delay(attempts: int, policy: RetryPolicy, jitter: float, retry_after: float | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed attempt; `jitter` in [0, 1) (random.random())."""
    base = min(policy.backoff_max, policy.backoff * 2.0 ** min(attempts - 1, 60))
    delay = base * (0.5 + 0.5 * jitter)
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.backoff_max))
    return delay


class Relay:
    """Delivers `store`'s outbox through the sinks of `config` (default: everything to standard output).

    `now` is the wall clock (retry times, delayed sends, leases), `jitter` the random source of the backoff: a test
    passes its own of both and never sleeps. `metrics` hears of every attempt, `log` of every retry and dead
    record (a message and fields). `out` replaces standard output for stdout sinks."""

    def __init__(
        self,
        store: Store,
        config: DeliveryConfig | None = None,
        *,
        clock: RelayClock = "wall",
        now: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        batch: int = DEFAULT_BATCH,
        lease: float = DEFAULT_LEASE,
        metrics: DeliveryMetrics | None = None,
        log: LogHook | None = None,
        out: IO[bytes] | None = None,
    ) -> None:
        if clock not in ("wall", "event"):
            raise ValueError(f"unknown relay clock {clock!r} (wall or event)")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        self.store = store
        self.config = config or default_config()
        self.clock = clock
        self.now = now
        self.jitter = jitter
        self.batch = batch
        self.metrics = metrics
        self.log = log
        self.default = build_sink(self.config.default, out)
        self.channels = {name: build_sink(spec, out) for name, spec in self.config.channels.items()}
        self.calls = {name: build_sink(spec, out) for name, spec in self.config.calls.items()}
        slowest = max(sink.timeout for sink in self.sinks())
        # A row is only sent while its lease has room for one more slow attempt (see deliver_once): a lease no
        # longer than one attempt would never get through a batch.
        self.lease = max(lease, slowest + 1)
        self.totals = RelayCounts()  # every round since the relay started

    def sinks(self) -> list[RecordSink]:
        return [*self.channels.values(), *self.calls.values(), self.default]

    def route(self, record: Mapping[str, Any]) -> RecordSink:
        """The sink a record goes to (see the module docstring)."""
        kind = record.get("kind")
        found: RecordSink | None = None
        if kind == "send" and record.get("status") != "suppressed":
            found = self.channels.get(str(record.get("channel")))
        elif kind == "call":
            found = self.calls.get(str(record.get("name")))
        return found or self.default

    def deliver_once(self, limit: int | None = None) -> RelayCounts:
        """Claim up to `limit` (default: the batch size) due rows, deliver them one by one, settle each."""
        items = self.store.claim_outbox(limit or self.batch, self.lease)
        counts = RelayCounts(claimed=len(items))
        expires = self.now() + self.lease
        delivered: list[int] = []
        try:
            for n, item in enumerate(items):
                sink = self.route(item.record)
                # Past this point the lease could run out during the attempt, and another worker could claim the
                # row and send it too: leave the rest to be claimed again once their lease is over.
                if self.now() + sink.timeout >= expires:
                    counts.skipped += len(items) - n
                    break
                self._deliver(item, sink, counts, delivered)
        finally:
            # One commit for the accepted rows of the batch; a crash before it re-delivers them (same keys).
            if delivered:
                self.store.outbox_delivered(delivered)
        counts.delivered = len(delivered)
        self.totals.add(counts)
        return counts

    def _deliver(self, item: OutboxItem, sink: RecordSink, counts: RelayCounts, delivered: list[int]) -> None:
        record = item.record
        now = self.now()
        if self.clock == "wall" and record.get("kind") == "send" and record.get("status") == "delayed":
            due = _due(record)
            if due is not None and due > now:
                self.store.outbox_retry(item.seq, item.attempts, due, f"delayed until {record['at']} (quiet hours)")
                counts.held += 1
                return
        started = time.perf_counter()
        try:
            outcome = sink.send(record, dumps(record))
        except Exception as err:  # a bug in one sink must not stop the worker: the row is retried
            outcome = retry(f"{sink.name} failed: {type(err).__name__}: {err}")
        if self.metrics is not None:
            self.metrics.on_attempt(sink.name, outcome.kind == "accepted", time.perf_counter() - started)
        if outcome.kind == "accepted":
            delivered.append(item.seq)
            return
        self._refused(item, sink, outcome, counts)

    def _refused(self, item: OutboxItem, sink: RecordSink, outcome: Outcome, counts: RelayCounts) -> None:
        attempts = item.attempts + 1
        policy = sink.spec.retry
        info = {"seq": item.seq, "key": item.record.get("key"), "sink": sink.name, "attempts": attempts}
        if outcome.kind == "permanent" or attempts >= policy.max_attempts:
            self.store.outbox_dead(item.seq, attempts, outcome.reason)
            counts.dead += 1
            if self.log is not None:
                self.log("delivery dead", {**info, "error": outcome.reason})
            return
        not_before = self.now() + backoff_delay(attempts, policy, self.jitter(), outcome.retry_after)
        self.store.outbox_retry(item.seq, attempts, not_before, outcome.reason)
        counts.retried += 1
        if self.log is not None:
            self.log("delivery retry", {**info, "error": outcome.reason, "not_before": _stamp(not_before)})

    def run_until_idle(self, timeout: float | None = None, stop: threading.Event | None = None) -> RelayCounts:
        """Deliver until nothing is claimable now (rows waiting for a retry time or a lease are left), until
        `timeout` seconds have passed (serve's grace period at shutdown), or until `stop` is set."""
        deadline = None if timeout is None else time.monotonic() + timeout
        total = RelayCounts()
        while (deadline is None or time.monotonic() < deadline) and not (stop is not None and stop.is_set()):
            counts = self.deliver_once()
            total.add(counts)
            if counts.claimed == 0:
                break
        return total

    def run(self, stop: threading.Event, poll: float = 1.0) -> RelayCounts:
        """Deliver until `stop` is set, waiting `poll` seconds whenever a round found less than a full batch.
        A store error (the database went away) is raised to the caller, who decides whether to start again."""
        total = RelayCounts()
        while not stop.is_set():
            counts = self.deliver_once()
            total.add(counts)
            if counts.claimed < self.batch:
                stop.wait(poll)
        return total

    def close(self) -> None:
        for sink in self.sinks():
            sink.close()


def _due(record: Mapping[str, Any]) -> float | None:
    """When a delayed send may go (its `at`); None (go now) when the record's time cannot be read."""
    try:
        return parse_time(str(record.get("at")))
    except TimeError:
        return None


def _stamp(epoch: float) -> str:
    try:
        return format_time(epoch)
    except TimeError:
        return str(epoch)
