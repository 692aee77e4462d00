"""The step core (issue 15): `step(state, event_or_timer, core, clock)` over one customer gives the records the
engine gives, so every driver of it (run, serve, the scenario runner, the Flink job) agrees.

The driver here keeps each customer's state apart and fires a customer's own timers before that customer's next
event, as a keyed stream processor does (no global timer order, no shared store): its records must equal the
engine's, key by key, on the example journeys' synthetic stream and on a hypothesis-drawn one."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import PAST_TIMER_JOURNEY, build_bundle

from journeydsl.compile import compile_project
from journeydsl.project import load_project
from journeydsl.runtime import Core, Engine, MemoryStore, Timer, step
from journeydsl.runtime.bundle import load_bundle
from journeydsl.runtime.timeparse import parse_rfc3339
from journeydsl.testing.synth import generate_events

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example_bundle() -> Any:
    project = load_project([ROOT / "journeys"], templates_dir=ROOT / "templates")
    return load_bundle(compile_project(project, ["journeys"]))


def keyed_records(bundle: Any, events: Iterable[dict[str, Any]], until: float | None = None) -> dict[str, Any]:
    """Records of a per-customer driver over `step`: the customer's due timers, then its event."""
    core = Core(bundle)
    states: dict[str, dict[str, Any]] = {}
    due: dict[str, float] = {}
    # Each customer's latest event time: the clock a timer set in the past fires at (the engine fires it at the
    # stream's clock; a keyed processor knows only its own customer's).
    clocks: dict[str, float] = {}
    seen: set[str] = set()
    records: dict[str, Any] = {}

    def keep(result: Any, cid: str) -> None:
        states[cid] = result.state
        if result.next_due is None:
            due.pop(cid, None)
        else:
            due[cid] = result.next_due
        for record in result.records:
            assert record["key"] not in records, record
            records[record["key"]] = record

    for event in events:
        cid, at = event["customer_id"], parse_rfc3339(event["at"])
        while cid in due and due[cid] <= at:
            keep(step(states.get(cid), Timer(cid, due[cid]), core, clocks.get(cid)), cid)
        if event["id"] in seen:
            continue
        result = step(states.get(cid), event, core, None)
        if result.dead is None:
            seen.add(event["id"])
            keep(result, cid)
            clocks[cid] = max(at, clocks.get(cid, at))
    if until is not None:
        for cid in sorted(due):
            while cid in due and due[cid] <= until:
                keep(step(states.get(cid), Timer(cid, due[cid]), core, clocks.get(cid)), cid)
    return records


def engine_records(bundle: Any, events: Iterable[dict[str, Any]], until: float | None = None) -> dict[str, Any]:
    engine = Engine(bundle, MemoryStore(keep_log=False))
    records: dict[str, Any] = {}
    for event in events:
        for record in engine.process(event):
            records[record["key"]] = record
    if until is not None:
        for record in engine.advance(until):
            records[record["key"]] = record
    return records


def test_step_gives_the_engines_records_on_the_example_journeys(example_bundle: Any) -> None:
    events = list(generate_events(ROOT / "journeys", 150, seed=11))
    until = parse_rfc3339("2026-12-31T00:00:00Z")
    expected = engine_records(example_bundle, events, until)
    got = keyed_records(example_bundle, events, until)
    assert len(expected) > 1000
    assert got == expected


def test_a_refused_event_is_a_dead_step_that_changes_nothing(example_bundle: Any) -> None:
    core = Core(example_bundle)
    event = {"id": "x", "type": "no_such_event", "customer_id": "c", "at": "2026-01-01T00:00:00Z"}
    result = step(None, event, core, None)
    assert result.dead is not None and "unknown event type" in result.dead
    assert result.records == [] and result.state == {"p": {}, "i": {}, "c": {}} and result.next_due is None


JOURNEY = """
schema s {
  profile { email: string }
  event signup { plan: string }
  event paid { amount: number }
  channel email { cost 0.001 }
}
journey trial {
  version 1
  owner "o@x"
  uses s
  entry on signup
  goal paid on paid within 10d
  stage main {
    step hello {
      send email hello
      -> waiting
    }
    step waiting { wait { on paid -> won  after 2d -> nudge } }
    step nudge {
      send email nudge
      -> last
    }
    step last { wait { on paid -> won  after 1d -> lost } }
    step won { end converted }
    step lost { end lost }
  }
}
"""


@pytest.fixture(scope="module")
def trial_bundle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load_bundle(build_bundle(tmp_path_factory.mktemp("trial"), [JOURNEY]))


_events = st.lists(
    st.tuples(st.sampled_from(["c1", "c2", "c3"]), st.sampled_from(["signup", "paid"]), st.integers(0, 6 * 86400)),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=_events)
def test_step_and_engine_agree_on_any_stream(trial_bundle: Any, drawn: list[tuple[str, str, int]]) -> None:
    base = parse_rfc3339("2026-03-01T00:00:00Z")
    events = []
    for number, (cid, kind, offset) in enumerate(sorted(drawn, key=lambda d: d[2])):
        data = {"plan": "basic"} if kind == "signup" else {"amount": 5}
        at = f"2026-03-{1 + offset // 86400:02d}T{offset % 86400 // 3600:02d}:{offset % 3600 // 60:02d}:00Z"
        events.append({"id": f"e{number}", "type": kind, "customer_id": cid, "at": at, "data": data})
    until = base + 20 * 86400
    assert keyed_records(trial_bundle, events, until) == engine_records(trial_bundle, events, until)


def test_a_timer_set_in_the_past_fires_at_the_customers_clock_as_the_engine_fires_it(tmp_path: Path) -> None:
    bundle = load_bundle(build_bundle(tmp_path, [PAST_TIMER_JOURNEY]))
    events = [  # c1's timer is due a week before the event that sets it
        {
            "id": "m1",
            "type": "moved",
            "customer_id": "c1",
            "at": "2026-03-10T00:00:00Z",
            "data": {"date": "2026-03-01T00:00:00Z"},
        },
        {
            "id": "m2",
            "type": "moved",
            "customer_id": "c2",
            "at": "2026-03-11T00:00:00Z",
            "data": {"date": "2026-03-20T00:00:00Z"},
        },
    ]
    until = parse_rfc3339("2026-04-01T00:00:00Z")
    expected = engine_records(bundle, events, until)
    assert keyed_records(bundle, events, until) == expected
    (late,) = [r for r in expected.values() if r["kind"] == "send" and r["customer_id"] == "c1"]
    assert late["at"] == "2026-03-10T00:00:00Z"  # at the clock, not at its due time in the past
