"""Durations as text (syntax/durations.py): one reading for the DSL, the YAML form, its JSON Schema and scenarios."""

from __future__ import annotations

import re

import pytest

from journeydsl.ir import DURATION_UNITS, Duration, Span
from journeydsl.syntax import parse_dsl
from journeydsl.syntax.durations import DURATION_PATTERN, bounded_duration, split_duration, split_token, total_seconds
from journeydsl.syntax.json_schema import journey_json_schema
from journeydsl.syntax.limits import MAX_DURATION_S
from journeydsl.syntax.yaml_loader import load_yaml
from journeydsl.testing.scenario import AdvanceStep, parse_scenarios


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7d", ("7", "d")), ("0s", ("0", "s")), ("12w", ("12", "w")), ("7", None), ("d", None), ("1.5h", None)]
    + [("7x", None), (" 7d", None), ("7d7d", None), ("٣d", None)],  # Arabic-Indic digits are not digits here
)
def test_split_duration(text: str, expected: tuple[str, str] | None) -> None:
    assert split_duration(text) == expected
    assert (re.fullmatch(DURATION_PATTERN, text) is not None) == (expected is not None)


def test_split_token_keeps_what_the_dsl_reports() -> None:
    assert split_token("1.5h") == ("1.5", "h")
    assert split_token("3days") == ("3", "days")


def test_bounded_duration() -> None:
    span = Span("f", 1, 1, 1, 3)
    assert bounded_duration("7", "d", span) == (Duration(7, "d"), True)
    assert bounded_duration("7", "d", span)[0].span == span
    longest = MAX_DURATION_S // DURATION_UNITS["w"]
    assert bounded_duration(str(longest), "w") == (Duration(longest, "w"), True)
    assert bounded_duration(str(longest + 1), "w") == (Duration(longest, "w"), False)
    assert bounded_duration("9" * 5000, "s") == (Duration(MAX_DURATION_S, "s"), False)  # never converted


def test_total_seconds() -> None:
    assert total_seconds("8d20h") == (8 * 86400 + 20 * 3600, True)
    assert total_seconds("30s") == (30, True)
    assert total_seconds("8 days") is None
    assert total_seconds("") is None
    assert total_seconds(f"{MAX_DURATION_S}s1s") == (MAX_DURATION_S, False)
    assert total_seconds("9" * 5000 + "d") == (MAX_DURATION_S, False)


def test_every_reader_takes_the_same_durations() -> None:
    """The DSL, the YAML form, the JSON Schema and a scenario's `advance` agree on `7d` and on `7 d`."""
    schema = journey_json_schema()
    assert schema["$defs"]["duration"]["pattern"] == f"^{DURATION_PATTERN}$"
    dsl, problems = parse_dsl("journey j { cap email 1 per 7d }", "j.journey")
    assert problems == [] and dsl.journeys[0].caps[0].per == Duration(7, "d")
    yaml, problems = load_yaml("journey: j\ncaps: [{channel: email, max: 1, per: 7d}]\n", "j.journey.yaml")
    assert problems == [] and yaml.journeys[0].caps[0].per == Duration(7, "d")
    _, problems = load_yaml("journey: j\ncaps: [{channel: email, max: 1, per: 7 d}]\n", "j.journey.yaml")
    assert [d.code.code for d in problems] == ["JD007"]
    scenarios, problems = parse_scenarios("journey: j\nscenarios:\n  - {name: a, events: [{advance: 7d}]}\n", "s")
    assert problems == [] and scenarios.scenarios[0].steps == (AdvanceStep("7d", seconds=7 * 86400),)


def test_a_scenario_advance_too_long_is_reported() -> None:
    text = "journey: j\nscenarios:\n  - {name: a, events: [{advance: " + "9" * 5000 + "d}]}\n"
    _, problems = parse_scenarios(text, "s.scenario.yaml")
    assert [(d.code.code, d.message) for d in problems] == [("JD702", f"the duration `{'9' * 20}…` is too long")]
