"""The store interface: where the engine keeps customer state, seen event ids, the action outbox
and the transition log.

The engine works on the per-customer state dicts in `customers` (plain JSON-able data, so a durable
store can write them as they are) and tells the store what changed. `end_unit()` closes one unit of
work (one event, or one `advance`); a durable store commits the state change, the outbox, the
transition log and the seen event id of its units in one transaction. A server-backed store
(PostgreSQL, several workers splitting customers by a hash of the id) implements the same methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from journeydsl.runtime.jsonio import dumps_lines
from journeydsl.runtime.timeparse import format_time

# One transition: (journey, version, customer_id, instance, from_step, to_step, at (epoch), via)
Transition = tuple[str, int, str, str, str | None, str, float, str | None]

TRANSITION_FIELDS = ("journey", "version", "customer_id", "instance", "from_step", "to_step", "at", "via")


def transition_dict(row: Transition | tuple[Any, ...]) -> dict[str, Any]:
    record = dict(zip(TRANSITION_FIELDS, row, strict=True))
    record["at"] = format_time(record["at"])
    return record


class StoreError(Exception):
    """A store URL that cannot be opened, or a store file that is not a journeydsl store."""


class StoreBusyError(StoreError):
    """The store is owned by another process (one writer at a time: store_sqlite.StoreLock), and the opener asked
    to write to it."""


# How a durable store is opened: "write" owns it (fails, or waits, while another process does); "read" never owns
# it (a consistent snapshot that refuses to commit); "auto" owns it when it is free and reads it otherwise.
OpenMode = Literal["auto", "write", "read"]


class Store(ABC):
    """Base of every store; the engine reads `customers`, `seen` and `clock` directly for speed."""

    durable: bool = False
    # False when log_transitions would drop its rows: the engine then does not build them (one tuple per step).
    keeps_transitions: bool = True

    def __init__(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.seen: set[str] = set()
        self.clock: float | None = None  # the latest event time the engine reached (the timer watermark)
        self._plans: dict[tuple[str, int], dict[str, Any]] = {}

    # ---- the plans the engine ran, so analytics can read step order, costs and experiments
    def record_plans(self, plans: Mapping[tuple[str, int], dict[str, Any]]) -> None:
        self._plans.update(plans)

    def plans(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Every plan (journey, version) an engine ran on this store."""
        return dict(self._plans)

    # ---- changes, reported by the engine
    @abstractmethod
    def touch(self, customer_id: str) -> None:
        """The customer's instances or cap counts changed."""

    def touch_profile(self, customer_id: str) -> None:
        """The customer's profile changed (a store may write it apart from the instances: it is larger and
        changes less often)."""
        self.touch(customer_id)

    @abstractmethod
    def add_seen(self, event_id: str) -> None: ...

    @abstractmethod
    def log_actions(self, records: list[dict[str, Any]]) -> None: ...

    @abstractmethod
    def log_transitions(self, rows: list[Transition]) -> None: ...

    @abstractmethod
    def end_unit(self) -> None:
        """One event (or one advance) is done; a durable store commits every `batch` units."""

    @abstractmethod
    def flush(self) -> None:
        """Commit whatever is pending now."""

    # ---- delivery
    @abstractmethod
    def take_deliverable(self) -> list[dict[str, Any]]:
        """Committed records not yet delivered, in order; they count as delivered from now on."""

    def take_deliverable_lines(self) -> tuple[list[dict[str, Any]], bytes]:
        """`take_deliverable` with the records as JSON Lines (`jsonio.dumps_lines`); a store that encoded them
        already for its outbox hands out those bytes instead of encoding the records again."""
        records = self.take_deliverable()
        return records, dumps_lines(records) if records else b""

    # ---- analytics
    @abstractmethod
    def transitions(self) -> Iterator[dict[str, Any]]:
        """Every transition ever logged, in order, as dicts (TRANSITION_FIELDS)."""

    @abstractmethod
    def actions(self) -> Iterator[dict[str, Any]]:
        """Every action record ever produced, in order."""

    def close(self) -> None:
        self.flush()

    def abandon(self) -> None:  # noqa: B027 - a store that commits nothing (memory://) has nothing to drop
        """Stop using the store without committing what is pending (a run that must stop at once, e.g. when its
        records could not be written): the next run redoes that work, since its event ids were not committed."""


def open_store(url: str | Store, batch: int | None = None, *, mode: OpenMode = "auto", wait: float = 0.0) -> Store:
    """`memory://` or `sqlite:///PATH[?batch=N&synchronous=normal|full]`, or an already open Store.

    `mode` and `wait` apply to a durable store: see `OpenMode`; with mode "write", `wait` is how many seconds to
    wait for another process to release the store (`math.inf`: without bound) before raising StoreBusyError."""
    if isinstance(url, Store):
        return url
    if url == "memory://" or url == "memory:":
        from journeydsl.runtime.store_memory import MemoryStore

        return MemoryStore()
    if url.startswith("memory:"):
        raise StoreError(f"invalid store URL {url!r}: memory:// takes no path and no parameters")
    if url.startswith("sqlite:"):
        from journeydsl.runtime.store_sqlite import SqliteStore

        return SqliteStore.from_url(url, batch=batch, mode=mode, wait=wait)
    raise StoreError(f"unknown store URL {url!r}: use memory:// or sqlite:///PATH")
