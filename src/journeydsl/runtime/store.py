"""The store interface: where the runtime keeps customer state, timers by due time, seen event ids, the
action outbox and the transition log.

Customers are loaded on demand (`load`) and handed back once a unit of work changed them (`save`, with the
customer's earliest timer), so a durable store need not hold every customer in memory: it reads a customer when
an event or a timer needs it, keeps a bounded cache, and answers "which customer's timer is due next, up to T"
(`pop_due`) from an index by due time. The engine never reads a store's tables or dicts directly.

`end_unit()` closes one unit of work (one event, or the timers of one customer); a durable store commits the
state changes, the outbox, the transition log and the seen event ids of `batch` units in ONE transaction, so a
crash loses only uncommitted work, whose events are then not marked seen and are processed again.

Delivery workers (`serve`, `journeydsl deliver`) claim outbox rows (`claim_outbox`), hand them to a sink and
then mark them delivered, retried later, or dead after too many attempts; `journeydsl run` hands out every
committed record at once (`take_deliverable`) and prints it.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from mypy_extensions import mypyc_attr

from journeydsl.runtime import state as S
from journeydsl.runtime.aggregates import (
    Aggregator,
    InFlightStep,
    RecordAggregates,
    TransitionAggregates,
    WaitingSends,
    in_flight_of,
    offer_rows,
    waiting_sends_of,
)
from journeydsl.runtime.jsonio import dumps_lines
from journeydsl.runtime.timeparse import format_time

# One transition: (journey, version, customer_id, instance, from_step, to_step, at (epoch), via)
Transition = tuple[str, int, str, str, str | None, str, float, str | None]

TRANSITION_FIELDS = ("journey", "version", "customer_id", "instance", "from_step", "to_step", "at", "via")


def transition_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A transition as a dict; `row` is a Transition, or a stored row as its driver or JSON gives it (a list)."""
    record = dict(zip(TRANSITION_FIELDS, row, strict=True))
    record["at"] = format_time(record["at"])
    return record


class StoreError(Exception):
    """A store URL that cannot be opened, or a store file that is not a journeydsl store."""


class StoreBusyError(StoreError):
    """The store is owned by another process (one writer at a time: store_sqlite.StoreLock), and the opener asked
    to write to it."""


# How a durable store is opened: "write" owns it (fails, or waits, while another process does); "read" never owns
# it (a consistent snapshot that refuses to commit); "auto" owns it when it is free and reads it otherwise;
# "deliver" never owns it and only claims and settles outbox rows (delivery workers beside the owner).
OpenMode = Literal["auto", "write", "read", "deliver"]


# A durable store commits after DEFAULT_BATCH units (events, or rounds of timers), or once BATCH_SECONDS have passed
# since the first unit of the batch, whichever comes first, unless the URL or `--batch` sets the units (docs/
# decisions.md, "The default batch"). A crash loses only the uncommitted units, whose events are redone.
DEFAULT_BATCH = 1000
BATCH_SECONDS = 0.1


class CommitPolicy:
    """When a durable store's pending units are committed: `units` of them, or `seconds` after the first."""

    def __init__(self, seconds: float = BATCH_SECONDS) -> None:
        self.seconds = seconds
        self.pending = 0
        self._first = 0.0

    def unit_done(self, units: int) -> bool:
        """One more unit is pending; True when the batch (of at most `units`) is due for its commit."""
        self.pending += 1
        if self.pending >= units:
            return True
        if self.pending == 1:
            self._first = time.monotonic()
            return False
        return time.monotonic() - self._first >= self.seconds

    def committed(self) -> None:
        self.pending = 0


# scheme -> the Store subclass that opens its URLs, filled as store modules are imported (`register_store`)
STORES: dict[str, type[Store]] = {}


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One claimed outbox row: its sequence number in the outbox, the action record, and the delivery attempts
    made before this one."""

    seq: int
    record: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class DeadDelivery:
    """A record its sink refused too many times (`Store.outbox_dead`): kept for an operator, never retried."""

    seq: int
    record: dict[str, Any]
    attempts: int
    error: str


# Compiled by mypyc (`make compiled`) with the engine that calls it; the durable stores and test doubles subclass it
# in plain Python.
@mypyc_attr(allow_interpreted_subclasses=True)
class Store(ABC):
    """Base of every store. The engine reads and writes `clock` directly; everything else goes through methods."""

    # The URL schemes this class opens (`sqlite` for sqlite:///PATH), once its module has called `register_store`; a
    # class that names none is not opened from a URL (a store built in code and handed to the engine).
    schemes: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_url(cls, url: str, batch: int | None = None, mode: OpenMode = "auto", wait: float = 0.0) -> Store:
        """Open the store a URL of one of `schemes` names (`stores.open_store` has chosen this class by the scheme).

        `batch` (units per commit) and `mode`/`wait` (OpenMode) matter to a durable store; raises StoreError for a
        URL this class cannot open."""
        raise StoreError(f"{cls.__name__} is not opened from a URL (store URL {url!r})")

    def __init__(self, durable: bool = False) -> None:
        """durable: the store keeps what is committed across processes (SQLite, PostgreSQL); the engine then checks
        what it loads."""
        self.clock: float | None = None  # the latest event time the engine reached (the timer watermark)
        # Instance attributes, not class ones: in the compiled build a subclass's class attribute would not override
        # them, and a store meant to be durable would silently not be. A subclass sets the two below in its __init__.
        _refuse_class_flags(type(self))
        self.durable = durable
        # False when log_transitions would drop its rows: the engine then does not build them (one tuple per step).
        self.keeps_transitions = True
        # False when log_event would drop what it is given: the engine then does not build the event's history form.
        self.keeps_events = True
        self._plans: dict[tuple[str, int], dict[str, Any]] = {}

    # ---- customers, on demand
    @abstractmethod
    def load(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's state `{"p": profile, "i": {slot: instance}, "c": {cap slot: [send times]}}` as last
        saved (committed or not), or None for a customer the store does not know. The engine changes the dict in
        place and then `save`s it."""

    @abstractmethod
    def save(self, customer_id: str, customer: dict[str, Any], due: float | None, profile: bool) -> None:
        """The current unit changed this customer: `due` is its earliest pending timer (None: none), `profile` says
        whether its profile changed too (a store may write the profile apart: it is larger and changes less)."""

    @abstractmethod
    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every customer with its state, in no particular order, streamed (analytics, status, orphan checks)."""

    @abstractmethod
    def customer_count(self) -> int: ...

    def in_flight_versions(self) -> dict[tuple[str, int], int]:
        """(journey, version) -> the number of active instances on it: what a new bundle must still carry. A
        store that can count in its query language overrides this scan."""
        found: dict[tuple[str, int], int] = {}
        for _, customer in self.scan():
            for inst in customer["i"].values():
                if inst[S.ACTIVE]:
                    key = (inst[S.JOURNEY], inst[S.VERSION])
                    found[key] = found.get(key, 0) + 1
        return found

    def peek_due(self) -> float:
        """A time no pending timer of the store is due before (a lower bound of the earliest due time; `math.inf`:
        no timer at all). The engine asks it after firing timers, and skips asking `pop_due` for events dated
        before it: most events of a stream fire no timer. The default, minus infinity, always asks."""
        return -math.inf

    @abstractmethod
    def pop_due(self, upto: float) -> tuple[float, str] | None:
        """The customer whose timer is due first at or before `upto`, as (due, customer id), ties by customer id;
        None when no timer is due by then. The customer counts as having no timer until it is saved again (the
        engine always saves a customer whose timers it fired, with its next due time)."""

    def prefetch(self, customer_ids: Iterable[str], event_ids: Iterable[str]) -> None:  # noqa: B027 - optional
        """A hint: the next events are for these customers and carry these ids. A store that answers `load` and
        `seen_before` with a round trip each may read them ahead in one; the answers stay the same."""

    @abstractmethod
    def seen_before(self, event_id: str) -> bool:
        """Whether an event with this id was handled (and not yet forgotten by the store's retention)."""

    @abstractmethod
    def add_seen(self, event_id: str, at: float) -> None:
        """The event `event_id`, dated `at` (epoch seconds), was handled in the current unit."""

    # ---- the plans the engine ran, so analytics can read step order, costs and experiments
    def record_plans(self, plans: Mapping[tuple[str, int], dict[str, Any]]) -> None:
        self._plans.update(plans)

    def plans(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Every plan (journey, version) an engine ran on this store."""
        return dict(self._plans)

    # ---- what a unit of work produced
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

    # ---- delivery workers: claim, hand to a sink, then settle each row
    def claim_outbox(self, limit: int, lease: float) -> list[OutboxItem]:
        """Up to `limit` committed, undelivered records whose retry time has come and that no other worker holds,
        oldest first; they are held for `lease` seconds (then another worker may claim them again)."""
        raise StoreError(f"{type(self).__name__} has no outbox for delivery workers")

    def outbox_delivered(self, seqs: list[int]) -> None:
        """The sink accepted these claimed records: never hand them out again (committed at once)."""
        raise StoreError(f"{type(self).__name__} has no outbox for delivery workers")

    def outbox_retry(self, seq: int, attempts: int, not_before: float, error: str) -> None:
        """The sink refused a claimed record: try again from `not_before` (epoch seconds, wall clock)."""
        raise StoreError(f"{type(self).__name__} has no outbox for delivery workers")

    def outbox_dead(self, seq: int, attempts: int, error: str) -> None:
        """Give a claimed record up after `attempts` attempts: it moves to the dead deliveries."""
        raise StoreError(f"{type(self).__name__} has no outbox for delivery workers")

    def dead_deliveries(self) -> list[DeadDelivery]:
        return []

    # ---- analytics
    @abstractmethod
    def transitions(self) -> Iterator[dict[str, Any]]:
        """Every transition ever logged, in order, as dicts (TRANSITION_FIELDS)."""

    @abstractmethod
    def actions(self) -> Iterator[dict[str, Any]]:
        """Every action record ever produced, in order."""

    # ---- aggregates (runtime/aggregates.py): what report, overlay and status read instead of every record. These
    # defaults fold `actions()`, `transitions()` and `scan()` in Python (memory://); a durable store answers from
    # aggregate tables or SQL, with the same results.
    def record_aggregates(self) -> RecordAggregates:
        """Records counted by journey, version, kind, label and status, with goal values and send costs."""
        folded = Aggregator()
        folded.add_records(self.actions())
        return folded.record_aggregates()

    def transition_aggregates(self) -> TransitionAggregates:
        """Reach and visits per step, counts per transition, by journey version."""
        folded = Aggregator()
        folded.add_transition_dicts(self.transitions())
        return folded.transition_aggregates()

    def in_flight_steps(self) -> tuple[InFlightStep, ...]:
        """Active instances and pending timers by journey, version and step id (`journeydsl status`)."""
        rows = [
            (inst[S.JOURNEY], inst[S.VERSION], inst[S.STEP], 1, int(inst[S.TIMER] is not None))
            for _, customer in self.scan()
            for inst in customer["i"].values()
            if inst[S.ACTIVE]
        ]
        return in_flight_of(rows)

    def waiting_sends(self) -> tuple[WaitingSends, ...]:
        """Sends held for a contact policy's settle time, by journey and channel (`journeydsl status`)."""
        return waiting_sends_of(row for _, customer in self.scan() for row in offer_rows(customer["c"]))

    def close(self) -> None:
        self.flush()

    def abandon(self) -> None:  # noqa: B027 - a store that commits nothing (memory://) has nothing to drop
        """Stop using the store without committing what is pending (a run that must stop at once, e.g. when its
        records could not be written): the next run redoes that work, since its event ids were not committed."""


STORE_FLAGS = ("durable", "keeps_events", "keeps_transitions")


def _refuse_class_flags(cls: type) -> None:
    """TypeError for a subclass of Store that sets one of STORE_FLAGS as a class attribute."""
    for klass in cls.__mro__:
        if klass is Store:
            return
        for name in STORE_FLAGS:
            if name in vars(klass):
                raise TypeError(
                    f"{klass.__name__} sets {name} as a class attribute: set self.{name} in __init__, after "
                    "Store.__init__ (the compiled runtime reads the instance's value)"
                )


def register_store(cls: type[Store]) -> None:
    """Make `cls` the store of the URL schemes its own `schemes` names (each store module calls this once, below its
    class; a subclass, such as a test double, inherits `schemes` but is not registered unless it asks). Raises
    TypeError for a class that names schemes but cannot open URLs, or a scheme another class has taken."""
    own: tuple[str, ...] = vars(cls).get("schemes", ())
    if not own:
        raise TypeError(f"{cls.__name__} names no URL scheme of its own")
    if "from_url" not in vars(cls):
        raise TypeError(f"{cls.__name__} names URL schemes {own} but has no from_url")
    for scheme in own:
        taken = STORES.get(scheme)
        # The same class defined again (its module reloaded) replaces itself; another class may not.
        if taken is not None and _origin(taken) != _origin(cls):
            raise TypeError(f"{cls.__name__}: the scheme {scheme!r} is {taken.__name__}'s already")
    for scheme in own:
        STORES[scheme] = cls


def _origin(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__
