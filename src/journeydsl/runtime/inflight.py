"""What a store has in flight (runtime layer; reads a Store and the plans it recorded, nothing of the front end).

Counts the active instances per journey, version and step, how many of them wait on a timer, and the sends a
contact policy holds until its settle time decides them (per journey and channel), so that an operator sees what
a deploy would touch (`journeydsl status`) and `plan`/`run` can tell which versions still have customers on them.
Step names come from the plans the store recorded when an engine ran them; an instance on a version whose plan the
store never saw is counted under its step number.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from journeydsl.runtime.aggregates import WaitingSends, waiting_sends_of
from journeydsl.runtime.store import Store

Plans = dict[tuple[str, int], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class StepInFlight:
    """Active instances standing on one step of one journey version."""

    journey: str
    version: int
    step: str
    active: int
    timers: int  # of them, how many wait on a timer (a `wait` with a timeout, a `sleep`)


@dataclass(frozen=True, slots=True)
class InFlight:
    steps: tuple[StepInFlight, ...]
    customers: int  # customers the store knows
    waiting: tuple[WaitingSends, ...] = ()  # sends a contact policy holds until its settle time, by journey, channel

    def versions(self) -> dict[tuple[str, int], int]:
        """Active instances per (journey, version)."""
        counts: Counter[tuple[str, int]] = Counter()
        for row in self.steps:
            counts[(row.journey, row.version)] += row.active
        return dict(sorted(counts.items()))

    def as_json(self) -> dict[str, Any]:
        versions = [
            {"journey": journey, "version": version, "active": active}
            for (journey, version), active in self.versions().items()
        ]
        return {
            "customers": self.customers,
            "versions": versions,
            "steps": [asdict(row) for row in self.steps],
            "waiting_sends": [asdict(row) for row in self.waiting],
        }


def step_name(plans: dict[tuple[str, int], dict[str, Any]], journey: str, version: int, step: int | None) -> str:
    """The step's name in the plan the store recorded, else `#N` (or `-` before the first step)."""
    if step is None:
        return "-"
    steps = (plans.get((journey, version)) or {}).get("steps") or []
    if 0 <= step < len(steps) and isinstance(steps[step], dict):
        return str(steps[step].get("name", f"#{step}"))
    return f"#{step}"


def in_flight(store: Store) -> InFlight:
    """The store's active instances by journey, version and step (sorted), with their pending timers, and the sends
    waiting for a contact policy: counted by the store (`Store.in_flight_steps`, `Store.waiting_sends`, in SQL for a
    durable one), the steps named here from the plans the store recorded."""
    plans = store.plans()
    active: Counter[tuple[str, int, str]] = Counter()
    timers: Counter[tuple[str, int, str]] = Counter()
    for row in store.in_flight_steps():
        where = (row.journey, row.version, step_name(plans, row.journey, row.version, row.step))
        active[where] += row.active
        timers[where] += row.timers
    rows = tuple(
        StepInFlight(journey, version, step, count, timers[(journey, version, step)])
        for (journey, version, step), count in sorted(active.items())
    )
    return InFlight(rows, store.customer_count(), store.waiting_sends())


def merge_in_flight(parts: list[InFlight]) -> InFlight:
    """The sum of stores that hold different customers (the shards of one store): a customer, with its instances
    and waiting sends, lives in one of them."""
    counts: dict[tuple[str, int, str], list[int]] = {}
    for part in parts:
        for row in part.steps:
            found = counts.setdefault((row.journey, row.version, row.step), [0, 0])
            found[0] += row.active
            found[1] += row.timers
    steps = tuple(StepInFlight(j, v, s, *counts[(j, v, s)]) for j, v, s in sorted(counts))
    waiting = waiting_sends_of((w.journey, w.channel, w.sends) for part in parts for w in part.waiting)
    return InFlight(steps, sum(part.customers for part in parts), waiting)


def in_flight_at(store_url: str) -> tuple[InFlight, Plans]:
    """What the store at `store_url` has in flight, and the plans it recorded, read without taking it from its
    owner. A SQLite store that `run --workers N` split into shards is read shard by shard and summed.

    Raises StoreError (a store that cannot be opened or read, or a damaged state, naming the store and row)."""
    from journeydsl.runtime.shards import shard_urls
    from journeydsl.runtime.stores import open_store

    parts: list[InFlight] = []
    plans: Plans = {}
    for url in shard_urls(store_url):
        store = open_store(url, mode="read")
        try:
            parts.append(in_flight(store))
            plans.update(store.plans())
        finally:
            store.abandon()  # read only: nothing to commit
    return (parts[0] if len(parts) == 1 else merge_in_flight(parts)), plans


def in_flight_text(found: InFlight) -> str:
    """A table for people: one line per journey version, then its steps."""
    if not found.steps and not found.waiting:
        return f"nothing in flight ({found.customers} customer(s) known, no active instance)\n"
    lines = []
    width = max((len(row.step) for row in found.steps), default=0)
    for (journey, version), count in found.versions().items():
        lines.append(f"{journey} v{version}: {count} active")
        for row in found.steps:
            if (row.journey, row.version) == (journey, version):
                waiting = f"  ({row.timers} waiting on a timer)" if row.timers else ""
                lines.append(f"  {row.step.ljust(width)}  {row.active:>8}{waiting}")
    if found.waiting:
        lines.append("sends waiting for a contact policy to decide them (at its settle time):")
        for sends in found.waiting:
            lines.append(f"  {sends.journey} on {sends.channel}: {sends.sends}")
    return "\n".join(lines) + "\n"
