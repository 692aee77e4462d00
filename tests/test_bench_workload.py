"""bench.workload.stream_events: the whole-event-stream workload of the end-to-end benchmark.

Deterministic, the requested behavioural share, unique ids, in `at` order, and valid: the engine on the example
journeys' bundle puts nothing in its dead letters.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from bench.workload import examples_bundle, stream_events

from journeydsl.runtime.engine import Engine

BEHAVIOURAL = ("page_viewed", "app_opened")


@pytest.fixture(scope="module")
def stream() -> list[dict[str, Any]]:
    return stream_events(150, 0.8, seed=3)


def test_same_arguments_same_stream(stream: list[dict[str, Any]]) -> None:
    assert stream_events(150, 0.8, seed=3) == stream
    assert stream_events(150, 0.8, seed=4) != stream


@pytest.mark.parametrize("share", [0.5, 0.8, 0.9])
def test_behavioural_share_is_the_requested_one(share: float) -> None:
    events = stream_events(100, share, seed=5)
    behavioural = sum(event["type"] in BEHAVIOURAL for event in events)
    assert abs(behavioural / len(events) - share) < 0.01


def test_share_zero_is_the_journeys_stream_alone() -> None:
    events = stream_events(100, 0.0, seed=5)
    assert events and not any(event["type"] in BEHAVIOURAL for event in events)


def test_ids_unique_and_times_sorted(stream: list[dict[str, Any]]) -> None:
    assert len({event["id"] for event in stream}) == len(stream)
    times = [event["at"] for event in stream]
    assert times == sorted(times)


def test_behavioural_events_look_like_a_real_stream(stream: list[dict[str, Any]]) -> None:
    behavioural = [event for event in stream if event["type"] in BEHAVIOURAL]
    kinds = Counter(event["type"] for event in behavioural)
    assert kinds["page_viewed"] > kinds["app_opened"] > 0
    journey_customers = {event["customer_id"] for event in stream if event["type"] not in BEHAVIOURAL}
    browsing = {event["customer_id"] for event in behavioural}
    assert browsing & journey_customers, "journey customers browse too"
    assert browsing - journey_customers, "most of a real stream's customers are in no journey"
    patched = [event for event in behavioural if "profile" in event]
    assert 0.02 < len(patched) / len(behavioural) < 0.08
    assert all(event["data"]["path"].startswith("/") for event in behavioural if event["type"] == "page_viewed")


def test_the_engine_takes_every_event(stream: list[dict[str, Any]]) -> None:
    engine = Engine.open(examples_bundle())
    records = [record for event in stream for record in engine.process(event)]
    assert engine.dead_letters == []
    assert records, "the journey events still drive the journeys"
    patches = [event for event in stream if event["type"] in BEHAVIOURAL and "tz" in event.get("profile", {})]
    last = patches[-1]
    assert engine.profile(last["customer_id"])["tz"] == _last_tz(stream, last["customer_id"])


def _last_tz(stream: list[dict[str, Any]], customer_id: str) -> Any:
    """The tz the customer's last patch that names one set (patches merge field by field)."""
    found = None
    for event in stream:
        if event["customer_id"] == customer_id and "tz" in event.get("profile", {}):
            found = event["profile"]["tz"]
    return found
