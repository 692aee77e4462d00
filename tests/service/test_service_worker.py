"""The engine worker and the routes in one process, over a fake engine: group commit (futures resolve only after
the one flush), back-pressure (503 + Retry-After), a store failure (every waiting client told, readiness lost),
bundle swaps refused by the engine's constructor, and the stop delivering on the worker's own thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from journeydsl.runtime.engine import EngineError
from journeydsl.runtime.store import StoreError
from journeydsl.service import auth, body
from journeydsl.service.app import AppConfig, build_app
from journeydsl.service.ingest import (
    BatchResult,
    ClockJob,
    EventBatch,
    ServiceStopped,
    SwapJob,
    Worker,
    WorkerSettings,
    _lag,
)
from journeydsl.service.metrics import ServiceMetrics

WAIT = 10.0  # every future and join in these tests is bounded by this


class FakeStore:
    durable = False

    def __init__(self) -> None:
        self.flushes = 0
        self.fail: str | None = None
        self.abandoned = False
        self.closed = False

    def flush(self) -> None:
        if self.fail is not None:
            raise StoreError(self.fail)
        self.flushes += 1

    def in_flight_versions(self) -> dict[tuple[str, int], int]:
        return {("solar", 1): 2}

    def abandon(self) -> None:
        self.abandoned = True

    def close(self) -> None:
        self.closed = True


class FakeEngine:
    def __init__(self, store: FakeStore, revision: str = "r1", gate: threading.Event | None = None) -> None:
        self.store = store
        self.bundle = SimpleNamespace(revision=revision)
        self.gate = gate
        self.started = threading.Event()
        self.dead_letters: list[dict[str, Any]] = []
        self.duplicates = 0
        self.seen: set[str] = set()
        self.flushes_seen: list[int] = []
        self.advanced: list[float] = []

    def process(self, event: Any) -> list[dict[str, Any]]:
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT)
        self.flushes_seen.append(self.store.flushes)
        if not isinstance(event, dict):
            self.dead_letters.append({"reason": "an event must be a JSON object", "event": event})
            return []
        if event["id"] in self.seen:
            self.duplicates += 1
            return []
        self.seen.add(event["id"])
        return [{"kind": "enter", "at": "2026-01-01T00:00:00Z"}]

    def prefetch(self, events: Any) -> None:
        """A hint only (the real engine's store reads ahead): nothing to do."""

    def fire_chunks(self, until: float) -> Iterator[list[dict[str, Any]]]:
        self.advanced.append(until)
        yield [{"kind": "end", "at": "2026-01-01T00:00:00Z"}]

    def close(self) -> None:
        self.store.close()


def _worker(
    engine: FakeEngine, queue_size: int = 8, clock: str = "event", **kwargs: Any
) -> tuple[Worker, ServiceMetrics]:
    metrics = ServiceMetrics()
    settings = WorkerSettings(clock="event" if clock == "event" else "wall", queue_size=queue_size, tick=0.05)
    worker = Worker(cast(Any, engine), lambda bundle: cast(Any, bundle), metrics, settings, **kwargs)
    return worker, metrics


def _batch(*ids: str) -> EventBatch:
    return EventBatch([(n + 1, {"id": i}) for n, i in enumerate(ids)], [])


def test_a_group_of_batches_commits_once_before_any_answer() -> None:
    gate = threading.Event()
    engine = FakeEngine(FakeStore(), gate=gate)
    worker, metrics = _worker(engine)
    worker.start()
    first = _batch("a")
    worker.submit(first)
    assert engine.started.wait(WAIT)  # the worker holds the first batch; the next three queue up behind it
    rest = [_batch("b", "c"), _batch("c"), EventBatch([(1, [1])], [{"line": 2, "reason": "not JSON"}])]
    for batch in rest:
        worker.submit(batch)
    assert not first.future.done()
    gate.set()
    results = [batch.future.result(WAIT) for batch in [first, *rest]]
    assert results[0] == BatchResult(1, 0, [])
    assert results[1] == BatchResult(2, 0, [])
    assert results[2] == BatchResult(0, 1, [])
    assert results[3].dead_letters == [
        {"line": 1, "reason": "an event must be a JSON object"},
        {"line": 2, "reason": "not JSON"},
    ]
    # Every event of the later batches ran before the group's one flush, and no answer came before it.
    assert engine.flushes_seen[1:] == [engine.flushes_seen[1]] * 4
    assert engine.store.flushes <= 2
    assert worker.stop(WAIT)
    assert engine.store.closed
    assert metrics.events.labels("accepted")._value.get() == 3


def test_a_full_queue_answers_503_with_retry_after() -> None:
    gate = threading.Event()
    engine = FakeEngine(FakeStore(), gate=gate)
    worker, metrics = _worker(engine, queue_size=1)
    worker.start()
    app = build_app(AppConfig(worker, metrics, tokens=None, max_body=1000, clock="event"))

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            post = [client.post("/v1/events", content=f'{{"id": "e{n}"}}') for n in range(3)]
            first = asyncio.ensure_future(post[0])
            while not engine.started.is_set():
                await asyncio.sleep(0.01)
            second = asyncio.ensure_future(post[1])  # queued: the queue holds one batch
            for _ in range(100):
                if worker._batches == 1:
                    break
                await asyncio.sleep(0.01)
            third = await post[2]  # refused at once
            gate.set()
            return [await first, await second, third]

    first, second, third = asyncio.run(asyncio.wait_for(scenario(), WAIT))
    assert (first.status_code, second.status_code) == (202, 202)
    assert third.status_code == 503 and third.headers["retry-after"] == "1"
    assert "queue is full" in third.json()["error"]
    assert worker.stop(WAIT)


def test_a_store_failure_fails_the_waiting_clients_and_readiness() -> None:
    store = FakeStore()
    store.fail = "disk I/O error"
    engine = FakeEngine(store)
    fatal: list[str] = []
    worker, metrics = _worker(engine, on_fatal=fatal.append)
    worker.start()
    batch = _batch("a")
    worker.submit(batch)
    with pytest.raises(ServiceStopped, match="disk I/O error"):
        batch.future.result(WAIT)
    worker._thread.join(WAIT)
    assert fatal and "disk I/O error" in fatal[0]
    assert store.abandoned and not store.closed  # nothing uncommitted gets committed after the failure
    assert worker.ready() is not None and "disk I/O error" in str(worker.ready())
    with pytest.raises(ServiceStopped):
        worker.submit(_batch("b"))
    app = build_app(AppConfig(worker, metrics, tokens=None, max_body=1000, clock="event"))

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/readyz"), await client.post("/v1/events", content=b'{"id": "c"}')

    ready, posted = asyncio.run(asyncio.wait_for(scenario(), WAIT))
    assert ready.status_code == 503 and ready.json()["ready"] is False
    assert posted.status_code == 503


def test_a_refused_swap_keeps_the_old_engine_and_counts() -> None:
    engine = FakeEngine(FakeStore())
    metrics = ServiceMetrics()
    replacement = FakeEngine(engine.store, revision="r2")

    def build(bundle: Any) -> Any:
        if bundle.revision == "bad":
            raise EngineError("the bundle lacks solar v1 with 2 instances in flight")
        return replacement

    worker = Worker(cast(Any, engine), build, metrics, WorkerSettings(clock="event", tick=0.05))
    worker.start()
    refused = SwapJob(cast(Any, SimpleNamespace(revision="bad")), "test")
    worker.submit(refused)
    with pytest.raises(EngineError, match="in flight"):
        refused.future.result(WAIT)
    assert worker.engine is cast(Any, engine)
    taken = SwapJob(cast(Any, SimpleNamespace(revision="r2")), "test")
    worker.submit(taken)
    assert taken.future.result(WAIT) == "r2"
    assert worker.engine is cast(Any, replacement)
    assert metrics.reloads.labels("failed")._value.get() == 1
    assert metrics.reloads.labels("ok")._value.get() == 1
    text = metrics.render().decode()
    assert 'journeydsl_bundle_info{revision="r2",source="test"} 1.0' in text
    assert 'journeydsl_instances_active{journey="solar",version="1"} 2.0' in text
    clock = ClockJob(1e9)
    worker.submit(clock)
    assert clock.future.result(WAIT) == 1 and replacement.advanced == [1e9]
    assert worker.stop(WAIT)


class CountingDeliverer:
    def __init__(self, rounds: int) -> None:
        self.left = rounds
        self.calls = 0

    def deliver_once(self) -> int:
        self.calls += 1
        if self.left:
            self.left -= 1
            return 1
        return 0


def test_the_stop_commits_what_is_queued_and_delivers_until_idle_on_the_worker_thread() -> None:
    engine = FakeEngine(FakeStore())
    deliverer = CountingDeliverer(rounds=5)
    worker, _ = _worker(engine, clock="wall", deliverer=deliverer)
    worker.start()
    batch = _batch("a")
    worker.submit(batch)
    assert worker.stop(WAIT)
    assert batch.future.result(0) == BatchResult(1, 0, [])
    assert deliverer.left == 0 and engine.store.closed
    assert engine.advanced  # the wall clock ticked at least once
    with pytest.raises(ServiceStopped):
        worker.submit(_batch("b"))


def test_timer_lag_is_the_oldest_fired_timer_behind_the_wall_clock() -> None:
    now = 1767261600.0 + 100  # 2026-01-01T10:01:40Z
    records = [{"at": "2026-01-01T10:00:00Z"}, {"at": "2026-01-01T10:01:00Z"}, {"at": "bad"}, {"kind": "x"}]
    assert _lag(now, records) == 100
    assert _lag(now, [{"at": "2026-01-02T00:00:00Z"}]) == 0  # a delayed send dated later does not count
    assert _lag(now, []) == 0


def test_body_framing() -> None:
    parsed = body.parse(b'{"id": "a"}\n\n  \nnot json\n[1]\n', ndjson=True)
    assert parsed.events == [(1, {"id": "a"}), (5, [1])]
    assert [dead["line"] for dead in parsed.dead] == [4]
    assert body.parse(b"", ndjson=True).events == []
    with pytest.raises(body.BodyError, match="not JSON"):
        body.parse(b"", ndjson=False)
    with pytest.raises(body.BodyError):
        body.parse(b'{"a": 1}\n{"b": 2}', ndjson=False)
    assert body.media_type("Application/X-NDJSON; charset=utf-8") == body.NDJSON
    assert body.media_type(None) == body.JSON


def test_future_type_is_the_stdlib_one() -> None:
    # The handlers await the worker's futures with asyncio.wrap_future, which needs concurrent.futures.Future.
    assert isinstance(_batch("a").future, Future)


def test_tokens_are_read_again_when_the_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "RECHECK", 0.0)
    path = tmp_path / "tokens"
    path.write_text("old-token\n", encoding="utf-8")
    tokens = auth.TokenFile(path)
    assert tokens.accepts(b"old-token") and not tokens.accepts(b"new-token") and not tokens.accepts(b"")
    path.write_text("old-token\nnew-token\n", encoding="utf-8")  # rotation: both for a while
    assert tokens.accepts(b"old-token") and tokens.accepts(b"new-token")
    path.write_text("new-token\n", encoding="utf-8")
    assert not tokens.accepts(b"old-token") and tokens.accepts(b"new-token")
    path.write_text("", encoding="utf-8")  # half-written or emptied by mistake: the last tokens stay
    assert tokens.accepts(b"new-token")
    path.unlink()
    assert tokens.accepts(b"new-token")
    with pytest.raises(auth.TokenError, match="cannot read"):
        auth.TokenFile(path)
