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
from typing import Any, ClassVar, Literal

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


# scheme -> the Store subclass that opens its URLs, filled as store modules are imported (Store.__init_subclass__)
STORES: dict[str, type[Store]] = {}


class Store(ABC):
    """Base of every store; the engine reads `customers`, `seen` and `clock` directly for speed."""

    # The URL schemes this class opens (`sqlite` for sqlite:///PATH); a class that names none is not opened from a URL
    # (a store built in code and handed to the engine). Only a class's own `schemes` register it, so a subclass of
    # MemoryStore (a test double) does not take memory:// over.
    schemes: ClassVar[tuple[str, ...]] = ()
    durable: bool = False
    # False when log_transitions would drop its rows: the engine then does not build them (one tuple per step).
    keeps_transitions: bool = True
    # False when log_event would drop what it is given: the engine then does not build the event's history form.
    keeps_events: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own: tuple[str, ...] = cls.__dict__.get("schemes", ())
        if own and "from_url" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} names URL schemes {own} but has no from_url")
        for scheme in own:
            taken = STORES.get(scheme)
            # The same class defined again (its module reloaded) replaces itself; another class may not.
            if taken is not None and (taken.__module__, taken.__qualname__) != (cls.__module__, cls.__qualname__):
                raise TypeError(f"{cls.__name__}: the scheme {scheme!r} is {taken.__name__}'s already")
            STORES[scheme] = cls

    @classmethod
    def from_url(cls, url: str, batch: int | None = None, mode: OpenMode = "auto", wait: float = 0.0) -> Store:
        """Open the store a URL of one of `schemes` names (`stores.open_store` has chosen this class by the scheme).

        `batch` (units per commit) and `mode`/`wait` (OpenMode) matter to a durable store; raises StoreError for a
        URL this class cannot open."""
        raise StoreError(f"{cls.__name__} is not opened from a URL (store URL {url!r})")

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

    def log_event(self, event: dict[str, Any]) -> None:  # noqa: B027 - a store may keep no event history
        """An event the engine handled (it changed a customer), as it came: the history `replay` runs again."""

    def events(self) -> Iterator[dict[str, Any]]:
        """Every event `log_event` kept, in order (none for a store that keeps no history)."""
        return iter(())

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
