"""Runtime behaviour as data: every tests/runtime/cases/*.yaml runs through the real engine.

A case holds `note`, `journey` (DSL text; `journey_next` for a newer bundle), optional `templates`
({"email/welcome": "text"}), `force` (all customers), `force_customers` (per customer), `profile`
(customer id -> profile patch applied by the first event of that customer), `events` (events;
`{advance: TIME}`; `{reopen: true}` reopens the engine on the same store with a bundle holding both
`journey` and `journey_next`; `{raw: ANY}` passes a value as is), and the wants: `want` (the
records, in order, each given as a subset of its fields; `only: [kinds]` limits the comparison to
those kinds), `want_dead` (reason substrings, in order), `want_profile` (customer id -> subset of
the stored profile).

SPEC 8.2 rules and the cases that cover them:
  entry on event, where, audience ............ entry_where_audience
  reentry never / always / after D ........... reentry_never, reentry_always, reentry_after
  instance keys .............................. instance_key
  version pinning (also on reopen) ........... version_pinning
  entry event never advances its instance .... entry_not_advancing
  exits checked first; exit where ............ exit_first
  actions then flow; instant chain ........... instant_chain
  step limit ................................. step_limit
  wait: first matching arm wins, guards ...... wait_arms
  timers on event time, before later events .. timers_event_time
  `at EXPR` timeout; `wait D -> step` ........ wait_at_and_sleep
  experiment assignment, force, variant ...... experiment_force
  goals: within, once per instance, value .... goals
  consent suppression ........................ consent
  cap suppression ............................ cap
  quiet hours (UTC and customer-local) ....... quiet_hours
  idempotency: seen ids, stable keys ......... idempotency
  set updates the profile; profile patch ..... set_and_patch
  emit feeds other journeys .................. emit
  dead letters ............................... dead_letters
  runtime expression errors, null safety ..... expr_errors
  template render failure .................... render_failure
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from runtime_support import build_bundle

from journeydsl.runtime import Engine, MemoryStore

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def _event(item: dict[str, Any], number: int, profiles: dict[str, Any], patched: set[str]) -> Any:
    if "raw" in item:
        return item["raw"]
    event = {
        "id": str(item.get("id", f"e{number}")),
        "type": item["type"],
        "customer_id": str(item.get("customer_id", "c1")),
        "at": item["at"],
        "data": item.get("data", {}),
    }
    customer = event["customer_id"]
    patch = dict(profiles.get(customer, {})) if customer not in patched else {}
    patched.add(customer)
    patch.update(item.get("profile", {}))
    if patch:
        event["profile"] = patch
    return event


def _subset(want: Any, got: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and _subset(v, got[k]) for k, v in want.items())
    return bool(want == got)


def run_case(case: dict[str, Any], tmp_path: Path) -> tuple[list[dict[str, Any]], Engine]:
    texts = [case["journey"]]
    bundle = build_bundle(tmp_path / "one", texts, case.get("templates"))
    store = MemoryStore()
    engine = Engine.open(bundle, store=store, force=case.get("force"))
    for customer, variants in (case.get("force_customers") or {}).items():
        engine.set_force(str(customer), variants)
    records: list[dict[str, Any]] = []
    profiles = {str(k): v for k, v in (case.get("profile") or {}).items()}
    patched: set[str] = set()
    for number, item in enumerate(case.get("events", []), start=1):
        if "advance" in item:
            records += engine.advance(str(item["advance"]))
        elif "reopen" in item:
            both = build_bundle(tmp_path / "two", [case["journey"], case["journey_next"]], case.get("templates"))
            dead = engine.dead_letters
            engine = Engine.open(both, store=store, force=case.get("force"))
            engine.dead_letters = dead
        else:
            records += engine.process(_event(item, number, profiles, patched))
    return records, engine


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    records, engine = run_case(case, tmp_path)
    only = case.get("only")
    shown = [r for r in records if only is None or r["kind"] in only]
    listing = "\n".join(str(r) for r in shown)
    if "want" in case:
        wanted = case["want"]
        assert len(shown) == len(wanted), f"{case['note']}\nwanted {len(wanted)} records, got:\n{listing}"
        for index, (want, got) in enumerate(zip(wanted, shown, strict=True)):
            assert _subset(want, got), f"{case['note']}\nrecord {index}: wanted {want}\ngot:\n{listing}"
    if "want_dead" in case:
        reasons = [d["reason"] for d in engine.dead_letters]
        assert len(reasons) == len(case["want_dead"]), reasons
        for want, got in zip(case["want_dead"], reasons, strict=True):
            assert want in got, (want, got)
    for customer, profile in (case.get("want_profile") or {}).items():
        assert _subset(profile, engine.profile(str(customer))), engine.profile(str(customer))
    # Keys are unique, and a re-run of the same input gives the same records.
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)), "duplicate idempotency keys"
    again, _ = run_case(case, tmp_path / "again")
    assert again == records
