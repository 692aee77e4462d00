"""Scenario files: the SPEC section 9 example loads; malformed files give diagnostics with line and column."""

from __future__ import annotations

import datetime as dt

import pytest

from journeydsl.testing.scenario import AdvanceStep, EventStep, find_scenario_files, parse_scenarios

SPEC_EXAMPLE = """\
journey: solar_onboarding
scenarios:
  - name: big roof signs after a nudge
    customer_id: c-42                       # optional; default "scenario-<n>"
    force: {nudge_copy: friendly}           # pin experiment variants for this scenario
    profile: {segment: new, consent_email: true, consent_sms: true, ltv: 0}
    events:
      - {type: quote_requested, at: 2026-01-01T10:00:00Z, data: {roof_area_m2: 55, zip: "28001"}}
      - {advance: 8d}
      - {type: contract_signed, at: 2026-01-10T09:00:00Z, data: {amount: 12000}}
    expect:
      path: [welcome, size_roof, offer_full, await_signature, nudge, "*", last_call, install]
      sends: [{channel: email, template: welcome}, {channel: email, template: offer_full}]
      goals: [signed]
      variant: {nudge_copy: friendly}
"""


def problems(text: str) -> list[tuple[str, int, int, str]]:
    _, diagnostics = parse_scenarios(text, "s.scenario.yaml")
    return [(d.code.code, d.span.line, d.span.col, d.message) for d in diagnostics if d.span]


def test_spec_example_loads() -> None:
    loaded, diagnostics = parse_scenarios(SPEC_EXAMPLE, "s.scenario.yaml")
    assert diagnostics == []
    (scenario,) = loaded.scenarios
    assert scenario.journey == "solar_onboarding"
    assert scenario.customer_id == "c-42"
    assert scenario.force == {"nudge_copy": "friendly"}
    assert scenario.profile["consent_email"] is True
    first, advance, last = scenario.steps
    assert isinstance(first, EventStep) and first.at == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    assert first.data == {"roof_area_m2": 55, "zip": "28001"}
    assert isinstance(advance, AdvanceStep) and advance.seconds == 8 * 86400
    assert isinstance(last, EventStep) and last.type == "contract_signed"
    assert scenario.expect.path is not None and scenario.expect.path[5] == "*"
    assert [s.template for s in scenario.expect.sends or ()] == ["welcome", "offer_full"]
    assert [g.name for g in scenario.expect.goals or ()] == ["signed"]
    assert scenario.span.line == 3


def test_advance_takes_compound_durations_and_times() -> None:
    text = "journey: j\nscenarios:\n  - name: a\n    events: [{advance: 8d20h}, {advance: 2026-02-01T00:00:00Z}]\n"
    loaded, diagnostics = parse_scenarios(text, "s.scenario.yaml")
    assert diagnostics == []
    first, second = loaded.scenarios[0].steps
    assert isinstance(first, AdvanceStep) and first.seconds == 8 * 86400 + 20 * 3600
    assert isinstance(second, AdvanceStep) and second.until == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def test_default_customer_ids_count_from_one() -> None:
    text = "journey: j\nscenarios:\n  - {name: a, events: []}\n  - {name: b, events: []}\n"
    loaded, diagnostics = parse_scenarios(text, "s.scenario.yaml")
    assert diagnostics == []
    assert [s.customer_id for s in loaded.scenarios] == ["scenario-1", "scenario-2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("journey: j\nscenarios:\n  - name: a\n    evnts: []\n", ("JD701", 4, 5, "unknown key `evnts` in scenario 1")),
        ("journey: j\nscenarios: [1, 2\n", ("JD003", 3, 1, "YAML syntax error")),
        (
            "journey: j\nscenarios:\n  - name: a\n    events:\n      - {type: e, at: 2026-01-01T10:00:00}\n",
            ("JD702", 5, 23, "event `at` `2026-01-01T10:00:00` has no UTC offset"),
        ),
        (
            "journey: j\nscenarios:\n  - name: a\n    events:\n      - {type: e, at: tomorrow}\n",
            ("JD702", 5, 23, "event `at` `tomorrow` is not an RFC 3339 time"),
        ),
        (
            "journey: j\nscenarios:\n  - name: a\n    events:\n      - {advance: 8 days}\n",
            ("JD702", 5, 19, "`advance: 8 days` is neither a duration nor a time"),
        ),
        (
            "journey: j\nscenarios:\n  - name: a\n    events:\n      - {at: 2026-01-01T10:00:00Z}\n",
            ("JD701", 5, 9, "an event needs `type`"),
        ),
        ("journey: j\nscenarios: {a: 1}\n", ("JD701", 2, 12, "`scenarios` must be a list, not a mapping")),
        (
            "journey: j\nscenarios:\n  - name: a\n    events: []\n"
            "    expect: {sends: [{channel: email, status: lost}]}\n",
            ("JD702", 5, 47, "send status `lost` is not one of sent, suppressed, delayed"),
        ),
        ("journey: j\nscenarios:\n  - !!python/object/apply:os.system [ls]\n", ("JD005", 3, 5, "the YAML tag")),
        ("scenarios:\n  - {name: a, events: []}\n", ("JD701", 2, 5, "scenario `a` does not say which journey")),
    ],
)
def test_malformed_files_get_positioned_diagnostics(text: str, expected: tuple[str, int, int, str]) -> None:
    found = problems(text)
    code, line, col, message = expected
    assert any(c == code and ln == line and cl == col and m.startswith(message) for c, ln, cl, m in found), found


def test_unknown_key_hints_the_close_one() -> None:
    _, diagnostics = parse_scenarios("journey: j\nscenarios:\n  - {name: a, events: [], expcet: {}}\n", "s.yaml")
    assert diagnostics[0].hint == "did you mean `expect`?"


def test_alias_bomb_is_refused_not_expanded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 7):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    text = "journey: j\nscenarios:\n  - name: a\n    events: []\n    profile:\n      " + "\n      ".join(lines) + "\n"
    codes = [code for code, *_ in problems(text)]
    assert "JD005" in codes


def test_a_bad_scenario_does_not_hide_the_good_ones() -> None:
    text = "journey: j\nscenarios:\n  - {name: bad, events: [{type: e}]}\n  - {name: good, events: []}\n"
    loaded, diagnostics = parse_scenarios(text, "s.scenario.yaml")
    assert [s.name for s in loaded.scenarios] == ["good"]
    assert len(diagnostics) == 1


def test_find_scenario_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.scenario.yaml").write_text("")
    (tmp_path / "b.scenario.yml").write_text("")
    (tmp_path / "c.journey.yaml").write_text("")
    found = [p.name for p in find_scenario_files([tmp_path, tmp_path / "b.scenario.yml"])]
    assert sorted(found) == ["a.scenario.yaml", "b.scenario.yml"]
