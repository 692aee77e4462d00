"""Replay tests (runtime layer): would a new bundle have treated the customers in flight as they were treated?

As Temporal's replayer does for a workflow change: the events that brought the store's customers where they
are (the history the store keeps of every event that changed a customer, or a file of them) run again, through
the new bundle, in a scratch memory store, up to the store's clock; for every customer
with an instance in flight, the action records the new bundle gives are compared with the records the store
holds. A difference is reported at the customer's first record that differs: what the customer got, and what
the new bundle would have done. The store's records and the replay's are compared by what a customer
experiences (kind, journey, step, time, channel, template, status, body, outcome, goal, value, field, event,
name, data), not by version, instance id or key, which a new version changes by design.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from journeydsl.runtime import state as S
from journeydsl.runtime.engine import Engine
from journeydsl.runtime.jsonio import DecodeError, loads
from journeydsl.runtime.store import Store
from journeydsl.runtime.store_memory import MemoryStore
from journeydsl.runtime.timeparse import format_time

COMPARED = (
    "kind",
    "journey",
    "step",
    "at",
    "channel",
    "template",
    "status",
    "reason",
    "body",
    "outcome",
    "goal",
    "value",
    "field",
    "event",
    "name",
    "data",
)


@dataclass(frozen=True, slots=True)
class Divergence:
    customer_id: str
    index: int  # the position of the first differing record among the customer's records
    got: dict[str, Any] | None  # what the store says the customer got (None: nothing more)
    replayed: dict[str, Any] | None  # what the new bundle gives there (None: nothing more)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    customers: int  # customers in flight that were compared
    divergences: tuple[Divergence, ...]
    events: int  # events replayed

    def as_json(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "events": self.events,
            "divergences": [asdict(d) for d in self.divergences],
        }


def _seen(record: dict[str, Any]) -> dict[str, Any]:
    return {name: record[name] for name in COMPARED if name in record}


def replay(bundle: Any, store: Store, events: Iterable[bytes | dict[str, Any]] | None = None) -> ReplayResult:
    """Replay `events` (default: the history the store kept, `Store.events`) through `bundle` in a scratch store
    and compare, customer by customer, with `store`."""
    if events is None:
        events = store.events()
    in_flight = sorted(cid for cid, customer in store.scan() if any(inst[S.ACTIVE] for inst in customer["i"].values()))
    wanted = set(in_flight)
    got: dict[str, list[dict[str, Any]]] = {cid: [] for cid in in_flight}
    for record in store.actions():
        cid = record.get("customer_id")
        if cid in wanted:
            got[cid].append(_seen(record))
    engine = Engine(bundle, MemoryStore(keep_log=False))
    replayed: dict[str, list[dict[str, Any]]] = {cid: [] for cid in in_flight}
    count = 0

    def keep(records: list[dict[str, Any]]) -> None:
        for record in records:
            cid = record.get("customer_id")
            if cid in wanted:
                replayed[cid].append(_seen(record))

    for raw in events:
        if isinstance(raw, bytes):
            if not raw.strip():
                continue
            try:
                raw = loads(raw)
            except DecodeError:
                continue  # a line the original run dead-lettered as well
        count += 1
        keep(engine.process(raw))
    if store.clock is not None:
        keep(engine.advance(format_time(store.clock)))
    divergences = []
    for cid in in_flight:
        before, after = got[cid], replayed[cid]
        for index in range(max(len(before), len(after))):
            old = before[index] if index < len(before) else None
            new = after[index] if index < len(after) else None
            if old != new:
                divergences.append(Divergence(cid, index, old, new))
                break
    return ReplayResult(len(in_flight), tuple(divergences), count)


def replay_text(result: ReplayResult) -> str:
    lines = [f"replayed {result.events} event(s); {result.customers} customer(s) in flight compared"]
    for found in result.divergences:
        lines.append(f"{found.customer_id}: record {found.index + 1} differs")
        lines.append(f"  got:      {_short(found.got)}")
        lines.append(f"  replayed: {_short(found.replayed)}")
    lines.append(
        f"{len(result.divergences)} customer(s) would be treated differently"
        if result.divergences
        else "every customer in flight would have been treated the same"
    )
    return "\n".join(lines) + "\n"


def _short(record: dict[str, Any] | None) -> str:
    if record is None:
        return "(no record)"
    shown = [f"{record.get('kind')} {record.get('journey')}.{record.get('step')} at {record.get('at')}"]
    for name in ("channel", "template", "status", "outcome", "goal", "field", "event", "name"):
        if name in record:
            shown.append(f"{name}={record[name]}")
    return " ".join(shown)
