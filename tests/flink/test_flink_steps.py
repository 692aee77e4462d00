"""`CustomerSteps`, the job's per-customer driver, without Flink: check, duplicates, timers and `until`.

These run in milliseconds (no JVM); the Flink tests show the same driver inside the job gives `run`'s records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runtime_support import PAST_TIMER_JOURNEY, build_bundle

from journeydsl.flink.job import CustomerSteps, JobSpec, dead_letter, run_without_flink, timer_ms
from journeydsl.runtime.bundle import BundleError, verify_files
from journeydsl.runtime.jsonio import dumps, loads
from journeydsl.runtime.timeparse import parse_rfc3339

JOURNEY = """
schema s {
  profile { email: string }
  event signup { plan: string }
  event paid { amount: number }
  event viewed {}
  channel email { cost 0 }
}
journey trial {
  version 1
  owner "o@x"
  uses s
  entry on signup
  stage main {
    step hello { send email hello -> waiting }
    step waiting { wait { on paid -> won  after 2d -> nudge } }
    step nudge { send email nudge -> last }
    step last { wait { on paid -> won  after 1d -> lost } }
    step won { end converted }
    step lost { end lost }
  }
}
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    built: dict[str, bytes] = build_bundle(tmp_path_factory.mktemp("trial"), [JOURNEY])
    return built


def _line(event_id: str, event_type: str, at: str, **data: Any) -> str:
    event = {"id": event_id, "type": event_type, "customer_id": "c1", "at": at, "data": data}
    return dumps(event).decode()


SIGNUP = _line("e1", "signup", "2026-03-01T00:00:00Z", plan="basic")


def _steps(files: dict[str, bytes], until: str | None = None) -> CustomerSteps:
    return CustomerSteps(JobSpec(bundle=files, until=None if until is None else parse_rfc3339(until)))


def test_check_takes_good_events_and_gives_run_s_reasons_for_bad_ones(files: dict[str, bytes]) -> None:
    steps = _steps(files, until="2026-03-02T00:00:00Z")
    assert steps.check(SIGNUP) == ("c1", parse_rfc3339("2026-03-01T00:00:00Z"), SIGNUP)
    assert steps.check("   ") is None
    not_json = steps.check("{nope")
    assert isinstance(not_json, str) and loads(not_json)["reason"].startswith("not JSON")
    assert loads(not_json)["raw"] == "{nope"
    unknown = steps.check(_line("e2", "teleported", "2026-03-01T00:00:00Z"))
    assert isinstance(unknown, str) and "unknown event type" in loads(unknown)["reason"]
    no_customer = steps.check(dumps({"id": "e3", "type": "viewed", "at": "2026-03-01T00:00:00Z"}).decode())
    assert isinstance(no_customer, str) and "customer_id" in loads(no_customer)["reason"]
    late = steps.check(_line("e4", "viewed", "2026-03-05T00:00:00Z"))
    assert isinstance(late, str) and "dated after the run's end" in loads(late)["reason"]
    assert loads(late)["event"]["id"] == "e4"


def test_timers_due_before_an_event_fire_first_and_a_duplicate_changes_nothing(files: dict[str, bytes]) -> None:
    steps = _steps(files)
    never: set[str] = set()
    first = steps.on_event(None, SIGNUP, never.__contains__)
    assert [loads(r)["kind"] for r in first.records] == ["enter", "send"] and first.seen == "e1"
    assert first.due == parse_rfc3339("2026-03-03T00:00:00Z")
    # Paid five days later: the 2d reminder (due 3rd) and the 1d last wait (due 4th) fire before the payment.
    paid = _line("e2", "paid", "2026-03-06T00:00:00Z", amount=5)
    later = steps.on_event(first.state, paid, never.__contains__, first.clock)
    kinds = [(loads(r)["kind"], loads(r).get("step")) for r in later.records]
    assert ("send", "nudge") in kinds and ("end", "lost") in kinds
    assert loads(later.records[0])["at"] == "2026-03-03T00:00:00Z"  # a timer's record is dated at its due time
    again = steps.on_event(first.state, SIGNUP, {"e1"}.__contains__, first.clock)
    assert again.duplicate and again.records == [] and again.seen is None


def test_an_event_nobody_listens_to_leaves_no_state_and_no_seen_id(files: dict[str, bytes]) -> None:
    steps = _steps(files)
    outcome = steps.on_event(None, _line("v1", "viewed", "2026-03-01T00:00:00Z"), set[str]().__contains__)
    assert outcome.state is None and outcome.seen is None and outcome.records == [] and outcome.due is None


def test_a_timer_never_fires_past_until(files: dict[str, bytes]) -> None:
    steps = _steps(files, until="2026-03-02T00:00:00Z")
    first = steps.on_event(None, SIGNUP, set[str]().__contains__)
    # The end of input hands over a timer at the end of time: nothing fires after `until`, the wait stays.
    capped = steps.on_timer(first.state, "c1", 9e12, first.clock)
    assert capped.records == [] and capped.due == parse_rfc3339("2026-03-03T00:00:00Z")
    fired = _steps(files).on_timer(first.state, "c1", parse_rfc3339("2026-03-03T00:00:00Z"), first.clock)
    assert [loads(r)["step"] for r in fired.records] == ["nudge"]


def test_an_event_the_core_refuses_is_a_dead_letter_that_leaves_the_state(files: dict[str, bytes]) -> None:
    steps = _steps(files)
    first = steps.on_event(None, SIGNUP, set[str]().__contains__)
    before = dumps(first.state)
    bad = _line("e9", "paid", "2026-03-01T01:00:00Z", amount="lots")
    outcome = steps.on_event(first.state, bad, set[str]().__contains__, first.clock)
    assert outcome.records == [] and len(outcome.dead) == 1 and outcome.seen is None
    assert "amount" in loads(outcome.dead[0])["reason"]
    assert dumps(outcome.state) == before


def test_timer_ms_rounds_up_to_the_millisecond() -> None:
    assert timer_ms(1.0) == 1000
    assert timer_ms(1.0001) == 1001
    assert timer_ms(1.001) >= 1001


def test_a_dead_letter_too_deep_to_encode_keeps_its_text() -> None:
    deep: Any = []
    for _ in range(600):
        deep = [deep]
    entry = loads(dead_letter("too deep", deep))
    assert entry["reason"] == "too deep" and "raw" in entry and "event" not in entry


def test_a_bundle_signed_by_another_key_is_refused_before_any_job(files: dict[str, bytes], tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    for name, blob in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(blob)
    with pytest.raises(BundleError):
        JobSpec.load(str(folder), public_key="ab" * 32)
    assert JobSpec.load(str(folder)).bundle == files


def test_a_timer_set_in_the_past_fires_at_the_customers_clock_as_run_does(tmp_path: Path) -> None:
    """`at EXPR` may lie before the event that sets it: `run` fires such a timer at its stream clock (on input in
    time order, the time of that event), not at the due time; so does the job, with the customer's clock."""
    steps = CustomerSteps(JobSpec(bundle=build_bundle(tmp_path, [PAST_TIMER_JOURNEY])))
    moved = dumps(
        {
            "id": "m1",
            "type": "moved",
            "customer_id": "c1",
            "at": "2026-03-10T00:00:00Z",
            "data": {"date": "2026-03-01T00:00:00Z"},
        }
    ).decode()
    first = steps.on_event(None, moved, set[str]().__contains__)
    assert first.due == parse_rfc3339("2026-03-02T00:00:00Z") and first.clock == parse_rfc3339("2026-03-10T00:00:00Z")
    fired = steps.on_timer(first.state, "c1", parse_rfc3339("2026-03-02T00:00:00Z"), first.clock)
    assert [(loads(r)["kind"], loads(r)["at"]) for r in fired.records][0] == ("send", "2026-03-10T00:00:00Z")


def test_the_job_without_flink_gives_the_engines_records_on_the_example_stream() -> None:
    """`run_without_flink` (the reference the cluster tests compare a recovered job with) equals the engine."""
    from journeydsl.compile import compile_project
    from journeydsl.project import load_project
    from journeydsl.runtime import Engine, MemoryStore
    from journeydsl.testing.synth import generate_events

    root = Path(__file__).resolve().parents[2]
    files = compile_project(load_project([root / "journeys"], templates_dir=root / "templates"), ["journeys"])
    events = list(generate_events(root / "journeys", 150, seed=11))
    until = parse_rfc3339("2026-12-31T00:00:00Z")
    engine = Engine(verify_files(files), MemoryStore(keep_log=False))
    expected = {r["key"]: dumps(r).decode() for e in events for r in engine.process(e)}
    expected.update({r["key"]: dumps(r).decode() for r in engine.advance(until)})
    records, dead = run_without_flink(JobSpec(bundle=files, until=until), [dumps(e).decode() for e in events])
    assert len(expected) > 1000
    assert {loads(r)["key"]: r for r in records} == expected
    assert len(dead) == len(engine.dead_letters) > 0


@pytest.mark.parametrize(
    "options",
    [
        {"bound": -1.0},
        {"seen_retention": float("nan")},
        {"idle_timeout": 0.0},
        {"until": float("inf")},
        {"name": "a b"},
    ],
)
def test_a_job_spec_refuses_settings_that_make_no_sense(files: dict[str, bytes], options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        JobSpec(bundle=files, **options)
