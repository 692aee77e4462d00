"""Migrations at run time: an instance of an older version moves onto the step its journey's latest version names
(`migrate from V { old -> new }`) at the next event or timer that reaches it, with a `migrate` record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runtime_support import build_bundle

from journeydsl.runtime import Engine, EngineError, MemoryStore

JOURNEY = """
schema s {
  profile { email: string  consent_email: bool }
  event quote { roof: number }
  event signed { amount: number }
  channel email { cost 0.002 requires profile.consent_email }
}
journey solar {
  version VERSION
  owner "o@x"
  uses s
  entry on quote
  stage request {
    step hello { send email hello -> WAITING }
    step WAITING { wait { on signed -> won  after AFTER -> lost } }
    step won { end converted }
    step lost { end lost }
  }
}
"""


def _v(tmp_path: Path, version: int, waiting: str, after: str, moves: dict[str, str] | None = None) -> Any:
    text = JOURNEY.replace("VERSION", str(version)).replace("WAITING", waiting).replace("AFTER", after)
    bundle = build_bundle(tmp_path / f"v{version}", [text])
    if moves is not None:  # the migration as the compiler writes it: old step name -> new step id
        from journeydsl.runtime.bundle import load_bundle

        loaded = load_bundle(bundle) if isinstance(bundle, dict) else bundle
        plan = loaded.plans[("solar", version)]
        ids = {step["name"]: step["id"] for step in plan["steps"]}
        plan["migrations"] = [{"from": 1, "moves": {old: ids[new] for old, new in moves.items()}, "keep": []}]
        return loaded
    return bundle


def _quote(n: int, at: str) -> dict[str, Any]:
    return {
        "id": f"q{n}",
        "type": "quote",
        "customer_id": f"c{n}",
        "at": at,
        "data": {"roof": 5},
        "profile": {"consent_email": True, "email": "x@y"},
    }


def test_instances_migrate_at_their_next_event_or_timer(tmp_path: Path) -> None:
    store = MemoryStore()
    old = Engine.open(_v(tmp_path, 1, "waiting", "3d"), store=store)
    old.process(_quote(0, "2026-01-01T10:00:00Z"))
    old.process(_quote(1, "2026-01-01T10:00:00Z"))
    unmigrated = _v(tmp_path / "plain", 2, "pending", "5d")
    with pytest.raises(EngineError, match="solar v1 \\(2 in flight\\)"):
        Engine.open(unmigrated, store=store)
    new = Engine.open(_v(tmp_path, 2, "pending", "5d", {"waiting": "pending"}), store=store)
    records = new.process(
        {"id": "s0", "type": "signed", "customer_id": "c0", "at": "2026-01-02T10:00:00Z", "data": {"amount": 1}}
    )
    assert [(r["kind"], r["version"], r["step"]) for r in records] == [("migrate", 1, "waiting"), ("end", 2, "won")]
    assert records[0]["to_version"] == 2 and records[0]["to_step"] == "pending"
    # c1's old timer (3d) comes due: it migrates, and the new step's 5d counts from when c1 began waiting
    records = new.advance("2026-01-04T12:00:00Z")
    assert [(r["kind"], r["customer_id"]) for r in records] == [("migrate", "c1")]
    assert new.advance("2026-01-06T09:59:59Z") == []
    records = new.advance("2026-01-06T10:00:00Z")
    assert [(r["kind"], r["version"], r["step"], r["outcome"]) for r in records] == [("end", 2, "lost", "lost")]


def test_a_step_the_migration_does_not_name_is_still_an_orphan(tmp_path: Path) -> None:
    store = MemoryStore()
    Engine.open(_v(tmp_path, 1, "waiting", "3d"), store=store).process(_quote(0, "2026-01-01T10:00:00Z"))
    with pytest.raises(EngineError, match="solar v1 \\(1 in flight\\)"):
        Engine.open(_v(tmp_path, 2, "pending", "5d", {"hello": "pending"}), store=store)


def test_plan_reports_migrated_versions(tmp_path: Path) -> None:
    from journeydsl.runtime.inflight import in_flight
    from journeydsl.runtime.rollout import MIGRATED, ORPHANED, plan_rollout, rollout_text

    store = MemoryStore()
    Engine.open(_v(tmp_path, 1, "waiting", "3d"), store=store).process(_quote(0, "2026-01-01T10:00:00Z"))
    migrating = _v(tmp_path, 2, "pending", "5d", {"waiting": "pending"})
    found = plan_rollout(dict(migrating.plans), store.plans(), in_flight(store))
    assert [(v.version, v.fate, v.customers) for v in found.versions] == [(1, MIGRATED, 1)] and found.orphans == 0
    assert "solar v1 (1 in flight): migrated to the new version" in rollout_text(found)
    partial = _v(tmp_path / "partial", 2, "pending", "5d", {"hello": "pending"})
    found = plan_rollout(dict(partial.plans), store.plans(), in_flight(store))
    assert [(v.fate, v.customers) for v in found.versions] == [(ORPHANED, 1)] and found.orphans == 1
