"""The synthetic event stream: deterministic by seed, unique ids, sorted, and data that fits the schema."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.ir import (
    Duration,
    End,
    Entry,
    EventDef,
    FieldDef,
    Goal,
    Journey,
    Schema,
    Stage,
    Step,
    Target,
    Timeout,
    TypeRef,
    Wait,
    WaitArm,
)
from journeydsl.project import Project, load_project
from journeydsl.testing.synth import UNKNOWN_TYPES, generate_events, main

JOURNEYS = Path(__file__).resolve().parents[1] / "journeys"


@pytest.fixture(scope="module")
def project() -> Project:
    loaded = load_project([JOURNEYS])
    assert loaded.journeys(), "the example journeys should load"
    return loaded


def _parse(text: str) -> dt.datetime:
    assert text.endswith("Z"), text
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _fits(ref: TypeRef, value: Any) -> bool:
    if value is None:
        return ref.nullable
    if ref.name in ("number", "duration"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ref.name == "string":
        return isinstance(value, str)
    if ref.name == "bool":
        return isinstance(value, bool)
    if ref.name == "timestamp":
        return isinstance(value, str) and _parse(value) is not None
    if ref.name == "enum":
        return value in ref.members
    if ref.name == "list":
        item = ref.item or TypeRef("string")
        return isinstance(value, list) and all(_fits(item, v) for v in value)
    raise AssertionError(f"unexpected type {ref.name}")


def _schemas_by_event(project: Project) -> dict[str, EventDef]:
    return {event.name: event for schema in project.schemas().values() for event in schema.events}


def test_same_seed_same_stream_other_seed_other_stream(project: Project) -> None:
    first = list(generate_events(project, 300, seed=11))
    again = list(generate_events(project, 300, seed=11))
    other = list(generate_events(project, 300, seed=12))
    assert first == again
    assert first != other


def test_ids_unique_and_sorted_by_time_then_id(project: Project) -> None:
    events = list(generate_events(project, 500, seed=3))
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids))
    keys = [(_parse(e["at"]), e["id"]) for e in events]
    assert keys == sorted(keys)
    assert all(list(e)[:5] == ["id", "type", "customer_id", "at", "data"] for e in events)


def test_clean_stream_fits_the_schema(project: Project) -> None:
    by_event = _schemas_by_event(project)
    events = list(generate_events(project, 400, seed=5, bad_rate=0))
    assert events
    for event in events:
        definition = by_event[event["type"]]
        declared = {f.name: f.type for f in definition.fields}
        assert set(event["data"]) == set(declared), event
        for name, value in event["data"].items():
            assert _fits(declared[name], value), (event["type"], name, value)


def test_profile_on_each_customers_first_event_only_and_fits(project: Project) -> None:
    schemas = list(project.schemas().values())
    events = list(generate_events(project, 400, seed=9, bad_rate=0))
    seen: set[str] = set()
    entries = {j.entry.event for j in project.journeys() if j.entry}
    for event in events:
        customer = event["customer_id"]
        if customer in seen:
            assert "profile" not in event
            continue
        seen.add(customer)
        assert event["type"] in entries, "a customer's story starts with an entry event"
        profile = event["profile"]
        schema = next(s for s in schemas if event["type"] in {e.name for e in s.events})
        fields = {f.name: f.type for f in schema.profile}
        assert set(profile) <= set(fields)
        required = {name for name, ref in fields.items() if not ref.nullable}
        assert required <= set(profile)
        for name, value in profile.items():
            assert _fits(fields[name], value), (name, value)


def test_a_few_percent_are_deliberately_bad(project: Project) -> None:
    by_event = _schemas_by_event(project)
    events = list(generate_events(project, 2000, seed=1))
    unknown = [e for e in events if e["type"] not in by_event]
    wrong = [
        e
        for e in events
        if e["type"] in by_event and not all(_fits(f.type, e["data"].get(f.name)) for f in by_event[e["type"]].fields)
    ]
    assert {e["type"] for e in unknown} <= set(UNKNOWN_TYPES)
    share = (len(unknown) + len(wrong)) / len(events)
    assert unknown and wrong
    assert 0.005 < share < 0.06, share


def test_follow_ups_come_from_what_the_journeys_listen_for(project: Project) -> None:
    listened: set[str] = set()
    for journey in project.journeys():
        assert journey.entry is not None
        listened.add(journey.entry.event)
        listened |= {e.event for e in journey.exits} | {g.event for g in journey.goals}
        for step in journey.steps():
            if isinstance(step.flow, Wait):
                listened |= {arm.event for arm in step.flow.arms}
    counts = Counter(e["type"] for e in generate_events(project, 1000, seed=2, bad_rate=0))
    assert set(counts) <= listened
    assert len(counts) > len(project.journeys()), "more than the entry events"


def test_instance_key_is_carried_to_follow_ups(project: Project) -> None:
    carts: dict[str, set[str]] = {}
    for event in generate_events(project, 1500, seed=4, bad_rate=0):
        cart = event["data"].get("cart_id")
        if cart is not None:
            carts.setdefault(event["customer_id"], set()).add(cart)
    assert carts
    assert all(len(ids) == 1 for ids in carts.values())


def _tiny_ir() -> tuple[list[Journey], dict[str, Schema]]:
    schema = Schema(
        name="shop",
        profile=(FieldDef("email", TypeRef("string")), FieldDef("vip", TypeRef("bool"))),
        events=(
            EventDef("visited", (FieldDef("page", TypeRef("string")),)),
            EventDef("bought", (FieldDef("amount", TypeRef("number")),)),
        ),
        channels=(),
    )
    wait = Wait(arms=(WaitArm("bought", Target("done")),), timeout=Timeout(Target("done"), after=Duration(2, "d")))
    journey = Journey(
        name="tiny",
        version=1,
        uses="shop",
        entry=Entry("visited"),
        goals=(Goal("sale", "bought", within=Duration(7, "d")),),
        stages=(Stage("request", (Step("hold", (), wait), Step("done", (), End("ok")))),),
    )
    return [journey], {"shop": schema}


def test_works_on_ir_nodes_without_parsing() -> None:
    journeys, schemas = _tiny_ir()
    events = list(generate_events(journeys, 200, seed=1, start="2026-03-01T00:00:00Z", schemas=schemas, bad_rate=0))
    assert {e["type"] for e in events} == {"visited", "bought"}
    assert min(_parse(e["at"]) for e in events) >= dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert all(e["profile"]["email"].endswith("@example.com") for e in events if "profile" in e)


def test_no_usable_journey_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no journey"):
        list(generate_events([], 10, seed=1))
    journeys, schemas = _tiny_ir()
    with pytest.raises(ValueError, match="RFC 3339"):
        list(generate_events(journeys, 10, seed=1, start="yesterday", schemas=schemas))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), customers=st.integers(min_value=0, max_value=40))
def test_any_seed_gives_unique_sorted_ids(seed: int, customers: int) -> None:
    journeys, schemas = _tiny_ir()
    events = list(generate_events(journeys, customers, seed=seed, schemas=schemas))
    assert len({e["id"] for e in events}) == len(events)
    assert [(e["at"], e["id"]) for e in events] == sorted((e["at"], e["id"]) for e in events)
    assert len({e["customer_id"] for e in events}) == customers


def test_cli_writes_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "events.jsonl"
    assert main([str(JOURNEYS), "--customers", "50", "--seed", "7", "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines and all(json.loads(line)["id"] for line in lines)
    assert "events for 50 customers" in capsys.readouterr().err
    again = tmp_path / "again.jsonl"
    assert main([str(JOURNEYS), "--customers", "50", "--seed", "7", "-o", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(JOURNEYS), "--start", "not a time"])
    assert exit_info.value.code == 2
    assert "RFC 3339" in capsys.readouterr().err
