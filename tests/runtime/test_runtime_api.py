"""The Python API around the engine: Event objects, epoch times, bundle sources, orphaned versions."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_support import build_bundle

from journeydsl.compile import write_bundle
from journeydsl.runtime import Engine, EngineError, Event, MemoryStore
from journeydsl.runtime.bundle import BundleError

JOURNEY = """
schema s {
  profile { email: string }
  event start {}
  event go {}
  channel push { cost 0 }
}
journey j {
  version VERSION
  owner "o@x"
  uses s
  entry on start
  stage recognize {
    step waiting { wait { on go -> done  after 1d -> done } }
    step done { end ok }
  }
}
"""


def test_event_objects_epoch_times_and_bundle_sources(tmp_path: Path) -> None:
    files = build_bundle(tmp_path / "src", [JOURNEY.replace("VERSION", "1")])
    path = write_bundle(files, tmp_path / "b.jbundle")
    for source in (files, path, str(path)):
        engine = Engine.open(source)
        records = engine.process(Event(id="1", type="start", customer_id="c1", at="2026-01-01T10:00:00Z"))
        assert [r["kind"] for r in records] == ["enter"]
        assert engine.instances("c1")[0]["step"] == "waiting"
        assert [r["kind"] for r in engine.advance(1767261600 + 86400)] == ["end"]
    with pytest.raises(BundleError):
        Engine.open(tmp_path / "missing.jbundle")
    with pytest.raises(ValueError):
        Engine.open(files).advance("tomorrow")


def test_a_bundle_that_would_orphan_instances_is_refused_unless_allowed(tmp_path: Path) -> None:
    store = MemoryStore()
    old = Engine.open(build_bundle(tmp_path / "v1", [JOURNEY.replace("VERSION", "1")]), store=store)
    old.process({"id": "1", "type": "start", "customer_id": "c1", "at": "2026-01-01T10:00:00Z"})
    newer = build_bundle(tmp_path / "v2", [JOURNEY.replace("VERSION", "2")])
    with pytest.raises(EngineError, match=r"lacks versions .*: j v1 \(1 in flight\).*--keep"):
        Engine.open(newer, store=store)
    new = Engine.open(newer, store=store, allow_orphans=True)
    assert [(r["kind"], r["version"], r["outcome"]) for r in new.orphaned] == [("end", 1, "orphaned")]
    assert "not in the bundle" in new.orphaned[0]["reason"]
    assert new.process({"id": "2", "type": "go", "customer_id": "c1", "at": "2026-01-01T11:00:00Z"}) == []
    again = new.process({"id": "3", "type": "start", "customer_id": "c1", "at": "2026-01-01T12:00:00Z"})
    assert again == []  # reentry never: the ended instance still counts as the customer's one entry
    with pytest.raises(EngineError, match=r"rolls back j v1 \(the store ran v2\)"):
        Engine.open(build_bundle(tmp_path / "v1b", [JOURNEY.replace("VERSION", "1")]), store=store)
    Engine.open(build_bundle(tmp_path / "v1c", [JOURNEY.replace("VERSION", "1")]), store=store, allow_rollback=True)


def test_an_event_no_journey_listens_to_changes_nothing_but_its_profile_patch(tmp_path: Path) -> None:
    text = JOURNEY.replace("VERSION", "1").replace("event go {}", "event go {}\n  event viewed { path: string }")
    engine = Engine.open(build_bundle(tmp_path / "src", [text]), store=MemoryStore())
    store = engine.store
    engine.process({"id": "1", "type": "start", "customer_id": "c1", "at": "2026-01-01T10:00:00Z"})
    # no patch: no customer state, no seen id (a repeat has no effect either), but due timers still fire first
    fired = engine.process(
        {"id": "2", "type": "viewed", "customer_id": "c2", "at": "2026-01-03T10:00:00Z", "data": {"path": "/"}}
    )
    assert [(r["kind"], r["customer_id"]) for r in fired] == [("end", "c1")]
    assert "c2" not in store.customers and "2" not in store.seen
    # still checked against the schema
    engine.process(
        {"id": "3", "type": "viewed", "customer_id": "c2", "at": "2026-01-03T10:00:00Z", "data": {"path": 1}}
    )
    assert [d["reason"] for d in engine.dead_letters] == ["data.path must be string, got number 1"]
    # with a patch: the profile changes, and the id is kept so a replayed stale patch cannot undo a later one
    patched = {
        "id": "4",
        "type": "viewed",
        "customer_id": "c2",
        "at": "2026-01-04T10:00:00Z",
        "profile": {"email": "a@x"},
    }
    assert engine.process(patched) == []
    assert engine.profile("c2") == {"email": "a@x"} and "4" in store.seen
    engine.process(
        {"id": "5", "type": "viewed", "customer_id": "c2", "at": "2026-01-05T10:00:00Z", "profile": {"email": "b@x"}}
    )
    engine.process(patched)
    assert engine.profile("c2") == {"email": "b@x"}
