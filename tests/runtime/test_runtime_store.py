"""Stores: memory:// and sqlite:// give the same records and transitions; SQLite commits in batches, keeps
timers across a reopen, and an uncommitted batch is simply redone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runtime_support import build_bundle

from journeydsl.runtime import Engine, SqliteStore, StoreError, open_store

JOURNEY = """
schema s {
  profile { email: string }
  event start {}
  event done {}
  channel push { cost 0 }
}
journey j {
  version 1
  owner "o@x"
  uses s
  entry on start
  stage recognize {
    step hello { send push hi -> waiting }
    step waiting { wait { on done -> fin  after 2d -> late } }
    step late { end late }
    step fin { end ok }
  }
}
"""

EVENTS = [
    {"id": f"e{n}", "type": kind, "customer_id": f"c{n % 3}", "at": f"2026-01-0{1 + n // 3}T10:00:00Z"}
    for n, kind in enumerate(["start", "start", "start", "done", "start", "done"])
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_bundle(tmp_path_factory.mktemp("bundle"), [JOURNEY])


def _run(engine: Engine, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    records = [r for event in events for r in engine.process(event)]
    return records + engine.advance("2026-02-01T00:00:00Z")


def test_memory_and_sqlite_agree(bundle: Any, tmp_path: Path) -> None:
    memory = Engine.open(bundle)
    sqlite = Engine.open(bundle, store=f"sqlite:///{tmp_path / 's.db'}", batch=4)
    assert _run(memory, EVENTS) == _run(sqlite, EVENTS)
    assert list(memory.store.actions()) == list(sqlite.store.actions())
    transitions = list(sqlite.store.transitions())
    assert transitions == list(memory.store.transitions())
    assert transitions[0] == {
        "journey": "j",
        "version": 1,
        "customer_id": "c0",
        "instance": "c0/j/1",
        "from_step": None,
        "to_step": "hello",
        "at": "2026-01-01T10:00:00Z",
        "via": "start",
    }
    assert {"timer", "done", None} <= {t["via"] for t in transitions}
    sqlite.close()
    reopened = open_store(f"sqlite:///{tmp_path / 's.db'}")
    assert list(reopened.plans()) == [("j", 1)] and reopened.plans() == memory.store.plans()
    assert list(reopened.actions()) == list(memory.store.actions())
    reopened.close()


def test_sqlite_keeps_timers_and_seen_ids_across_a_reopen(bundle: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = Engine.open(bundle, store=url)
    early = [r for event in EVENTS[:3] for r in first.process(event)]
    first.close()
    second = Engine.open(bundle, store=url)
    assert second.pending_timers() == 3
    assert second.process(EVENTS[0]) == []  # seen before the reopen
    late = second.advance("2026-02-01T00:00:00Z")
    assert [r["kind"] for r in late] == ["end", "end", "end"]
    reference = _run(Engine.open(bundle), EVENTS[:3])
    assert early + late == reference
    second.close()


def test_an_uncommitted_batch_is_redone(bundle: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}?batch=100"
    crashed = Engine.open(bundle, store=url)
    for event in EVENTS:
        crashed.process(event)
    # No commit: the process "dies" here; the connection is dropped without flushing.
    assert isinstance(crashed.store, SqliteStore)
    crashed.store._db.close()
    again = Engine.open(bundle, store=url)
    assert again.store.seen == set()
    assert _run(again, EVENTS) == _run(Engine.open(bundle), EVENTS)
    again.close()


def test_unknown_store_url() -> None:
    with pytest.raises(StoreError):
        open_store("redis://x")
    with pytest.raises(StoreError):
        open_store("sqlite:///")
