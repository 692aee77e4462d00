"""The runtime of a schema's contact policy (issue 19): shared caps across journeys, decided by priority after a
settle time of event time, so the winner of a contested slot never depends on the order events come in; on every
store and in every driver of the step core (the engine, the Flink job's keyed driver)."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_support import (
    COMPETING,
    T0,
    by_key,
    email_sends,
    engine_records,
    keyed_records,
    policy,
    policy_bundle,
    visit,
)

from journeydsl.cli import main
from journeydsl.compile import write_bundle
from journeydsl.runtime import Core, Engine, EngineError, MemoryStore, Timer, step
from journeydsl.runtime import state as S
from journeydsl.runtime.bundle import load_bundle
from journeydsl.runtime.core import OFFER_LIMIT
from journeydsl.runtime.store import StoreError
from journeydsl.runtime.store_sqlite import _customer_problem
from journeydsl.service.ingest import EventBatch, Worker, WorkerSettings
from journeydsl.service.metrics import ServiceMetrics

DAY = 86400.0
WEEK = 7 * DAY
# Journey -> the `visit` number it enters on, and its place in the default priority ("winback", "promo"): `nudge`
# and `slow` are not listed, so they come after both, in that (name) order at one send time.
NUMBER = {"promo": 1, "winback": 2, "nudge": 3, "slow": 4}
DELAY = {"slow": 10.0}  # `slow` sends from a timer 10 s after its visit


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    made = {
        "one": policy(),
        "two": policy(max_sends=2),
        "delay": policy(conflict="delay"),
        "experiences": policy(priority=("rescue",), kind="experiences"),
        "quiet": policy(max_sends=5, quiet=("22:00", "07:00")),
        "none": None,
    }
    return {name: policy_bundle(tmp_path_factory.mktemp(name), contact) for name, contact in made.items()}


def _events(times: dict[str, float], customer: str = "c1") -> list[dict[str, Any]]:
    return [visit(f"{customer}-{j}", NUMBER[j], T0 + t, customer) for j, t in sorted(times.items())]


def _decision_order(times: dict[str, float], ranks: dict[str, int]) -> list[str]:
    """The order the journeys' sends are decided in: priority rank, then send time, then name."""
    return sorted(times, key=lambda j: (ranks.get(j, len(ranks)), times[j] + DELAY.get(j, 0.0), j))


# --------------------------------------------------------------------------- the done-when property

# Journeys that send at their event: a timer's send time may itself depend on the order (a timer that fell due
# before the stream's clock fires at the clock, decisions.md), so `slow` competes in the explicit orders below.
competitors = st.dictionaries(
    st.sampled_from(["nudge", "promo", "winback"]),
    st.integers(min_value=0, max_value=59),  # inside the 1 min settle window of the earliest
    min_size=2,
    max_size=3,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(times=competitors, mode=st.sampled_from(["one", "two", "delay"]), data=st.data())
def test_the_winner_does_not_depend_on_the_event_order(
    bundles: dict[str, dict[str, bytes]], times: dict[str, int], mode: str, data: st.DataObject
) -> None:
    files = bundles[mode]
    seconds = {j: float(t) for j, t in times.items()}
    events = _events(seconds)
    shuffled = data.draw(st.permutations(events))
    until = T0 + 2 * WEEK
    reference = by_key(engine_records(files, events, until))
    assert by_key(engine_records(files, shuffled, until)) == reference
    assert by_key(keyed_records(files, shuffled, until)) == reference
    order = _decision_order(seconds, {"winback": 0, "promo": 1})
    winners = order[: 2 if mode == "two" else 1]
    sends = email_sends(reference.values())
    assert {j for j, (status, _) in sends.items() if status == "sent"} == set(winners)
    # The latest counted send holds the slot (at one time, the one decided last took the last slot).
    held = max(winners, key=lambda j: (seconds[j], order.index(j)))
    for journey, (status, holder) in sends.items():
        if journey in winners:
            continue
        if mode == "delay":  # a delayed send is booked when its slot frees: the next one waits for it
            assert status == "delayed" and holder in sends and holder != journey
        else:
            assert (status, holder) == ("suppressed", held)


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgresql"])
def test_every_order_gives_the_same_records_on_every_store(
    bundles: dict[str, dict[str, bytes]], kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    files = bundles["one"]
    events = _events({"promo": 0.0, "winback": 30.0, "nudge": 5.0})
    events.append(visit("late", NUMBER["slow"], T0 + 20.0))  # a send from a timer competes as well
    until = T0 + 2 * WEEK
    reference = by_key(engine_records(files, events, until))
    assert email_sends(reference.values()) == {
        "winback": ("sent", None),
        "promo": ("suppressed", "winback"),
        "nudge": ("suppressed", "winback"),
        "slow": ("suppressed", "winback"),
    }
    for number, order in enumerate(itertools.permutations(events)):
        if kind == "memory":
            url = "memory://"
        elif kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'order{number}.db'}"
        else:
            url = f"{request.getfixturevalue('postgres_url')}?schema=policy_{number}_{id(order) % 10_000}"
        assert by_key(engine_records(files, list(order), until, store=url)) == reference, order
        assert by_key(keyed_records(files, list(order), until)) == reference, order


def test_pending_sends_survive_a_restart_of_a_durable_store(
    bundles: dict[str, dict[str, bytes]], tmp_path: Path
) -> None:
    """`run --until` before the settle time: the sends are in flight; the next run decides them."""
    files = bundles["one"]
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = engine_records(files, _events({"promo": 0.0, "winback": 30.0}), T0 + 50.0, store=url)
    assert email_sends(first) == {}
    engine = Engine.open(files, store=url)
    try:
        customer = engine.store.load("c1")
        assert customer is not None
        assert [offer[S.OFFER_JOURNEY] for offer in customer["c"][S.OFFERS]] == ["promo", "winback"]
        later = engine.advance(T0 + 60.0)
    finally:
        engine.close()
    assert email_sends(later) == {"winback": ("sent", None), "promo": ("suppressed", "winback")}


def test_a_waiting_send_whose_policy_is_gone_goes_out_as_made(
    bundles: dict[str, dict[str, bytes]], tmp_path: Path
) -> None:
    """A new bundle without the policy (a live change) while sends wait: they are not lost, nor held back."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine_records(bundles["one"], _events({"promo": 0.0, "winback": 30.0}), T0 + 50.0, store=url)
    later = engine_records(bundles["none"], [], T0 + 120.0, store=url)
    assert email_sends(later) == {"promo": ("sent", None), "winback": ("sent", None)}


# --------------------------------------------------------------------------- the policy's rules one by one


def test_the_priority_may_name_experiences(bundles: dict[str, dict[str, bytes]]) -> None:
    records = engine_records(bundles["experiences"], _events({"promo": 0.0, "winback": 30.0}), T0 + WEEK)
    assert email_sends(records) == {"winback": ("sent", None), "promo": ("suppressed", "winback")}


def test_a_policy_written_in_the_schema_is_the_one_that_runs(tmp_path: Path) -> None:
    text = COMPETING.replace(
        "channel push { cost 0 }",
        """channel push { cost 0 }
  policy {
    cap email 1 per 7d across journeys
    priority journeys [promo, winback]
    settle 30s
    conflict delay
  }""",
    )
    files = policy_bundle(tmp_path, None, text, written=True)
    assert Core(load_bundle(files)).policies["shop"].settle == 30.0
    events = _events({"promo": 20.0, "winback": 0.0})
    records = engine_records(files, events, T0 + 2 * WEEK)
    assert email_sends(records) == {"promo": ("sent", None), "winback": ("delayed", "promo")}
    assert by_key(keyed_records(files, events[::-1], T0 + 2 * WEEK)) == by_key(records)


def test_without_a_priority_the_earlier_send_wins(tmp_path: Path) -> None:
    files = policy_bundle(tmp_path, policy(priority=None))
    records = engine_records(files, _events({"promo": 30.0, "winback": 0.0}), T0 + WEEK)
    assert email_sends(records) == {"winback": ("sent", None), "promo": ("suppressed", "winback")}
    records = engine_records(files, _events({"promo": 0.0, "winback": 0.0}), T0 + WEEK)
    assert email_sends(records) == {"promo": ("sent", None), "winback": ("suppressed", "promo")}


def test_a_send_outside_the_window_takes_a_new_slot(bundles: dict[str, dict[str, bytes]]) -> None:
    records = engine_records(bundles["one"], _events({"promo": 0.0, "winback": WEEK + 1}), T0 + 3 * WEEK)
    assert email_sends(records) == {"promo": ("sent", None), "winback": ("sent", None)}
    # ... and one inside it loses even when it ranks first: the slot was taken before it was made.
    records = engine_records(bundles["one"], _events({"promo": 0.0, "winback": DAY}), T0 + 3 * WEEK)
    assert email_sends(records) == {"promo": ("sent", None), "winback": ("suppressed", "promo")}


def test_delay_books_the_send_when_a_slot_frees(bundles: dict[str, dict[str, bytes]]) -> None:
    events = _events({"promo": 0.0, "winback": 20.0}) + [visit("again", NUMBER["nudge"], T0 + DAY)]
    records = engine_records(bundles["delay"], events, T0 + 4 * WEEK)
    sends = {r["journey"]: r for r in records if r["kind"] == "send" and r["channel"] == "email"}
    assert sends["winback"]["status"] == "sent"
    assert (sends["promo"]["status"], sends["promo"]["held_by"]) == ("delayed", "winback")
    assert sends["promo"]["at"] == "2026-01-08T00:00:20Z"  # winback's send + 7d
    assert sends["promo"]["body"] == "email/promo_mail for c1@x"
    # The delayed send holds its slot from then on: the next one waits for it.
    assert (sends["nudge"]["status"], sends["nudge"]["held_by"]) == ("delayed", "promo")
    assert sends["nudge"]["at"] == "2026-01-15T00:00:20Z"


def test_the_policy_quiet_hours_apply_to_every_send(bundles: dict[str, dict[str, bytes]]) -> None:
    late = 22 * 3600.0 + 30 * 60  # 22:30 UTC
    records = engine_records(bundles["quiet"], _events({"nudge": late}), T0 + WEEK)
    sends = {(r["channel"], r["status"], r["at"]) for r in records if r["kind"] == "send"}
    assert sends == {("push", "delayed", "2026-01-02T07:00:00Z"), ("email", "delayed", "2026-01-02T07:00:00Z")}
    # In the customer's own zone: 22:30 UTC is 23:30 in Berlin, quiet until 07:00 there (06:00 UTC).
    event = visit("berlin", NUMBER["nudge"], T0 + late, tz="Europe/Berlin")
    records = engine_records(bundles["quiet"], [event], T0 + WEEK)
    assert {r["at"] for r in records if r["kind"] == "send"} == {"2026-01-02T06:00:00Z"}


def test_consent_is_decided_at_the_step(bundles: dict[str, dict[str, bytes]]) -> None:
    engine = Engine(load_bundle(bundles["one"]), MemoryStore())
    first = engine.process(visit("e1", NUMBER["promo"], T0, ok=False))
    assert [(r["status"], r["reason"]) for r in first if r["kind"] == "send"] == [("suppressed", "consent")]
    engine.process(visit("e2", NUMBER["winback"], T0 + 10))
    later = engine.advance(T0 + WEEK)
    assert email_sends(later) == {"winback": ("sent", None)}  # the suppressed send held no slot


def test_a_journeys_own_cap_gives_back_a_send_the_policy_suppressed(bundles: dict[str, dict[str, bytes]]) -> None:
    engine = Engine(load_bundle(bundles["one"]), MemoryStore())
    engine.process(visit("w", NUMBER["winback"], T0))
    engine.process(visit("n1", NUMBER["nudge"], T0 + 10))
    # nudge's own cap (1 per 7d) counts its waiting send at once, as it counts any send it made.
    second = engine.process(visit("n2", NUMBER["nudge"], T0 + 20))
    assert [(r["status"], r["reason"]) for r in second if r.get("channel") == "email"] == [("suppressed", "cap")]
    decided = engine.advance(T0 + 2 * 60)
    assert [(r["journey"], r["status"], r.get("held_by")) for r in decided] == [
        ("winback", "sent", None),
        ("nudge", "suppressed", "winback"),
    ]
    customer = engine.store.load("c1")
    assert customer is not None
    assert customer["c"]["nudge|email"] == []  # it did not go out: nudge may send again
    assert customer["c"]["@shop|email"] == [[T0, "winback"]]
    assert S.OFFERS not in customer["c"]


def test_a_channel_the_policy_does_not_cap_goes_out_at_once(bundles: dict[str, dict[str, bytes]]) -> None:
    engine = Engine(load_bundle(bundles["one"]), MemoryStore())
    records = engine.process(visit("n", NUMBER["nudge"], T0))
    assert [(r["channel"], r["status"]) for r in records if r["kind"] == "send"] == [("push", "sent")]


def test_next_due_covers_a_waiting_send(bundles: dict[str, dict[str, bytes]]) -> None:
    core = Core(load_bundle(bundles["one"]))
    result = step(None, visit("e", NUMBER["promo"], T0 + 5), core, None)
    assert [r["kind"] for r in result.records] == ["enter", "end"]
    assert result.next_due == T0 + 65  # its send time + settle (1 min)
    early = step(result.state, Timer("c1", T0 + 64), core, T0 + 64)
    assert early.records == [] and early.next_due == T0 + 65
    fired = step(result.state, Timer("c1", T0 + 65), core, T0 + 65)
    assert email_sends(fired.records) == {"promo": ("sent", None)}
    assert fired.next_due is None


def test_a_schema_without_a_policy_sends_at_once(bundles: dict[str, dict[str, bytes]]) -> None:
    engine = Engine(load_bundle(bundles["none"]), MemoryStore())
    records = engine.process(visit("e", NUMBER["promo"], T0))
    assert email_sends(records) == {"promo": ("sent", None)}
    customer = engine.store.load("c1")
    assert customer is not None and customer["c"] == {}


def test_waiting_sends_are_bounded(bundles: dict[str, dict[str, bytes]]) -> None:
    engine = Engine(load_bundle(bundles["one"]), MemoryStore())
    errors = []
    for number in range(OFFER_LIMIT + 1):
        for record in engine.process(visit(f"e{number}", NUMBER["promo"], T0)):
            if record["kind"] == "error":
                errors.append(record)
    assert len(errors) == 1 and "more than 1000 sends" in errors[0]["reason"]
    decided = [r for r in engine.advance(T0 + 60) if r["kind"] == "send"]
    assert len(decided) == OFFER_LIMIT
    assert sum(r["status"] == "sent" for r in decided) == 1


def test_a_bundle_whose_journeys_disagree_on_the_policy_is_refused(tmp_path: Path) -> None:
    one = load_bundle(policy_bundle(tmp_path / "a", policy()))
    two = load_bundle(policy_bundle(tmp_path / "b", policy(max_sends=2)))
    plans = dict(one.plans)
    plans[("promo", 1)] = two.plans[("promo", 1)]
    mixed = SimpleNamespace(plans=plans, index=one.index, templates=one.templates)
    with pytest.raises(EngineError, match=r"different contact policies \(schema shop: nudge, promo, slow, winback\)"):
        Core(mixed)


def test_the_stores_check_the_policy_state() -> None:
    offer = [T0 + 60, T0, 0, "promo", "shop", "email", None, {"key": "k"}]
    assert _customer_problem({}, {"@offers": [offer], "@shop|email": [[T0, "promo"]], "promo|email": [T0]}) is None
    assert "not [time, journey] pairs" in str(_customer_problem({}, {"@shop|email": [T0]}))
    assert "waiting send" in str(_customer_problem({}, {"@offers": [offer[:-1]]}))
    assert "not a list" in str(_customer_problem({}, {"@offers": {}}))


def test_a_damaged_waiting_send_in_sqlite_is_refused(bundles: dict[str, dict[str, bytes]], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine_records(bundles["one"], _events({"promo": 0.0}), T0 + 10, store=url)
    with sqlite3.connect(tmp_path / "store.db") as db:
        (state,) = db.execute("SELECT state FROM customers WHERE id = 'c1'").fetchone()
        db.execute("UPDATE customers SET state = ? WHERE id = 'c1'", (state.replace(b'"shop"', b"7"),))
    engine = Engine.open(bundles["one"], store=url)
    try:
        with pytest.raises(StoreError, match="waiting send"):
            engine.advance(T0 + 60)
    finally:
        engine.close()


# --------------------------------------------------------------------------- through the CLI and serve's worker


def test_journeydsl_run_decides_by_the_policy_in_any_order(
    bundles: dict[str, dict[str, bytes]], tmp_path: Path
) -> None:
    bundle = write_bundle(bundles["one"], tmp_path / "b.jbundle")
    events = _events({"promo": 0.0, "winback": 30.0, "nudge": 10.0})
    outputs = []
    for number, order in enumerate((events, events[::-1])):
        path = tmp_path / f"events{number}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in order), encoding="utf-8")
        arguments = ["run", str(bundle), "--events", str(path), "--until", "2026-01-02T00:00:00Z"]
        result = CliRunner().invoke(main, arguments)
        assert result.exit_code == 0, result.output
        outputs.append(by_key(json.loads(line) for line in result.stdout.splitlines() if line.strip()))
    assert outputs[0] == outputs[1]
    assert email_sends(outputs[0].values()) == {
        "winback": ("sent", None),
        "promo": ("suppressed", "winback"),
        "nudge": ("suppressed", "winback"),
    }
    # Without --until the sends are still waiting when the events end: in flight, not lost.
    result = CliRunner().invoke(main, ["run", str(bundle), "--events", str(tmp_path / "events0.jsonl")])
    assert result.exit_code == 0, result.output
    assert '"channel":"email"' not in result.stdout.replace(" ", "")


def test_serves_worker_fires_waiting_sends_on_its_wall_clock(bundles: dict[str, dict[str, bytes]]) -> None:
    """`serve` drives the same engine: an event batch makes the sends wait, its wall-clock timer run decides them
    once the settle time has passed (the worker's own methods, without threads or HTTP)."""
    engine = Engine(load_bundle(bundles["one"]), MemoryStore())
    clock = [T0 + 30.0]
    worker = Worker(engine, lambda bundle: engine, ServiceMetrics(), WorkerSettings(clock="wall"), now=lambda: clock[0])
    batch = EventBatch(events=list(enumerate(_events({"promo": 0.0, "winback": 30.0}), start=1)), dead=[])
    assert worker._events(batch).accepted == 2
    worker._wall_timers()
    assert email_sends(engine.store.actions()) == {}
    clock[0] = T0 + 61.0
    worker._wall_timers()
    assert email_sends(engine.store.actions()) == {
        "winback": ("sent", None),
        "promo": ("suppressed", "winback"),
    }
