"""`Engine.fire_until(until, on_firing)`: the hook `run --workers` keys each customer's firing by, and `advance`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from runtime_support import build_bundle
from test_runtime_properties import JOURNEY

from journeydsl.runtime import Engine, MemoryStore
from journeydsl.runtime.timeparse import parse_rfc3339

_DIR = tempfile.TemporaryDirectory(prefix="jd-fire-hook-")
BUNDLE = build_bundle(Path(_DIR.name), [JOURNEY])
PROFILE = {"email": "a@x", "consent_email": True, "segment": "new"}


def _engine() -> Engine:
    engine = Engine.open(BUNDLE, store=MemoryStore())
    for n in range(6):  # quotes at different times: each customer's `waiting` timer falls due 2 days on
        engine.process(
            {
                "id": f"q{n}",
                "type": "quote",
                "customer_id": f"c{n % 4}",
                "at": f"2026-01-0{1 + n % 3}T1{n}:00:00Z",
                "data": {"roof": 50, "cart": f"k{n}"},
                "profile": PROFILE,
            }
        )
    return engine


def test_fire_until_gives_advance_records_and_each_firing_apart() -> None:
    until = "2026-01-20T00:00:00Z"
    expected = _engine().advance(until)
    firings: list[tuple[float, str, list[dict[str, Any]]]] = []

    def seen(due: float, cid: str, out: list[dict[str, Any]], start: int) -> None:
        firings.append((due, cid, out[start:]))

    engine = _engine()
    records = engine.fire_until(parse_rfc3339(until), seen)
    assert records == expected and len(records) > 4
    assert [record for _, _, part in firings for record in part] == records  # every record in one firing, in order
    assert all(part and all(record["customer_id"] == cid for record in part) for _, cid, part in firings)
    keys = [(due, cid) for due, cid, _ in firings]
    assert keys == sorted(keys)  # the store's due order: (due time, customer id)
    assert engine.due_floor == float("inf")  # nothing left to fire
    assert engine.fire_until(parse_rfc3339(until), seen) == [] and len(firings) == len(keys)
