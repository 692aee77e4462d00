"""Contact pressure figures (analytics.pressure) against counts made here, independently, from the records.

The oracle counts with datetime (not epoch arithmetic) and takes percentiles by their definition (the smallest
value at or below which at least p% of the values lie), not by the rank formula the module uses. It is checked
on the records of a real `journeydsl run` of the example journeys over `journeydsl synth` events, on records
drawn by hypothesis (every status, reason and holder, odd times), and on hand-built policy records (the runtime's
`held_by` is not there yet everywhere).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.analytics.pressure import (
    DeadLetter,
    Distribution,
    PolicyCapFigure,
    PressureError,
    horizon_of,
    nearest_rank,
    pressure_of,
    render_text,
    shared_caps_of,
    to_json,
)
from journeydsl.cli import main

REPO = Path(__file__).resolve().parents[2]
JOURNEYS = REPO / "journeys"
TEMPLATES = REPO / "templates"


# --------------------------------------------------------------------------- the oracle


def percentile_by_definition(values: Iterable[int], p: int) -> int:
    """The smallest value v such that at least p% of the values are <= v (0 for none)."""
    ordered = sorted(values)
    for v in ordered:
        if 100 * sum(1 for x in ordered if x <= v) >= p * len(ordered):
            return v
    return 0


def oracle(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """channel -> the figures, counted from the records with datetime."""
    day: dict[str, Counter[tuple[str, dt.date]]] = defaultdict(Counter)
    week: dict[str, Counter[tuple[str, int, int]]] = defaultdict(Counter)
    journeys: dict[str, Counter[str]] = defaultdict(Counter)
    suppressed: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    held: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    channels: set[str] = set()
    for r in records:
        if r.get("kind") != "send":
            continue
        channels.add(r["channel"])
        if r["status"] in ("sent", "delayed"):
            when = dt.datetime.fromisoformat(r["at"].replace("Z", "+00:00")).astimezone(dt.UTC)
            iso = when.date().isocalendar()
            day[r["channel"]][(r["customer_id"], when.date())] += 1
            week[r["channel"]][(r["customer_id"], iso.year, iso.week)] += 1
            journeys[r["channel"]][r["journey"]] += 1
        else:
            suppressed[(r["channel"], r["journey"])][r.get("reason") or r["status"]] += 1
            if r.get("reason") == "policy" and r.get("held_by"):
                held[(r["channel"], r["journey"])][r["held_by"]] += 1
    out: dict[str, Any] = {}
    for channel in channels:

        def dist(counter: Counter[Any]) -> dict[str, int]:
            values = list(counter.values())
            return {
                "pairs": len(values),
                **{f"p{p}": percentile_by_definition(values, p) for p in (50, 90, 99)},
                "max": max(values, default=0),
            }

        out[channel] = {
            "messages": sum(journeys[channel].values()),
            "customers": len({c for c, _ in day[channel]}),
            "per_day": dist(day[channel]),
            "per_week": dist(week[channel]),
            "journeys": dict(journeys[channel]),
            "suppressed": {j: dict(c) for (ch, j), c in suppressed.items() if ch == channel},
            "held_by": {j: dict(c) for (ch, j), c in held.items() if ch == channel},
        }
    return out


def figures(report_json: Mapping[str, Any]) -> dict[str, Any]:
    """The module's JSON in the oracle's shape."""
    out: dict[str, Any] = {}
    for c in report_json["channels"]:
        out[c["channel"]] = {
            "messages": c["messages"],
            "customers": c["customers"],
            "per_day": c["per_day"],
            "per_week": c["per_week"],
            "journeys": {j["journey"]: j["messages"] for j in c["journeys"] if j["messages"]},
            "suppressed": {j["journey"]: j["suppressed"] for j in c["journeys"] if j["suppressed"]},
            "held_by": {j["journey"]: j["held_by"] for j in c["journeys"] if j["held_by"]},
        }
    return out


# --------------------------------------------------------------------------- a real run


def pressure_and_run(journeys: Path, tmp: Path, customers: int) -> dict[str, Any]:
    """`synth` events for the journeys, `pressure` over them (JSON), and `run` of the same to the clock `pressure`
    said it ran to: the records `pressure` must agree with."""
    runner = CliRunner()
    events = tmp / "events.jsonl"
    made = runner.invoke(
        main, ["synth", str(journeys), "--customers", str(customers), "--seed", "11", "-o", str(events)]
    )
    assert made.exit_code == 0, made.stderr
    args = ["pressure", str(journeys), "--events", str(events), "--templates", str(TEMPLATES), "--format", "json"]
    pressed = runner.invoke(main, args)
    assert pressed.exit_code == 0, pressed.stderr
    report = json.loads(pressed.stdout)
    bundle = tmp / "b.jbundle"
    built = runner.invoke(main, ["build", str(journeys), "-o", str(bundle), "--templates", str(TEMPLATES)])
    assert built.exit_code == 0, built.stderr
    until = report["run"]["until"]
    ran = runner.invoke(main, ["run", str(bundle), "--events", str(events), "--until", until, "--max-skew", "none"])
    assert ran.exit_code == 0, ran.stderr
    records = [json.loads(line) for line in ran.stdout_bytes.splitlines() if line.strip()]
    return {"report": report, "records": records, "events": events, "stderr": pressed.stderr}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return pressure_and_run(JOURNEYS, tmp_path_factory.mktemp("pressure"), 400)


def test_pressure_figures_equal_counts_from_the_records_of_a_run(run: dict[str, Any]) -> None:
    records = run["records"]
    sends = [r for r in records if r["kind"] == "send"]
    assert len(sends) > 200 and {r["channel"] for r in sends} == {"email", "push", "sms"}
    assert any(r["status"] == "suppressed" for r in sends)  # the example journeys' caps and consent bite
    expected = oracle(records)
    assert figures(run["report"]) == expected
    # and the pure function over the same records gives the same JSON as the command
    assert figures(to_json(pressure_of(records))) == expected
    assert run["report"]["messages"] == sum(1 for r in sends if r["status"] != "suppressed")
    assert run["report"]["sends"] == len(sends)
    assert run["report"]["customers"] == len({r["customer_id"] for r in sends if r["status"] != "suppressed"})


def test_a_run_reports_how_far_it_went_and_its_dead_letters(run: dict[str, Any]) -> None:
    info = run["report"]["run"]
    assert info["events"] == len(run["events"].read_text().splitlines())
    last, until = (dt.datetime.fromisoformat(info[k].replace("Z", "+00:00")) for k in ("last_event", "until"))
    # the example journeys' longest timer is `wait 30d`; their schema's contact policy settles in the default 1m
    assert until - last == dt.timedelta(days=30, minutes=1)
    assert info["horizon"] == "the last event + 30d, the longest timer, + 1m, the longest policy settle"
    assert info["dead"] > 0  # synth draws some bad events on purpose
    first = info["dead_letters"][0]
    assert f"dead letter: {run['events']}:{first['line']}: " in run["stderr"]


POLICY = "\n  policy {\n    cap email 2 per 7d across journeys\n    settle 5m\n  }\n"


def test_a_schema_with_a_contact_policy(tmp_path: Path) -> None:
    """The example journeys with `policy { cap email 2 per 7d across journeys settle 5m }` in their schema: the cap
    is shown, the run goes the settle further, and the figures are still the run's records counted directly
    (with the runtime's `policy` suppressions and their `held_by`, where it writes them)."""
    journeys = tmp_path / "journeys"
    shutil.copytree(JOURNEYS, journeys)
    schema = journeys / "customer.journey"
    text = schema.read_text(encoding="utf-8")
    start = text.index("  policy {")  # the example's own policy, replaced by this one
    end = text.index("  }\n", start) + len("  }\n")
    schema.write_text(text[:start] + POLICY.strip("\n") + "\n" + text[end:], encoding="utf-8")
    found = pressure_and_run(journeys, tmp_path, 300)
    report, records = found["report"], found["records"]
    email = next(c for c in report["channels"] if c["channel"] == "email")
    assert email["shared_caps"] == [{"schema": "customer", "max": 2, "per_s": 7 * 86400}]
    assert report["run"]["horizon"] == "the last event + 30d, the longest timer, + 5m, the longest policy settle"
    assert figures(report) == oracle(records)
    held = [r for r in records if r["kind"] == "send" and r.get("reason") == "policy"]
    assert sum(sum(j["held_by"].values()) for c in report["channels"] for j in c["journeys"]) == sum(
        1 for r in held if r.get("held_by")
    )


# --------------------------------------------------------------------------- drawn records

CUSTOMERS = st.sampled_from(["c1", "c2", "c3", "c/4"])
JOURNEY_NAMES = st.sampled_from(["cart", "solar", "coach"])
MOMENTS = st.integers(min_value=1_704_067_200, max_value=1_704_067_200 + 40 * 86400)  # around a year's turn


@st.composite
def send_records(draw: st.DrawFn) -> dict[str, Any]:
    status = draw(st.sampled_from(["sent", "sent", "delayed", "suppressed"]))
    moment = draw(MOMENTS)
    offset = draw(st.sampled_from(["Z", "+00:00", "+05:30", "-08:00"]))
    zone = dt.timezone(dt.timedelta(hours=5, minutes=30) if offset == "+05:30" else dt.timedelta(hours=-8))
    local = dt.datetime.fromtimestamp(moment, dt.UTC if offset in ("Z", "+00:00") else zone)
    at = local.strftime("%Y-%m-%dT%H:%M:%S") + offset
    record: dict[str, Any] = {
        "kind": "send",
        "journey": draw(JOURNEY_NAMES),
        "customer_id": draw(CUSTOMERS),
        "channel": draw(st.sampled_from(["email", "sms"])),
        "status": status,
        "at": at,
    }
    if status == "suppressed":
        record["reason"] = draw(st.sampled_from(["consent", "cap", "policy"]))
    if status != "sent" and draw(st.booleans()):
        record["held_by"] = draw(JOURNEY_NAMES)
    return record


OTHER = st.fixed_dictionaries({"kind": st.sampled_from(["enter", "goal", "end"]), "customer_id": CUSTOMERS})


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(send_records(), OTHER), max_size=60))
def test_drawn_records_figures_equal_the_oracle(records: list[dict[str, Any]]) -> None:
    report = pressure_of(records)
    assert figures(to_json(report)) == oracle(records)
    for channel in report.channels:
        assert sum(j.messages for j in channel.journeys) == channel.messages
        for d in (channel.per_day, channel.per_week):
            assert d.p50 <= d.p90 <= d.p99 <= d.max
        assert channel.per_week.pairs <= channel.per_day.pairs
        if channel.messages:
            assert abs(sum(j.share or 0 for j in channel.journeys) - 1) < 1e-9
        delayed_held = sum(
            1
            for r in records
            if r.get("channel") == channel.channel and r.get("status") == "delayed" and "held_by" in r
        )
        assert sum(sum(j.delayed_by.values()) for j in channel.journeys) == delayed_held
    render_text(report)  # renders whatever was drawn


# --------------------------------------------------------------------------- pieces


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [([], 50, 0), ([4], 99, 4), ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9), ([1] * 99 + [7], 99, 1), ([1, 2], 50, 1)],
)
def test_nearest_rank(values: list[int], p: int, expected: int) -> None:
    assert nearest_rank(values, p) == expected == percentile_by_definition(values, p)


@given(st.lists(st.integers(min_value=1, max_value=50), max_size=300), st.integers(min_value=1, max_value=100))
def test_nearest_rank_is_the_definition(values: list[int], p: int) -> None:
    assert nearest_rank(sorted(values), p) == percentile_by_definition(values, p)


def test_policy_records_by_hand() -> None:
    """What the runtime writes when a shared cap is contested: suppressed or delayed, with the journey that won."""
    base = {"kind": "send", "channel": "email", "customer_id": "c1", "at": "2026-03-02T10:00:00Z"}
    records = [
        {**base, "journey": "solar", "status": "sent"},
        {**base, "journey": "cart", "status": "suppressed", "reason": "policy", "held_by": "solar"},
        {**base, "journey": "cart", "status": "suppressed", "reason": "policy", "held_by": "solar"},
        {**base, "journey": "coach", "status": "delayed", "held_by": "solar", "at": "2026-03-09T10:00:00Z"},
        {**base, "journey": "coach", "status": "delayed", "at": "2026-03-02T22:00:00Z"},  # quiet hours: no holder
    ]
    caps = {"email": [PolicyCapFigure("customer", 1, 7 * 86400)], "sms": [PolicyCapFigure("customer", 2, 86400)]}
    report = pressure_of(records, caps)
    email, sms = report.channels
    assert (email.messages, email.suppressed, email.customers) == (3, 2, 1)
    # 2 on Monday 2 March (sent, and delayed to 22:00 the same day), 1 on Monday 9 March: ISO weeks 10 and 11
    assert email.per_day == email.per_week == Distribution(pairs=2, p50=1, p90=2, p99=2, max=2)
    cart = next(j for j in email.journeys if j.journey == "cart")
    coach = next(j for j in email.journeys if j.journey == "coach")
    assert cart.messages == 0 and cart.suppressed == {"policy": 2} and cart.held_by == {"solar": 2}
    assert coach.messages == 2 and coach.delayed == 2 and coach.delayed_by == {"solar": 1}
    assert sms.messages == 0 and sms.shared_caps[0].text == "2 per 1d"
    text = render_text(report)
    assert "policy    1 per 7d across journeys (schema customer)" in text
    assert "slot held by: solar 2" in text and "policy delayed, slot held by: solar 1" in text


def test_a_send_record_without_a_time_is_refused() -> None:
    with pytest.raises(PressureError, match="record 2: `at`"):
        pressure_of(
            [
                {"kind": "enter"},
                {"kind": "send", "journey": "j", "customer_id": "c", "channel": "e", "status": "sent", "at": "x"},
            ]
        )
    with pytest.raises(PressureError, match="record 1: a send record needs `channel`"):
        pressure_of([{"kind": "send", "journey": "j", "status": "sent"}])


def _plan(steps: list[dict[str, Any]], policy: dict[str, Any] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"name": "customer"}
    if policy is not None:
        schema["policy"] = policy
    return {"schema": schema, "steps": [{"flow": flow} for flow in steps]}


def test_horizon_and_shared_caps_from_plans() -> None:
    policy = {"caps": {"email": {"max": 3, "per_s": 604800}}, "settle_s": 120, "conflict": "suppress"}
    plans = [
        _plan([{"kind": "sleep", "after_s": 3 * 86400, "to": 1}, {"kind": "end", "outcome": None}], policy),
        _plan([{"kind": "wait", "on": {}, "timeout": {"after_s": 7 * 86400, "to": 0}}]),
        _plan([{"kind": "wait", "on": {}, "timeout": {"at": ["now"], "to": 0}}]),
    ]
    seconds, why = horizon_of(plans)
    assert seconds == 7 * 86400 + 120
    assert why == "the last event + 7d, the longest timer, + 2m, the longest policy settle"
    assert shared_caps_of(plans) == {"email": [PolicyCapFigure("customer", 3, 604800)]}
    assert horizon_of([_plan([])]) == (0, "the last event + 0s, the longest timer")


def test_dead_letter_location() -> None:
    assert DeadLetter(3, 7, "not JSON: x").located("ev.jsonl") == "ev.jsonl:3:7: not JSON: x"
    assert DeadLetter(3, None, "unknown event type").located(None) == "line 3: unknown event type"
