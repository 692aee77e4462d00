"""`memory://`: everything in Python objects; for tests, the scenario runner and benchmarks.

Where it sits: one concrete store, above store.py (its base); `stores.open_store` imports it for memory:// URLs.
"""

from __future__ import annotations

import heapq
import math
import sys
import time
from bisect import insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from mypy_extensions import mypyc_attr

from journeydsl.runtime.store import (
    DeadDelivery,
    OpenMode,
    OutboxItem,
    Store,
    StoreError,
    Transition,
    register_store,
    transition_dict,
)

# Seconds of due time per bucket of the timer index (`MemoryStore._push`).
DUE_BUCKET: Final = 3600.0


def _bucket_of(due: float) -> int:
    if -1e300 < due < 1e300:
        return int(due // DUE_BUCKET)
    return sys.maxsize if due > 0 else -sys.maxsize  # inf (nan never comes: the engine's times are checked)


@dataclass(slots=True)
class _OutboxRow:
    """The delivery state of one outbox record that a worker has claimed at least once."""

    attempts: int = 0
    not_before: float = 0.0
    claimed_until: float = 0.0
    error: str = ""


@mypyc_attr(allow_interpreted_subclasses=True)  # tests subclass it in plain Python
class MemoryStore(Store):
    schemes = ("memory",)

    @classmethod
    def from_url(cls, url: str, batch: int | None = None, mode: OpenMode = "auto", wait: float = 0.0) -> MemoryStore:
        """`memory://` (or `memory:`); batch, mode and wait mean nothing to a store no other process can see."""
        if url not in ("memory://", "memory:"):
            raise StoreError(f"invalid store URL {url!r}: memory:// takes no path and no parameters")
        return cls()

    def __init__(self, keep_log: bool = True) -> None:
        super().__init__()
        # keep_log=False keeps neither records nor transitions: for measuring state memory alone.
        self.keep_log = keep_log
        self.keeps_transitions = self.keeps_events = keep_log
        self._actions: list[dict[str, Any]] = []
        self._events: list[dict[str, Any]] = []
        self._transitions: list[Transition] = []
        self._delivered = 0
        self.customers: dict[str, dict[str, Any]] = {}
        self.seen: set[str] = set()
        # (due, customer id) of every customer with a timer, and each one's current due time: an entry whose
        # due time is no longer the customer's is stale and skipped when it comes up. The entries lie in buckets of
        # DUE_BUCKET seconds, a heap of the bucket numbers on top: one heap of every entry cost 7% of a run's CPU
        # (a pop compared tuples and missed the cache at each of its ~18 levels), a bucket is sorted once when the
        # earliest, then read in order (`_open`, from `_next` on).
        self._buckets: dict[int, list[tuple[float, str]]] = {}
        self._numbers: list[int] = []  # heap of the numbers in `_buckets`
        self._open: int | None = None  # the bucket being read: sorted, its entries before `_next` taken
        self._next = 0
        self._due: dict[str, float] = {}
        # The outbox for delivery workers is `_actions` itself (seq n is `_actions[n - 1]`): every seq up to
        # `_settled` is delivered or dead, `_rows` holds the state of the claimed ones after it, `_done` the settled
        # ones after it. `wall_clock` is when leases and retry times are measured (a test sets its own).
        self._settled = 0
        self._rows: dict[int, _OutboxRow] = {}
        self._done: set[int] = set()
        self._dead: list[DeadDelivery] = []
        self.wall_clock: Callable[[], float] = time.time

    def load(self, customer_id: str) -> dict[str, Any] | None:
        return self.customers.get(customer_id)

    def save(self, customer_id: str, customer: dict[str, Any], due: float | None, profile: bool) -> None:
        self.customers[customer_id] = customer
        if due is None:
            self._due.pop(customer_id, None)
        elif self._due.get(customer_id) != due:
            self._due[customer_id] = due
            self._push(due, customer_id)

    def _push(self, due: float, customer_id: str) -> None:
        number = _bucket_of(due)
        bucket = self._buckets.get(number)
        if bucket is None:
            self._buckets[number] = [(due, customer_id)]
            heapq.heappush(self._numbers, number)
        elif number == self._open:
            insort(bucket, (due, customer_id), lo=self._next)  # a timer set while its bucket is read
        else:
            bucket.append((due, customer_id))  # sorted once, when it is the earliest

    def _first(self) -> list[tuple[float, str]] | None:
        """The earliest bucket with entries left, sorted and open (read from `_next`), or None."""
        numbers = self._numbers
        buckets = self._buckets
        while numbers:
            number = numbers[0]
            bucket = buckets[number]
            if number != self._open:
                if self._open is not None:  # an earlier bucket came: the one open keeps only what is left of it
                    left = buckets.get(self._open)
                    if left is not None:
                        del left[: self._next]
                bucket.sort()
                self._open, self._next = number, 0
            if self._next < len(bucket):
                return bucket
            del buckets[number]
            heapq.heappop(numbers)
            self._open = None
        return None

    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(list(self.customers.items()))

    def customer_count(self) -> int:
        return len(self.customers)

    def peek_due(self) -> float:
        # The earliest entry, stale or not: a lower bound of the earliest due time.
        bucket = self._first()
        return bucket[self._next][0] if bucket is not None else math.inf

    def pop_due(self, upto: float) -> tuple[float, str] | None:
        due_of = self._due
        while (bucket := self._first()) is not None:
            due, customer_id = bucket[self._next]
            if due > upto:
                return None
            self._next += 1
            if due_of.get(customer_id) == due:
                del due_of[customer_id]
                return due, customer_id
        return None

    def seen_before(self, event_id: str) -> bool:
        return event_id in self.seen

    def add_seen(self, event_id: str, at: float) -> None:
        self.seen.add(event_id)

    def log_actions(self, records: list[dict[str, Any]]) -> None:
        if self.keep_log:
            self._actions.extend(records)

    def log_event(self, event: dict[str, Any]) -> None:
        if self.keep_log:
            self._events.append(event)

    def events(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._events))

    def log_transitions(self, rows: list[Transition]) -> None:
        if self.keep_log:
            self._transitions.extend(rows)

    def end_unit(self) -> None:
        pass

    def flush(self) -> None:
        pass

    def take_deliverable(self) -> list[dict[str, Any]]:
        fresh = self._actions[self._delivered :]
        self._delivered = len(self._actions)
        return fresh

    # ---- delivery workers; one process, so a claim is a scan of the records after the settled prefix
    def claim_outbox(self, limit: int, lease: float) -> list[OutboxItem]:
        now = self.wall_clock()
        claimed: list[OutboxItem] = []
        for seq in range(self._settled + 1, len(self._actions) + 1):
            if len(claimed) >= limit:
                break
            if seq in self._done:
                continue
            row = self._rows.get(seq)
            if row is None:
                row = self._rows[seq] = _OutboxRow()
            elif row.not_before > now or row.claimed_until > now:
                continue
            row.claimed_until = now + lease
            claimed.append(OutboxItem(seq, self._actions[seq - 1], row.attempts))
        return claimed

    def _row(self, seq: int) -> _OutboxRow | None:
        """The claimed row `seq`, or None when it is settled already (another worker's lease ran out and it
        delivered the record too: at least once)."""
        if not 1 <= seq <= len(self._actions):
            raise StoreError(f"the outbox has no record {seq}")
        if seq <= self._settled or seq in self._done:
            return None
        row = self._rows.get(seq)
        if row is None:
            raise StoreError(f"outbox record {seq} was never claimed")
        return row

    def _settle(self, seq: int) -> None:
        self._rows.pop(seq, None)
        self._done.add(seq)
        while self._settled + 1 in self._done:
            self._settled += 1
            self._done.discard(self._settled)

    def outbox_delivered(self, seqs: list[int]) -> None:
        for seq in seqs:
            if self._row(seq) is not None:
                self._settle(seq)

    def outbox_retry(self, seq: int, attempts: int, not_before: float, error: str) -> None:
        row = self._row(seq)
        if row is not None:
            row.attempts, row.not_before, row.claimed_until, row.error = attempts, not_before, 0.0, error

    def outbox_dead(self, seq: int, attempts: int, error: str) -> None:
        if self._row(seq) is not None:
            self._settle(seq)
            self._dead.append(DeadDelivery(seq, self._actions[seq - 1], attempts, error))

    def dead_deliveries(self) -> list[DeadDelivery]:
        return list(self._dead)

    def transitions(self) -> Iterator[dict[str, Any]]:
        return (transition_dict(row) for row in self._transitions)

    def actions(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._actions))


register_store(MemoryStore)
