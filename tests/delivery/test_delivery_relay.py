"""The relay on memory://: routing, at-least-once settling, backoff, dead deliveries, delayed sends, leases.

Time is a fake clock shared by the relay and the store (`MemoryStore.wall_clock`), so no test waits for a backoff.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from delivery_support import SECRET, call, enter, send, wait_for, webhook_receiver

from journeydsl.runtime.delivery_config import RetryPolicy, parse
from journeydsl.runtime.jsonio import dumps, dumps_lines, loads
from journeydsl.runtime.relay import Relay, RelayCounts, SinkStats, backoff_delay
from journeydsl.runtime.sinks import Outcome
from journeydsl.runtime.store import StoreError
from journeydsl.runtime.store_memory import MemoryStore
from journeydsl.runtime.timeparse import parse_time

T0 = parse_time("2026-01-02T10:00:00Z")


class Clock:
    def __init__(self, start: float = T0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t


def store_with(records: list[dict[str, Any]], clock: Clock) -> MemoryStore:
    store = MemoryStore()
    store.wall_clock = clock
    store.log_actions(records)
    return store


def hook_config(url: str, extra: str = "", path: Path | None = None) -> str:
    text = f"""
[channels.email]
sink = "webhook"
url = "{url}/email"
secret_env = "HOOK"
backoff = 10
backoff_max = 100
max_attempts = 4
{extra}
[calls.field_service]
sink = "webhook"
url = "{url}/calls"
secret_env = "HOOK"
"""
    if path is not None:
        text += f'[default]\nsink = "jsonl"\npath = "{path}"\n'
    return text


def relay(store: MemoryStore, text: str, fake: Clock, **options: Any) -> Relay:
    config = parse(text, environ={"HOOK": SECRET})
    return Relay(store, config, now=fake, jitter=lambda: 0.0, **options)


def lines(path: Path) -> list[dict[str, Any]]:
    return [loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_routing_by_channel_call_and_default(tmp_path: Path) -> None:
    clock = Clock()
    records = [
        enter(1),
        send(1),  # channels.email
        send(2, status="suppressed", reason="consent"),  # suppressed: default
        send(3, channel="sms"),  # no [channels.sms]: default
        call(4),  # calls.field_service
        call(5, name="crm_update"),  # no [calls.crm_update]: default
    ]
    store = store_with(records, clock)
    default = tmp_path / "rest.jsonl"
    with webhook_receiver() as receiver:
        r = relay(store, hook_config(receiver.url, path=default), clock)
        counts = r.run_until_idle()
        r.close()
    assert counts == RelayCounts(claimed=6, delivered=6)
    by_path = {(req.path, req.key) for req in receiver.requests}
    assert by_path == {("/email", send(1)["key"]), ("/calls", call(4)["key"])}
    assert all(req.signature_ok for req in receiver.requests)
    assert [rec["key"] for rec in lines(default)] == [records[n]["key"] for n in (0, 2, 3, 5)]
    assert store.claim_outbox(10, 60) == []  # everything settled


def test_without_a_config_every_record_goes_to_stdout_as_run_prints_it() -> None:
    clock = Clock()
    records = [enter(1), send(1), call(1), send(2, status="delayed", at="2026-01-02T11:00:00Z")]
    store = store_with(records, clock)
    out = io.BytesIO()
    r = Relay(store, now=clock, clock="event", out=out)
    assert r.run_until_idle().delivered == 4
    assert out.getvalue() == dumps_lines(records)


def test_a_failing_webhook_is_retried_with_backoff_then_delivered_once() -> None:
    clock = Clock()
    store = store_with([send(1), send(2)], clock)
    log: list[tuple[str, dict[str, Any]]] = []
    stats = SinkStats()
    with webhook_receiver(fail_first=2) as receiver:
        r = relay(store, hook_config(receiver.url), clock, log=lambda msg, f: log.append((msg, dict(f))), metrics=stats)
        first = r.run_until_idle()
        assert (first.retried, first.delivered) == (2, 0)  # both refused (503), both waiting
        clock.t += 4.9  # jitter 0: the first wait is backoff * 0.5 = 5 s
        assert r.run_until_idle().claimed == 0
        clock.t += 0.1
        second = r.run_until_idle()
        r.close()
    assert (second.claimed, second.delivered) == (2, 2)
    assert r.totals == RelayCounts(claimed=4, delivered=2, retried=2)  # every round, empty ones included
    assert [req.key for req in receiver.requests] == [send(1)["key"], send(2)["key"]] * 2
    assert receiver.keys() == [send(1)["key"], send(2)["key"]]
    assert [msg for msg, _ in log] == ["delivery retry", "delivery retry"]
    assert log[0][1]["attempts"] == 1 and "answered 503" in log[0][1]["error"]
    assert log[0][1]["not_before"] == "2026-01-02T10:00:05Z"
    assert stats.attempts["channels.email"] == 4 and stats.failures["channels.email"] == 2
    assert store.claim_outbox(10, 60) == []


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(max_attempts=20, backoff=2, backoff_max=100)
    assert [backoff_delay(n, policy, 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert [backoff_delay(n, policy, 0.999999) for n in (1, 2)] == pytest.approx([2.0, 4.0])
    assert backoff_delay(7, policy, 0.0) == 50.0 and backoff_delay(500, policy, 0.0) == 50.0
    assert backoff_delay(1, policy, 0.0, retry_after=30) == 30.0  # at least what the far end asked for
    assert backoff_delay(1, policy, 0.0, retry_after=10_000) == 100.0  # but never past backoff_max


def test_dead_after_max_attempts_and_never_delivered() -> None:
    clock = Clock()
    store = store_with([send(1)], clock)
    log: list[str] = []
    with webhook_receiver(fail_first=100) as receiver:
        r = relay(store, hook_config(receiver.url), clock, log=lambda msg, f: log.append(msg))
        for _ in range(10):
            r.run_until_idle()
            clock.t += 1000
        r.close()
    assert len(receiver.requests) == 4  # max_attempts = 4
    [dead] = store.dead_deliveries()
    assert (dead.seq, dead.attempts, dead.record["key"]) == (1, 4, send(1)["key"])
    assert "answered 503" in dead.error
    assert log == ["delivery retry"] * 3 + ["delivery dead"]
    assert store.claim_outbox(10, 60) == []


def test_a_permanent_refusal_is_dead_at_once() -> None:
    clock = Clock()
    store = store_with([send(1), send(2)], clock)
    with webhook_receiver(fail_first=1, fail_status=400) as receiver:
        r = relay(store, hook_config(receiver.url), clock)
        counts = r.run_until_idle()
        r.close()
    assert (counts.dead, counts.delivered, counts.retried) == (1, 1, 0)
    assert [d.attempts for d in store.dead_deliveries()] == [1]
    assert receiver.keys() == [send(2)["key"]]


def test_retry_after_from_the_receiver_sets_the_wait() -> None:
    clock = Clock()
    store = store_with([send(1)], clock)
    with webhook_receiver(fail_first=1, fail_status=429, extra_headers={"Retry-After": "60"}) as receiver:
        r = relay(store, hook_config(receiver.url), clock)
        r.run_until_idle()
        clock.t += 59
        assert r.run_until_idle().claimed == 0
        clock.t += 1
        assert r.run_until_idle().delivered == 1
        r.close()


def test_wall_clock_holds_a_delayed_send_until_its_time() -> None:
    clock = Clock()
    later = "2026-01-02T11:00:00Z"  # quiet hours end an hour after "now"
    store = store_with([send(1, status="delayed", at=later), send(2)], clock)
    with webhook_receiver() as receiver:
        r = relay(store, hook_config(receiver.url), clock, clock="wall")
        counts = r.run_until_idle()
        assert (counts.held, counts.delivered) == (1, 1)
        assert receiver.keys() == [send(2)["key"]]
        clock.t = parse_time(later) - 1
        assert r.run_until_idle().claimed == 0
        clock.t += 1
        [item] = store.claim_outbox(10, 5)  # due now, with no attempt counted for the wait
        assert item.attempts == 0
        clock.t += 5
        assert r.run_until_idle().delivered == 1
        r.close()
    assert receiver.keys() == [send(2)["key"], send(1)["key"]]


def test_event_clock_sends_a_delayed_send_at_once() -> None:
    clock = Clock()
    store = store_with([send(1, status="delayed", at="2026-03-01T08:00:00Z")], clock)
    with webhook_receiver() as receiver:
        r = relay(store, hook_config(receiver.url), clock, clock="event")
        assert r.run_until_idle().delivered == 1
        r.close()


def test_a_delayed_send_in_the_past_goes_at_once_in_wall_mode() -> None:
    clock = Clock()
    store = store_with([send(1, status="delayed", at="2026-01-02T09:00:00Z")], clock)
    with webhook_receiver() as receiver:
        r = relay(store, hook_config(receiver.url), clock)
        assert r.run_until_idle().delivered == 1
        r.close()


def test_a_sink_that_raises_is_retried_and_the_relay_goes_on() -> None:
    clock = Clock()
    store = store_with([send(1), enter(2)], clock)
    out = io.BytesIO()
    r = Relay(store, now=clock, jitter=lambda: 0.0, out=out)

    def explode(record: dict[str, Any], body: bytes) -> Outcome:
        raise RuntimeError("bug in a sink")

    real = r.default.send
    r.default.send = lambda record, body: explode(record, body) if record["kind"] == "send" else real(record, body)  # type: ignore[method-assign]
    counts = r.run_until_idle()
    assert (counts.retried, counts.delivered) == (1, 1)
    assert out.getvalue() == dumps(enter(2)) + b"\n"


def test_rows_are_left_when_the_lease_is_nearly_over() -> None:
    """A slow far end: once a row's lease could run out during its attempt, it is left for a later claim (another
    worker could claim it then and send it too)."""
    clock = Clock()
    store = store_with([enter(n) for n in range(5)], clock)
    out = io.BytesIO()
    r = Relay(store, now=clock, out=out, lease=13)
    real = r.default.send

    def slow(record: dict[str, Any], body: bytes) -> Outcome:
        clock.t += 3  # each attempt takes 3 s; the stdout sink's timeout is 1 s; the lease 13 s
        return real(record, body)

    r.default.send = slow  # type: ignore[method-assign]
    counts = r.deliver_once()
    assert (counts.claimed, counts.delivered, counts.skipped) == (5, 4, 1)
    assert store.claim_outbox(10, 60) == []  # the one left is still leased
    clock.t += 12
    assert r.run_until_idle().delivered == 1
    assert out.getvalue() == dumps_lines([enter(n) for n in range(5)])


def test_two_relays_on_one_store_never_share_a_row() -> None:
    clock = Clock()
    store = store_with([enter(n) for n in range(30)], clock)
    outs = [io.BytesIO(), io.BytesIO()]
    relays = [Relay(store, now=clock, out=out, batch=4) for out in outs]
    while sum(r.deliver_once().claimed for r in relays):
        pass
    got = [loads(line)["key"] for out in outs for line in out.getvalue().splitlines()]
    assert sorted(got) == sorted(enter(n)["key"] for n in range(30))
    assert all(out.getvalue() for out in outs)


def test_run_stops_when_told() -> None:
    store = MemoryStore()
    store.log_actions([enter(1)])
    out = io.BytesIO()
    stop = threading.Event()
    r = Relay(store, out=out)
    thread = threading.Thread(target=r.run, args=(stop, 0.01))
    thread.start()
    try:
        assert wait_for(lambda: bool(out.getvalue()))
        store.log_actions([enter(2)])  # found on a later poll
        assert wait_for(lambda: out.getvalue().count(b"\n") == 2)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_run_until_idle_honours_its_timeout_and_stop() -> None:
    store = MemoryStore()
    store.log_actions([enter(n) for n in range(10)])
    r = Relay(store, out=io.BytesIO(), batch=1)
    assert r.run_until_idle(timeout=0).claimed == 0
    stop = threading.Event()
    stop.set()
    assert r.run_until_idle(stop=stop).claimed == 0
    assert r.run_until_idle().delivered == 10


def test_bad_relay_arguments() -> None:
    with pytest.raises(ValueError, match="unknown relay clock 'sun'"):
        Relay(MemoryStore(), clock="sun")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch must be at least 1"):
        Relay(MemoryStore(), batch=0)


# ---- the memory store's outbox


def test_memory_outbox_claims_leases_and_settles() -> None:
    clock = Clock()
    store = store_with([enter(n) for n in range(4)], clock)
    first = store.claim_outbox(2, 10)
    assert [(i.seq, i.attempts) for i in first] == [(1, 0), (2, 0)]
    assert [i.seq for i in store.claim_outbox(10, 10)] == [3, 4]
    assert store.claim_outbox(10, 10) == []
    store.outbox_delivered([2])
    store.outbox_delivered([2])  # again (a lease ran out and another worker delivered it too): no harm
    store.outbox_retry(1, 1, T0 + 100, "down")
    store.outbox_dead(3, 5, "gone")
    clock.t += 10  # row 4's lease is over: claimable again
    assert [i.seq for i in store.claim_outbox(10, 10)] == [4]
    store.outbox_delivered([4])
    clock.t = T0 + 100
    [again] = store.claim_outbox(10, 10)
    assert (again.seq, again.attempts) == (1, 1)
    store.outbox_delivered([1])
    assert store.claim_outbox(10, 10) == []
    assert [(d.seq, d.attempts, d.error) for d in store.dead_deliveries()] == [(3, 5, "gone")]
    store.outbox_retry(1, 2, 0, "late")  # settled already: ignored
    store.log_actions([enter(9)])
    assert [i.seq for i in store.claim_outbox(10, 10)] == [5]


def test_memory_outbox_refuses_unknown_rows() -> None:
    store = store_with([enter(1), enter(2)], Clock())
    with pytest.raises(StoreError, match="the outbox has no record 3"):
        store.outbox_delivered([3])
    with pytest.raises(StoreError, match="outbox record 2 was never claimed"):
        store.outbox_dead(2, 1, "x")
