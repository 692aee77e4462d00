"""Migrations at run time: an instance of an older version moves onto the step its journey's latest version names
(`migrate from V { old -> new }`) at the next event or timer that reaches it, with a `migrate` record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runtime_support import build_bundle
from test_runtime_live_changes import JOURNEY

from journeydsl.runtime import Engine, EngineError, MemoryStore


def _v(tmp_path: Path, version: int, waiting: str, after: str, moves: dict[str, str] | None = None) -> Any:
    text = JOURNEY.replace("VERSION", str(version)).replace("waiting", waiting).replace("after 3d", f"after {after}")
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
    assert "solar v1 (1 in flight): migrated" in rollout_text(found)
    partial = _v(tmp_path / "partial", 2, "pending", "5d", {"hello": "pending"})
    found = plan_rollout(dict(partial.plans), store.plans(), in_flight(store))
    assert [(v.fate, v.customers) for v in found.versions] == [(ORPHANED, 1)] and found.orphans == 1


FIXTURES = Path(__file__).parent.parent / "migration" / "fixtures"


def _cli(*arguments: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from journeydsl.cli import main

    result = CliRunner().invoke(main, list(arguments))
    return result.exit_code, result.stdout, result.stderr


def test_a_migration_moves_customers_in_flight_end_to_end(tmp_path: Path) -> None:
    import json

    schema, v1_source, v2_source = (
        FIXTURES / "schema.journey",
        FIXTURES / "booking.v1.journey",
        FIXTURES / "booking.journey",
    )
    v1, v2 = tmp_path / "v1.jbundle", tmp_path / "v2.jbundle"
    assert _cli("build", str(schema), str(v1_source), "-o", str(v1))[0] == 0
    store = f"sqlite:///{tmp_path / 'state.db'}"
    lines = [
        {"id": "e1", "type": "signed_up", "customer_id": "c2", "at": "2026-01-01T00:00:00Z", "data": {"plan": "a"}},
        {"id": "e2", "type": "signed_up", "customer_id": "c0", "at": "2026-01-06T00:00:00Z", "data": {"plan": "a"}},
        {"id": "e3", "type": "signed_up", "customer_id": "c1", "at": "2026-01-06T00:00:00Z", "data": {"plan": "a"}},
    ]
    first = tmp_path / "a.jsonl"
    first.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert _cli("run", str(v1), "--events", str(first), "--store", store, "--max-skew", "none")[0] == 0
    code, text, _ = _cli("status", "--store", store)
    assert "await_booking" in text and "last_call" in text  # c0 and c1 wait for a booking, c2 is at the last call
    # `keep last_call` needs version 1 in the bundle: built with --keep, which also proves the migration
    code, out, err = _cli("build", str(schema), str(v2_source), "-o", str(v2), "--keep", str(v1))
    assert code == 0, err
    code, text, _ = _cli("plan", str(v2), "--store", store)
    assert code == 0 and "booking v1 (3 in flight): migrated" in text
    second = tmp_path / "b.jsonl"
    booked = {"id": "e4", "type": "booked", "customer_id": "c0", "at": "2026-01-07T00:00:00Z", "data": {"slot": "x"}}
    second.write_text(json.dumps(booked) + "\n", encoding="utf-8")
    code, out, err = _cli("run", str(v2), "--events", str(second), "--store", store, "--until", "2026-01-20T00:00:00Z")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    moved = [(r["customer_id"], r["step"], r["to_step"], r["at"]) for r in records if r["kind"] == "migrate"]
    assert moved == [
        ("c0", "await_booking", "await_booking_v2", "2026-01-07T00:00:00Z"),  # at its next event
        ("c1", "await_booking", "await_booking_v2", "2026-01-09T00:00:00Z"),  # at its old timer (3d)
    ]
    ends = {r["customer_id"]: (r["version"], r["step"], r["at"]) for r in records if r["kind"] == "end"}
    assert ends == {
        "c0": (2, "done", "2026-01-07T00:00:00Z"),
        "c1": (2, "done", "2026-01-16T00:00:00Z"),  # v2's 10 days, counted from when c1 began waiting
        "c2": (1, "done", "2026-01-13T00:00:00Z"),  # kept on version 1: its last call's 7 days
    }
