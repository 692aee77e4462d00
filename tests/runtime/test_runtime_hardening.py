"""Hardening of the engine (issue 12): poison events, times from the far future, late events, record keys that
cannot collide, and what an instance keeps of its event. Each case failed before it was fixed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from runtime_support import build_bundle

from journeydsl.cli import main
from journeydsl.compile import write_bundle
from journeydsl.runtime import Engine, MemoryStore
from journeydsl.runtime import state as S
from journeydsl.runtime.jsonio import dumps, dumps_lines

JOURNEY = """
schema s {
  profile { email: string  consent_email: bool  seen_at: timestamp? }
  event quote { roof: number  when: timestamp?  cart: string? }
  event signed { amount: number }
  event noise {}
  channel email { cost 0.002 requires profile.consent_email }
}
journey solar {
  version 1
  owner "o@x"
  uses s
  entry on quote key event.cart
  goal signed on signed within 30d value event.amount
  stage request {
    step hello {
      set profile.seen_at = event.when
      send email hello with { size: event.roof * event.roof * event.roof }
      -> waiting
    }
    step waiting { wait { on signed -> won  after 3d -> second } }
    step second { wait { on signed -> won  after 3d -> lost } }
    step won { end converted }
    step lost { end lost }
  }
}
"""


def _event(number: int, kind: str, customer: str, at: str, **data: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"id": f"e{number}", "type": kind, "customer_id": customer, "at": at, "data": data}
    if kind == "quote":
        event["profile"] = {"consent_email": True, "email": f"{customer}@x"}
    return event


def _setup(tmp_path: Path, events: list[dict[str, Any]]) -> tuple[Path, Path]:
    bundle = write_bundle(build_bundle(tmp_path / "src", [JOURNEY]), tmp_path / "solar.jbundle")
    lines = tmp_path / "events.jsonl"
    lines.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return bundle, lines


def _run(*arguments: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(main, ["run", *arguments])
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, records, result.stderr


def test_poison_events_are_dead_letters_and_the_stream_goes_on(tmp_path: Path) -> None:
    events = [
        _event(1, "quote", "c1", "2026-01-01T10:00:00Z", roof=12345678901234567),  # size: beyond 64 bits
        _event(2, "quote", "c2", "2026-01-01T10:00:00Z", roof=5, when=1e300),  # a timestamp in year 10**292
        _event(3, "quote", "c3", "2026-01-01T10:00:01Z", roof=5, when=18446744073709551615),
        _event(4, "quote", "c4", "2026-01-01T11:00:00Z", roof=5),
    ]
    bundle, lines = _setup(tmp_path, events)
    store = f"sqlite:///{tmp_path / 'state.db'}"
    dead = tmp_path / "dead.jsonl"
    code, records, _ = _run(str(bundle), "--events", str(lines), "--store", store, "--dead-letter", str(dead))
    assert code == 0
    by_customer = {(r["customer_id"], r["kind"]) for r in records}
    # c1: the send's `with` overflows 64 bits: an error record for that send, the instance goes on
    assert ("c1", "error") in by_customer and ("c1", "enter") in by_customer
    assert any("out of range" in r.get("reason", "") for r in records if r["customer_id"] == "c1")
    assert ("c4", "send") in by_customer  # a later customer is processed
    reasons = [json.loads(line)["reason"] for line in dead.read_text().splitlines()]
    assert len(reasons) == 2 and all("data.when must be timestamp" in reason for reason in reasons)
    # the run is repeatable: a second run on the same store delivers nothing new and crashes on nothing
    code, again, _ = _run(str(bundle), "--events", str(lines), "--store", store)
    assert code == 0 and again == []


class _ArmedNumber(int):
    """An instance's entry number that fails the engine once armed, when the engine next names the instance: after
    the wait has taken the event, when the instance runs on (a bug no check foresaw)."""

    armed = False

    def __str__(self) -> str:
        if _ArmedNumber.armed:
            _ArmedNumber.armed = False
            raise RuntimeError("boom")
        return int.__repr__(self)

    def __format__(self, spec: str) -> str:  # f-strings format, str() stringifies: both fail once armed
        return self.__str__()


def test_an_engine_failure_leaves_the_customer_as_before(tmp_path: Path) -> None:
    store = MemoryStore()
    engine = Engine.open(build_bundle(tmp_path, [JOURNEY]), store=store)
    engine.process(_event(1, "quote", "c1", "2026-01-01T10:00:00Z", roof=2))
    engine.process(_event(3, "quote", "c2", "2026-01-01T10:00:00Z", roof=2))  # the engine names c2's instance last
    (instance,) = store.customers["c1"]["i"].values()
    instance[S.NUMBER] = _ArmedNumber(1)
    before = dumps(store.customers["c1"])
    _ArmedNumber.armed = True
    signed = {**_event(2, "signed", "c1", "2026-01-01T11:00:00Z", amount=3), "profile": {"email": "new@x"}}
    assert engine.process(signed) == []
    assert "RuntimeError: boom" in engine.dead_letters[-1]["reason"]
    assert dumps(store.customers["c1"]) == before
    assert not store.seen_before("e2")  # as if it had not come: sent again, it is handled again
    records = engine.process(signed)
    assert [r["kind"] for r in records] == ["end", "goal"]


def test_future_events_are_dead_letters_that_fire_nothing(tmp_path: Path) -> None:
    events = [
        _event(1, "quote", "c1", "2026-01-01T10:00:00Z", roof=5),
        _event(2, "signed", "stranger", "9999-12-31T00:00:00Z", amount=1),
        _event(3, "quote", "c2", "2026-01-01T12:00:00Z", roof=5),
        _event(4, "quote", "c3", "2026-01-03T12:00:00Z", roof=5),  # 2 days ahead: past the default skew of 1d
        _event(5, "quote", "c4", "2026-W01-1T10:00:00Z", roof=5),  # an ISO week date
        _event(6, "quote", "c5", "2026-01-01T10:00:00", roof=5),  # no zone
    ]
    bundle, lines = _setup(tmp_path, events)
    dead = tmp_path / "dead.jsonl"
    code, records, _ = _run(str(bundle), "--events", str(lines), "--dead-letter", str(dead))
    assert code == 0
    assert {r["customer_id"] for r in records} == {"c1", "c2"}
    assert not [r for r in records if r["kind"] == "end"]  # no timer fired
    reasons = {json.loads(line)["line"]: json.loads(line)["reason"] for line in dead.read_text().splitlines()}
    assert "ahead of the stream's clock" in reasons[2] and "ahead of the stream's clock" in reasons[4]
    assert "not an RFC 3339 timestamp" in reasons[5] and "without a time zone" in reasons[6]
    # --until: events after it are dead letters too; inf is refused before anything runs
    code, records, _ = _run(
        str(bundle), "--events", str(lines), "--until", "2026-01-01T11:00:00Z", "--max-skew", "none"
    )
    assert code == 0 and {r["customer_id"] for r in records} == {"c1"}
    for bad in ("inf", "nan", "1e300", "10000-01-01T00:00:00Z", "2026-01-01"):
        result = CliRunner().invoke(main, ["run", str(bundle), "--events", str(lines), "--until", bad])
        assert result.exit_code == 2 and "--until" in result.stderr, bad
    result = CliRunner().invoke(main, ["run", str(bundle), "--events", str(lines), "--max-skew", "soon"])
    assert result.exit_code == 2 and "--max-skew" in result.stderr


def test_late_events_do_not_rewrite_history(tmp_path: Path) -> None:
    events = [
        _event(1, "quote", "c1", "2026-03-01T10:00:00Z", roof=5),
        _event(2, "signed", "c1", "2026-01-01T10:00:00Z", amount=100),  # months before entry: no goal, no wait
        _event(3, "quote", "c2", "2026-03-05T10:00:00Z", roof=5),  # moves the clock: c1's first wait times out
        _event(4, "signed", "c1", "2026-03-03T10:00:00Z", amount=7),  # late, before c1's second wait began
        _event(5, "signed", "c1", "2026-03-05T10:00:00Z", amount=9),
    ]
    bundle, lines = _setup(tmp_path, events)
    code, records, _ = _run(str(bundle), "--events", str(lines), "--max-skew", "7d")
    assert code == 0
    mine = [(r["kind"], r["step"], r.get("value")) for r in records if r["customer_id"] == "c1"]
    # the goal counts the late event of 03-03 (inside [entry, entry + 30d]) but not the one of January
    assert ("goal", "second", 7) in mine and not [m for m in mine if m[2] == 100]
    # the wait of step `second` began when `waiting` timed out (03-04T10:00); only the event of 03-05 ends it
    assert mine[-1][0] == "end" and mine[-1][1] == "won"
    assert [m[0] for m in mine].count("end") == 1


def test_record_keys_cannot_collide_between_customers(tmp_path: Path) -> None:
    events = [
        _event(1, "quote", "a", "2026-01-01T10:00:00Z", roof=1, cart="b/solar/c"),
        _event(2, "quote", "a/solar/b", "2026-01-01T10:00:00Z", roof=1, cart="c"),
    ]
    bundle, lines = _setup(tmp_path, events)
    code, records, _ = _run(str(bundle), "--events", str(lines))
    assert code == 0 and len(records) == 6  # enter, set, send for each
    assert len({r["key"] for r in records}) == 6
    assert {r["instance"] for r in records} == {"a/solar/b%2Fsolar%2Fc/1", "a%2Fsolar%2Fb/solar/c/1"}


_ID = st.text(alphabet=st.sampled_from("aj/:%|1"), min_size=1, max_size=8)


@example(first=("a", "j/a", 1), second=("a/j", "a", 1))  # the same id before keys were escaped
@given(
    first=st.tuples(_ID, st.none() | _ID, st.integers(1, 12)),
    second=st.tuples(_ID, st.none() | _ID, st.integers(1, 12)),
)
def test_instance_ids_are_unique_by_construction(
    first: tuple[str, str | None, int], second: tuple[str, str | None, int]
) -> None:
    def ident(customer: str, key: str | None, number: int) -> str:
        inst = S.new_instance("j", 1, key, number, {"at": 0.0})
        return S.instance_id(customer, inst)

    if first != second:
        assert ident(*first) != ident(*second)
        assert f"{ident(*first)}:hello:1" != f"{ident(*second)}:hello:1"


def test_instances_keep_only_declared_event_fields(tmp_path: Path) -> None:
    engine = Engine.open(build_bundle(tmp_path, [JOURNEY]))
    event = _event(1, "quote", "c1", "2026-01-01T10:00:00Z", roof=5, junk="x" * 100_000, more={"a": [1, 2]})
    assert engine.process(event)
    (instance,) = engine.store.customers["c1"]["i"].values()
    kept = instance[S.EVENT]
    assert set(kept) == {"roof", "id", "type", "at"}


# ---------------------------------------------------------------------------------------------- property

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
VALID = [
    _event(1, "quote", "c1", "2026-01-01T10:00:00Z", roof=5, cart="k"),
    _event(2, "signed", "c1", "2026-01-01T12:00:00Z", amount=3),
    _event(3, "quote", "c2", "2026-01-01T12:00:00Z", roof=2, when="2026-01-02T00:00:00Z"),
]
FIELDS = [("id",), ("type",), ("customer_id",), ("at",), ("data",), ("profile",), ("data", "roof"), ("data", "when")]
FIELDS += [("data", "cart"), ("data", "amount"), ("profile", "consent_email"), ("profile", "seen_at")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(changes=[(0, ("data", "roof"), 2**40)], until=0)  # a `with` value beyond 64 bits
@example(changes=[(2, ("data", "when"), 1e300)], until=0)  # a timestamp in year 10**292
@example(changes=[(0, ("profile", "junk"), [[[[[]]]]])], until=0)
@given(
    changes=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.sampled_from(FIELDS), JSON_VALUES), max_size=4),
    until=st.integers(0, 20),
)
def test_any_json_in_any_field_never_breaks_the_engine(
    tmp_path: Path, changes: list[tuple[int, tuple[str, ...], Any]], until: int
) -> None:
    events = json.loads(json.dumps(VALID))
    for index, path, value in changes:
        target = events[index]
        for part in path[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[path[-1]] = value
    engine = Engine.open(_property_bundle(tmp_path))
    for event in events:
        before = dumps(engine.store.customers)
        letters = len(engine.dead_letters)
        records = engine.process(event)
        dumps_lines(records)  # every record can be written
        if len(engine.dead_letters) > letters and not records:
            assert dumps(engine.store.customers) == before  # a dead letter changed nothing
    dumps_lines(engine.advance(f"2026-01-{1 + until:02d}T00:00:00Z"))
    dumps(engine.store.customers)


_PROPERTY_BUNDLE: list[Any] = []


def _property_bundle(tmp_path: Path) -> Any:
    """One bundle for every example (compiling it is most of an example's time)."""
    if not _PROPERTY_BUNDLE:
        _PROPERTY_BUNDLE.append(build_bundle(tmp_path / "property", [JOURNEY]))
    return _PROPERTY_BUNDLE[0]


def test_engines_on_one_store_through_the_api_exclude_each_other(tmp_path: Path) -> None:
    from journeydsl.runtime import StoreError

    bundle = build_bundle(tmp_path / "src", [JOURNEY])
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = Engine.open(bundle, store=url)
    try:
        try:
            Engine.open(bundle, store=url)
        except StoreError as err:
            assert "in use" in str(err)
        else:  # pragma: no cover - the failure this test is for
            raise AssertionError("a second engine opened a store in use")
    finally:
        first.close()
    Engine.open(bundle, store=url).close()  # free again once the first is closed


def test_a_store_from_another_bundle_is_refused_before_any_event(tmp_path: Path) -> None:
    from journeydsl.runtime import EngineError

    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = Engine.open(build_bundle(tmp_path / "a", [JOURNEY]), store=url)
    engine.process(_event(1, "quote", "c1", "2026-01-01T10:00:00Z", roof=2))
    engine.advance("2026-01-05T00:00:00Z")  # c1 now waits on `second`, the third step
    engine.close()
    shorter = (
        JOURNEY[: JOURNEY.index("  stage request")]
        + """  stage request {
    step hello { send email hello -> fin }
    step fin { end converted }
  }
}
"""
    )
    other = build_bundle(tmp_path / "b", [shorter])
    try:
        Engine.open(other, store=url)
    except EngineError as err:
        assert "does not belong to this bundle" in str(err)
    else:  # pragma: no cover
        raise AssertionError("an instance on a missing step was accepted")


def test_a_customer_on_a_step_its_version_lacks_stops_the_run_when_it_loads(tmp_path: Path) -> None:
    from journeydsl.runtime import StoreError
    from journeydsl.runtime.stores import open_store

    url = f"sqlite:///{tmp_path / 'state.db'}"
    bundle = build_bundle(tmp_path / "a", [JOURNEY])
    engine = Engine.open(bundle, store=url)
    engine.process(_event(1, "quote", "c1", "2026-01-01T10:00:00Z", roof=2))
    engine.close()
    store = open_store(url, mode="write")
    customer = store.load("c1")
    assert customer is not None
    (instance,) = customer["i"].values()
    instance[S.STEP] = 99  # a damaged row: no version of the journey has a step 99
    store.save("c1", customer, instance[S.TIMER], False)
    store.close()
    engine = Engine.open(bundle, store=url)
    try:
        engine.process(_event(2, "signed", "c1", "2026-01-01T11:00:00Z", amount=3))
    except StoreError as err:
        assert "on step 99" in str(err) and "does not belong to this bundle" in str(err)
    else:  # pragma: no cover
        raise AssertionError("an instance on a missing step was run")
    finally:
        engine.store.abandon()


def test_quiet_hours_past_the_year_9999_are_an_error_record(tmp_path: Path) -> None:
    quiet = JOURNEY.replace("  stage request", "  quiet 21:00-08:00\n  stage request")
    engine = Engine.open(build_bundle(tmp_path, [quiet]))
    event = _event(1, "quote", "c1", "9999-12-31T22:00:00Z", roof=2)
    records = engine.process(event)
    errors = [r for r in records if r["kind"] == "error"]
    assert errors and "after the year 9999" in errors[0]["reason"]
    assert not [r for r in records if r["kind"] == "send"]


def test_a_nul_in_an_event_or_customer_id_is_a_dead_letter_on_every_store(tmp_path: Path) -> None:
    engine = Engine.open(build_bundle(tmp_path, [JOURNEY]))
    for event in (
        _event(1, "quote", "c\x001", "2026-01-01T10:00:00Z", roof=2),
        {**_event(2, "quote", "c2", "2026-01-01T10:00:00Z", roof=2), "id": "e\x002"},
    ):
        assert engine.process(event) == []
        assert "NUL" in engine.dead_letters[-1]["reason"]
    assert engine.process(_event(3, "quote", "c3", "2026-01-01T10:00:00Z", roof=2))  # the stream goes on


def test_an_email_record_carries_its_subject_apart_from_its_body(tmp_path: Path) -> None:
    bundle = build_bundle(tmp_path, [JOURNEY], {"email/hello": "Subject: Your quote, {{ profile.email }}\n\nHello!\n"})
    records = Engine.open(bundle).process(_event(1, "quote", "c1", "2026-01-01T10:00:00Z", roof=2))
    (send,) = [r for r in records if r["kind"] == "send"]
    assert send["subject"] == "Your quote, c1@x" and send["body"] == "Hello!"
    plain = build_bundle(tmp_path / "plain", [JOURNEY], {"email/hello": "Hello without a subject line"})
    (send,) = [
        r
        for r in Engine.open(plain).process(_event(1, "quote", "c1", "2026-01-01T10:00:00Z", roof=2))
        if r["kind"] == "send"
    ]
    assert "subject" not in send and send["body"] == "Hello without a subject line"
