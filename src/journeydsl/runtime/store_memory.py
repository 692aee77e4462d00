"""`memory://`: everything in Python objects; for tests, the scenario runner and benchmarks.

Where it sits: one concrete store, above store.py (its base); `stores.open_store` imports it for memory:// URLs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from journeydsl.runtime.store import OpenMode, Store, StoreError, Transition, transition_dict


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
        self._actions: list[dict[str, Any]] = []
        self._events: list[dict[str, Any]] = []
        self._transitions: list[Transition] = []
        self._delivered = 0
        self.customers: dict[str, dict[str, Any]] = {}
        self.seen: set[str] = set()
        # (due, customer id) of every customer with a timer, and each one's current due time: an entry whose
        # due time is no longer the customer's is stale and skipped when it comes up.
        self._due_heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}

    @property
    def keeps_transitions(self) -> bool:  # type: ignore[override]
        return self.keep_log

    def load(self, customer_id: str) -> dict[str, Any] | None:
        return self.customers.get(customer_id)

    def save(self, customer_id: str, customer: dict[str, Any], due: float | None, profile: bool) -> None:
        self.customers[customer_id] = customer
        if due is None:
            self._due.pop(customer_id, None)
        elif self._due.get(customer_id) != due:
            self._due[customer_id] = due
            heapq.heappush(self._due_heap, (due, customer_id))

    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(list(self.customers.items()))

    def customer_count(self) -> int:
        return len(self.customers)

    def pop_due(self, upto: float) -> tuple[float, str] | None:
        heap = self._due_heap
        due_of = self._due
        while heap and heap[0][0] <= upto:
            due, customer_id = heapq.heappop(heap)
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

    @property
    def keeps_events(self) -> bool:  # type: ignore[override]
        return self.keep_log

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

    def transitions(self) -> Iterator[dict[str, Any]]:
        return (transition_dict(row) for row in self._transitions)

    def actions(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._actions))
