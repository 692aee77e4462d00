"""The counts analytics read from a store (report, `render --overlay`, `status`), and how they are folded.

A store answers `Store.record_aggregates()`, `Store.transition_aggregates()` and `Store.in_flight_steps()`: a
durable store keeps them as it commits (store_sqlite) or counts them in SQL (store_postgres), so a report over a
million records reads a few hundred rows instead of decoding every record in Python. `Aggregator` is the one
definition of what is counted: the memory store's answers come from it over `actions()`/`transitions()`, and
store_sqlite folds each commit's records and transitions with it, so every store counts alike.

What is counted (the same normalisation as analytics/report.py, so its figures do not change):
- records by (journey, version, kind, label, status): `label` is an exit's outcome (`str(outcome)`), an end's
  outcome (`none` when unnamed), a goal's name or a send's channel; `status` a send's status; `total` sums the
  goal values / send costs that are numbers (not booleans), `priced` counts the records that had one;
- converted: distinct instances with at least one goal, per journey version;
- transitions: edges (from, to) with their counts (`from` None: the entry into the journey) and the reach of each
  step (distinct instances that arrived there; visits are the edge counts into it).
Journeys are `str(journey)`, versions `int(version or 0)`; a record without an instance counts under
`~journey/version/customer` (report.py's `instance_of`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from journeydsl.runtime import state as S

# The empty text stands for "none" in the stores' key columns (SQL keys cannot hold NULL as a value that is
# equal to itself): no label or status for a record that has none, the entry for an edge's `from`.
NONE = ""
INSTANCE_FALLBACK = "~"

# (journey, version, kind, label, status)
RecordKey = tuple[str, int, str, str, str]
# (journey, version, from step or NONE, to step)
EdgeKey = tuple[str, int, str, str]


@dataclass(frozen=True, slots=True)
class RecordCount:
    """Records of one kind (and label and status) of one journey version."""

    journey: str
    version: int
    kind: str
    label: str | None  # exit/end outcome, goal name, send channel; None for other kinds
    status: str | None  # a send's status; None for other kinds
    count: int
    total: float  # sum of the goal values or send costs that are numbers
    priced: int  # of `count`, how many had such a number


@dataclass(frozen=True, slots=True)
class StepReach:
    journey: str
    version: int
    step: str
    reach: int  # distinct instances that arrived at the step
    visits: int  # arrivals


@dataclass(frozen=True, slots=True)
class EdgeCount:
    journey: str
    version: int
    from_step: str | None  # None: the entry into the journey
    to_step: str
    count: int


@dataclass(frozen=True, slots=True)
class RecordAggregates:
    counts: tuple[RecordCount, ...]  # sorted by key
    converted: dict[tuple[str, int], int] = field(default_factory=dict)  # instances with a goal


@dataclass(frozen=True, slots=True)
class TransitionAggregates:
    steps: tuple[StepReach, ...]  # sorted by (journey, version, step)
    edges: tuple[EdgeCount, ...]  # sorted, entries (from None) first

    def by_version(self) -> dict[tuple[str, int], tuple[dict[str, int], dict[tuple[str | None, str], int]]]:
        """(journey, version) -> (reach per step, count per (from, to)): what a diagram overlay draws."""
        found: dict[tuple[str, int], tuple[dict[str, int], dict[tuple[str | None, str], int]]] = {}
        for step in self.steps:
            found.setdefault((step.journey, step.version), ({}, {}))[0][step.step] = step.reach
        for edge in self.edges:
            found.setdefault((edge.journey, edge.version), ({}, {}))[1][(edge.from_step, edge.to_step)] = edge.count
        return dict(sorted(found.items()))


@dataclass(frozen=True, slots=True)
class InFlightStep:
    """Active instances on one step (its id in the plan; None before the first) of one journey version."""

    journey: str
    version: int
    step: int | None
    active: int
    timers: int  # of them, how many wait on a timer


@dataclass(frozen=True, slots=True)
class WaitingSends:
    """Sends of one journey on one channel held by a contact policy until its settle time decides them."""

    journey: str
    channel: str
    sends: int


def _version(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):  # not a version at all: counted under 0 rather than refused
        return 0


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def instance_key(instance: Any, journey: Any, version: Any, customer_id: Any) -> str:
    """The instance a record or transition belongs to; older ones without `instance` fall back to the customer."""
    if instance:
        return str(instance)
    return f"{INSTANCE_FALLBACK}{journey}/{version}/{customer_id}"


def record_key(record: Mapping[str, Any]) -> tuple[RecordKey, float | None]:
    """The key a record is counted under, and its amount (goal value or send cost) when it is a number."""
    kind = record.get("kind")
    kind = kind if type(kind) is str else NONE
    label, status, amount = NONE, NONE, None
    if kind == "exit":
        label = str(record.get("outcome"))
    elif kind == "end":
        label = str(record.get("outcome") or "none")
    elif kind == "goal":
        label, amount = str(record.get("goal")), _number(record.get("value"))
    elif kind == "send":
        label, status = str(record.get("channel")), str(record.get("status"))
        amount = _number(record.get("cost"))
    return (str(record.get("journey")), _version(record.get("version")), kind, label, status), amount


def _labelled(kind: str) -> bool:
    return kind in ("exit", "end", "goal", "send")


class Aggregator:
    """Counts records and transitions; `deltas` are what a store adds to its aggregate tables per commit."""

    def __init__(self) -> None:
        self.records: dict[RecordKey, list[float]] = {}  # key -> [count, total, priced]
        self.converted: dict[tuple[str, int], set[str]] = defaultdict(set)
        self.edges: Counter[EdgeKey] = Counter()
        self.reach: dict[tuple[str, int, str], set[str]] = defaultdict(set)

    def add_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        counts = self.records
        for record in records:
            key, amount = record_key(record)
            found = counts.get(key)
            if found is None:
                found = counts[key] = [0, 0.0, 0]
            found[0] += 1
            if amount is not None:
                found[1] += amount
                found[2] += 1
            if key[2] == "goal":
                journey = record.get("journey")
                instance = instance_key(
                    record.get("instance"), journey, record.get("version"), record.get("customer_id")
                )
                self.converted[(key[0], key[1])].add(instance)

    def add_counts(self, more: Aggregator) -> None:
        """Add the counts of another aggregator (a store holding several commits' counts before it writes them)."""
        for key, (n, total, priced) in more.records.items():
            found = self.records.get(key)
            if found is None:
                self.records[key] = [n, total, priced]
            else:
                found[0] += n
                found[1] += total
                found[2] += priced
        for version, ids in more.converted.items():
            self.converted[version] |= ids
        self.edges.update(more.edges)
        for step, ids in more.reach.items():
            self.reach[step] |= ids

    def add_transition(
        self, journey: Any, version: Any, customer_id: Any, instance: Any, from_step: Any, to_step: Any
    ) -> None:
        """One transition; its fields as stored (any JSON value: a damaged or older row is counted, not refused)."""
        if to_step is None:  # not an arrival anywhere (report.py skips it too)
            return
        name, number = str(journey), _version(version)
        to = str(to_step)
        self.edges[(name, number, NONE if from_step is None else str(from_step), to)] += 1
        self.reach[(name, number, to)].add(instance_key(instance, name, number, customer_id))

    def add_transition_dicts(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.add_transition(
                row.get("journey"),
                row.get("version"),
                row.get("customer_id"),
                row.get("instance"),
                row.get("from_step"),
                row.get("to_step"),
            )

    def record_aggregates(self) -> RecordAggregates:
        return record_aggregates_of(
            ((*key, int(n), float(total), int(priced)) for key, (n, total, priced) in self.records.items()),
            ((journey, version, len(ids)) for (journey, version), ids in self.converted.items()),
        )

    def transition_aggregates(self) -> TransitionAggregates:
        return transition_aggregates_of(
            ((*key, len(ids)) for key, ids in self.reach.items()),
            ((*key, n) for key, n in self.edges.items()),
        )


def record_aggregates_of(
    counts: Iterable[tuple[str, int, str, str, str, int, float, int]], converted: Iterable[tuple[str, int, int]]
) -> RecordAggregates:
    """The result from rows of (journey, version, kind, label, status, count, total, priced) and of (journey,
    version, converted instances), as an aggregate table or a GROUP BY gives them (NONE for no label/status)."""
    rows = [
        RecordCount(
            journey,
            version,
            kind,
            label if _labelled(kind) else None,
            status if kind == "send" else None,
            count,
            total,
            priced,
        )
        for journey, version, kind, label, status, count, total, priced in counts
    ]
    rows.sort(key=lambda row: (row.journey, row.version, row.kind, row.label or "", row.status or ""))
    return RecordAggregates(tuple(rows), {(j, v): n for j, v, n in sorted(converted) if n})


def transition_aggregates_of(
    reach: Iterable[tuple[str, int, str, int]], edges: Iterable[tuple[str, int, str, str, int]]
) -> TransitionAggregates:
    """The result from rows of (journey, version, step, reach) and (journey, version, from or NONE, to, count)."""
    edge_rows = sorted(edges, key=lambda e: (e[0], e[1], e[2] != NONE, e[2], e[3]))
    visits: Counter[tuple[str, int, str]] = Counter()
    for journey, version, _, to_step, count in edge_rows:
        visits[(journey, version, to_step)] += count
    steps = tuple(
        StepReach(journey, version, step, count, visits[(journey, version, step)])
        for journey, version, step, count in sorted(reach)
    )
    return TransitionAggregates(
        steps,
        tuple(
            EdgeCount(journey, version, None if from_step == NONE else from_step, to_step, count)
            for journey, version, from_step, to_step, count in edge_rows
        ),
    )


def waiting_sends_of(rows: Iterable[tuple[str, str, int]]) -> tuple[WaitingSends, ...]:
    """Merged and sorted (journey, channel, sends) rows (committed ones and the open batch's may share a key)."""
    merged: Counter[tuple[str, str]] = Counter()
    for journey, channel, sends in rows:
        merged[(journey, channel)] += sends
    return tuple(WaitingSends(journey, channel, sends) for (journey, channel), sends in sorted(merged.items()))


def offer_rows(caps: Mapping[str, Any]) -> Iterator[tuple[str, str, int]]:
    """(journey, channel, 1) for each send a customer's cap counts hold for a contact policy (state.OFFERS)."""
    for offer in caps.get(S.OFFERS) or ():
        yield offer[S.OFFER_JOURNEY], offer[S.OFFER_CHANNEL], 1


def in_flight_of(rows: Iterable[tuple[str, int, int | None, int, int]]) -> tuple[InFlightStep, ...]:
    """Merged and sorted (journey, version, step, active, timers) rows (a store may give one key twice: its
    committed rows and the customers of its open batch)."""
    merged: dict[tuple[str, int, int | None], list[int]] = {}
    for journey, version, step, active, timers in rows:
        found = merged.setdefault((journey, version, step), [0, 0])
        found[0] += active
        found[1] += timers
    keys = sorted(merged, key=lambda k: (k[0], k[1], k[2] is not None, k[2] or 0))
    return tuple(InFlightStep(j, v, s, merged[(j, v, s)][0], merged[(j, v, s)][1]) for j, v, s in keys)
