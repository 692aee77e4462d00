"""Writes row_outbox_v4.db (and its bundle and the answers the store gave) with the journeydsl of commit 324359c, the
last whose SQLite store kept a row per outbox record (schema version 4). tests/runtime/test_store_sqlite_pages.py
opens that file with today's code, which converts it, and compares what the converted store answers with what
the old one answered (row_outbox_v4.json).

Run with the old sources first on the path (from the repository's root):
    git archive 324359c src bench | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/src:/tmp/old python tests/runtime/stores/make_row_outbox_store.py

The store: the example journeys' stream for 12 customers, its first half printed by `run` (the delivered mark),
then delivery workers on the rest: records delivered in order past the mark, one out of order, one retried,
one dead, and one claimed with a lease that outlives the test.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from bench.workload import JOURNEYS, bundle_files, example_events, last_time

from journeydsl.compile.bundle import write_bundle
from journeydsl.runtime import Engine
from journeydsl.runtime.stores import open_store

HERE = Path(__file__).resolve().parent
STORE, BUNDLE, ANSWERS = HERE / "row_outbox_v4.db", HERE / "row_outbox_v4.jbundle", HERE / "row_outbox_v4.json"


def answers(url: str) -> dict[str, Any]:
    store = open_store(url, mode="read")
    try:
        return {
            "actions": list(store.actions()),
            "transitions": list(store.transitions()),
            "events": list(store.events()),
            "customers": dict(store.scan()),
            "dead": [dataclasses.asdict(item) for item in store.dead_deliveries()],
            # their reprs: the dataclasses hold tuples, and keys JSON has no form for
            "record_aggregates": repr(store.record_aggregates()),
            "transition_aggregates": repr(store.transition_aggregates()),
        }
    finally:
        store.close()


def main() -> None:
    for path in (STORE, Path(f"{STORE}-wal"), Path(f"{STORE}-shm"), Path(f"{STORE}.lock")):
        path.unlink(missing_ok=True)
    write_bundle(bundle_files([JOURNEYS]), BUNDLE)
    url = f"sqlite:///{STORE}"
    events = example_events(12)
    engine = Engine.open(str(BUNDLE), store=url, batch=7)
    half = len(events) // 2
    for event in events[:half]:
        engine.process(event)
    engine.store.flush()
    printed = engine.store.take_deliverable()  # what `run` printed: the mark is written with the next commit
    for event in events[half:]:
        engine.process(event)
    engine.advance(last_time(events))
    engine.close()
    worker = open_store(url, mode="deliver")
    first = worker.claim_outbox(6, 60.0)
    worker.outbox_delivered([item.seq for item in first[:4]])  # in order past the mark: the floor moves
    worker.outbox_retry(first[4].seq, 1, 0.0, "sink down")  # retry due at once
    worker.outbox_dead(first[5].seq, 3, "refused")
    later = worker.claim_outbox(4, 0.0)  # the retried record again, then three new ones; their lease ends at once
    worker.outbox_delivered([later[3].seq])  # out of order
    held = worker.claim_outbox(1, 10.0**9)  # claimed, with a lease that outlives the test
    worker.close()
    result = answers(url)
    result.update(
        printed=len(printed),
        claimed=[[item.seq for item in batch] for batch in (first, later, held)],
        until=last_time(events),
        events_in=events,
    )
    ANSWERS.write_text(json.dumps(result, sort_keys=True, indent=None) + "\n")
    with sqlite3.connect(STORE) as db:  # one small file, checkpointed: no -wal beside it
        db.execute("VACUUM")
    db.close()
    for path in (Path(f"{STORE}-wal"), Path(f"{STORE}-shm"), Path(f"{STORE}.lock")):
        path.unlink(missing_ok=True)
    print(f"wrote {STORE} ({STORE.stat().st_size} bytes), {len(result['actions'])} records", file=sys.stderr)


if __name__ == "__main__":
    main()
