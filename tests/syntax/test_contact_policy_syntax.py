"""Issue 19's syntax: a schema's `policy { … }` and a goal's `expect N%`, in the DSL and the YAML form alike.

Both front ends must give the same IR, `fmt` and `convert` must keep it, the new words must stay usable as
names where they were names before, and bad input gets a diagnostic with a position (never a traceback).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.diagnostics import Diagnostic
from journeydsl.ir import ContactPolicy, Duration, Priority, Quiet, SharedCap, SourceFile
from journeydsl.syntax import format_dsl, parse_dsl
from journeydsl.syntax.yaml_loader import load_yaml
from journeydsl.syntax.yaml_writer import to_yaml

DSL = textwrap.dedent(
    """\
    schema customer {
      profile { consent_email: bool, priority: number }
      event service_active { }
      channel email { cost 0.002 requires profile.consent_email }
      channel sms { cost 0.05 }
      policy {
        cap email 3 per 7d across journeys   # the shared cap
        cap sms 1 per 1d across journeys
        priority journeys [service_move, solar_onboarding, win_back]
        quiet 21:00-8:00
        settle 2m
        conflict delay
      }
    }

    journey service_move {
      uses customer
      entry on service_active
      goal activated on service_active within 30d value 20 expect 12%
      goal half on service_active expect 12.5%
      stage main { step done { end } }
    }
    """
)

YAML = textwrap.dedent(
    """\
    schema: customer
    profile: {consent_email: bool, priority: number}
    events: {service_active: {}}
    channels:
      email: {cost: 0.002, requires: profile.consent_email}
      sms: {cost: 0.05}
    policy:
      caps:
        - {channel: email, max: 3, per: 7d}   # the shared cap
        - {channel: sms, max: 1, per: 1d}
      priority: {journeys: [service_move, solar_onboarding, win_back]}
      quiet: "21:00-08:00"
      settle: 2m
      conflict: delay
    ---
    journey: service_move
    uses: customer
    entry: {on: service_active}
    goals:
      - {name: activated, on: service_active, within: 30d, value: "20", expect: 12%}
      - {name: half, on: service_active, expect: "12.5%"}
    stages:
      main:
        done: {end: null}
    """
)

POLICY = ContactPolicy(
    (SharedCap("email", 3, Duration(7, "d")), SharedCap("sms", 1, Duration(1, "d"))),
    priority=Priority("journeys", ("service_move", "solar_onboarding", "win_back")),
    quiet=Quiet("21:00", "08:00"),
    settle=Duration(2, "m"),
    conflict="delay",
)


def _dsl(text: str) -> tuple[SourceFile, list[Diagnostic]]:
    return parse_dsl(textwrap.dedent(text), "t.journey")


def _yaml(text: str) -> tuple[SourceFile, list[Diagnostic]]:
    return load_yaml(textwrap.dedent(text), "t.journey.yaml")


def _one(diagnostics: list[Diagnostic], code: str) -> Diagnostic:
    found = [d for d in diagnostics if d.code.code == code]
    assert len(found) == 1, [(d.code.code, d.message) for d in diagnostics]
    return found[0]


def test_the_dsl_reads_the_policy_and_expect() -> None:
    source, diagnostics = _dsl(DSL)
    assert diagnostics == []
    assert source.schemas[0].policy == POLICY
    assert [g.expect for g in source.journeys[0].goals] == [12.0, 12.5]


def test_the_yaml_twin_gives_the_same_ir() -> None:
    dsl, dsl_diagnostics = _dsl(DSL)
    yaml, yaml_diagnostics = _yaml(YAML)
    assert dsl_diagnostics == [] and yaml_diagnostics == []
    assert yaml.schemas == dsl.schemas and yaml.journeys == dsl.journeys


def test_spans_point_at_each_node() -> None:
    source, _ = _dsl(DSL)
    policy = source.schemas[0].policy
    assert policy is not None and policy.span is not None
    assert (policy.span.line, policy.span.col, policy.span.end_line) == (6, 3, 13)
    cap = policy.caps[0].span
    assert cap is not None and (cap.line, cap.col, cap.end_col) == (7, 5, 39)  # through `across journeys`
    assert policy.priority is not None
    assert [(s.line, s.col) for s in policy.priority.name_spans] == [(9, 24), (9, 38), (9, 56)]
    spans = dict(policy.item_spans)
    assert (spans["settle"].line, spans["conflict"].line) == (11, 12)
    goal = source.journeys[0].goals[0].span
    assert goal is not None and (goal.line, goal.end_col) == (19, 66)  # through the `%`
    yaml, _ = _yaml(YAML)
    yaml_policy = yaml.schemas[0].policy
    assert yaml_policy is not None and yaml_policy.priority is not None
    assert [(s.line, s.col) for s in yaml_policy.priority.name_spans] == [(11, 25), (11, 39), (11, 57)]
    assert dict(yaml_policy.item_spans)["settle"].line == 13


def test_fmt_and_convert_keep_the_policy_and_its_comments() -> None:
    source, _ = _dsl(DSL)
    text = format_dsl(source)
    assert "    cap email 3 per 7d across journeys  # the shared cap" in text
    assert "goal half on service_active expect 12.5%" in text
    assert format_dsl(parse_dsl(text, "t.journey")[0]) == text
    back, diagnostics = load_yaml(to_yaml(source), "t.journey.yaml")
    assert diagnostics == [] and back.schemas == source.schemas and back.journeys == source.journeys
    assert "expect: 12%" in to_yaml(source)


def test_an_explicit_default_conflict_is_kept_by_fmt() -> None:
    source, _ = _dsl("schema s { policy { conflict suppress } }")
    assert "conflict suppress" in format_dsl(source)
    assert "conflict: suppress" in to_yaml(source)
    bare, _ = _dsl("schema s { policy { } }")
    assert bare.schemas[0].policy == ContactPolicy()
    assert "conflict" not in format_dsl(bare)


@pytest.mark.parametrize(
    "text",
    [
        "schema s { profile { policy: string, priority: number, expect: number, settle: bool, conflict: string } }",
        "journey policy { stage across { step journeys { -> settle } step settle { end expect } } }",
        "journey j { entry on conflict where profile.priority > 1 goal expect on priority }",
    ],
)
def test_the_new_words_stay_names_where_names_were(text: str) -> None:
    _, diagnostics = _dsl(text)
    assert diagnostics == []


def test_a_policy_cap_needs_across_journeys() -> None:
    _, diagnostics = _dsl("schema s {\n  policy {\n    cap email 3 per 7d\n  }\n}\n")
    found = _one(diagnostics, "JD001")
    assert found.span is not None and found.span.line == 4
    assert found.hint is not None and "across journeys" in found.hint


def test_a_wrong_priority_kind_or_conflict_mode_is_named() -> None:
    _, diagnostics = _dsl("schema s { policy { priority journey [a] conflict dely } }")
    messages = [(d.code.code, d.message, d.hint) for d in diagnostics]
    assert len(messages) == 2, messages
    kind, mode = sorted(diagnostics, key=lambda d: d.span.col if d.span else 0)
    assert kind.code.code == "JD001" and kind.span is not None and kind.span.col == 30
    assert "did you mean `journeys`" in (kind.hint or "")
    # A wrong mode is a bad literal in both forms, and the policy is kept with the default mode.
    assert mode.code.code == "JD007" and mode.span is not None and "did you mean `delay`" in (mode.hint or "")


def test_a_second_policy_block_or_item_is_jd009() -> None:
    _, diagnostics = _dsl("schema s {\n  policy { settle 1m }\n  policy { }\n}\n")
    found = _one(diagnostics, "JD009")
    assert found.span is not None and found.span.line == 3 and "`policy`" in found.message
    _, diagnostics = _dsl("schema s { policy { settle 1m quiet 21:00-08:00 settle 2m quiet 22:00-08:00 } }")
    assert [d.code.code for d in diagnostics] == ["JD009", "JD009"]


def test_bad_durations_and_numbers_in_the_dsl() -> None:
    _, diagnostics = _dsl("schema s { policy { cap email 1.5 per 7days across journeys settle 1.5h } }")
    assert sorted(d.code.code for d in diagnostics) == ["JD007", "JD007", "JD007"]
    _, diagnostics = _dsl("journey j { goal g on e expect 12 }")
    found = _one(diagnostics, "JD001")
    assert found.span is not None and found.hint is not None and "`expect 12%`" in found.hint


@pytest.mark.parametrize(
    ("body", "code", "line", "col", "words"),
    [
        ("expect: 12", "JD007", 1, 30, "write expect: 12%"),
        ("expect: 0.12", "JD007", 1, 30, "write expect: 0.12%"),
        ("expect: twelve", "JD007", 1, 30, "write expect: 12%"),
        ("expect: [12]", "JD007", 1, 30, "write expect: 12%"),
    ],
)
def test_yaml_expect_must_be_a_percentage(body: str, code: str, line: int, col: int, words: str) -> None:
    text = "journey: j\ngoals:\n  - {name: g, on: e, " + body + "}\n"
    _, diagnostics = load_yaml(text, "t.journey.yaml")
    found = _one(diagnostics, code)
    assert found.span is not None and (found.span.line, found.span.col) == (line + 2, col)
    assert found.hint == words


@pytest.mark.parametrize(
    ("policy", "code", "words"),
    [
        ("{capz: []}", "JD004", "did you mean `caps`?"),
        ("[]", "JD004", "must be a mapping"),
        ("{caps: {channel: email}}", "JD004", "must be a list"),
        ("{caps: [{channel: email, max: 3}]}", "JD004", "missing the key `per`"),
        ("{caps: [{channel: email, max: three, per: 7d}]}", "JD004", "must be an integer"),
        ("{caps: [{channel: email, max: 3, per: 7days}]}", "JD007", "not a duration"),
        ("{settle: soon}", "JD007", "not a duration"),
        ("{quiet: '25:00-08:00'}", "JD007", "time range"),
        ("{conflict: drop}", "JD007", "`suppress` or `delay`"),
        ("{priority: [a, b]}", "JD004", "must be a mapping"),
        ("{priority: {journeys: [a], experiences: [b]}}", "JD004", "either `journeys` or `experiences`"),
        ("{priority: {journey: [a]}}", "JD004", "unknown key `journey`"),
        ("{priority: {journeys: a}}", "JD004", "must be a list"),
        ("{priority: {journeys: [Not-a-name]}}", "JD004", "not a valid journey name"),
    ],
)
def test_yaml_policy_errors_have_a_position(policy: str, code: str, words: str) -> None:
    text = "schema: s\npolicy: " + policy + "\n"
    source, diagnostics = load_yaml(text, "t.journey.yaml")
    found = _one(diagnostics, code)
    assert words in found.message + " " + (found.hint or "")
    assert found.span is not None and found.span.line == 2 and found.span.file == "t.journey.yaml"
    assert len(source.schemas) == 1  # the schema is kept, without what was wrong


def test_a_second_policy_key_in_yaml_is_a_duplicate() -> None:
    _, diagnostics = load_yaml("schema: s\npolicy: {}\npolicy: {settle: 1m}\n", "t.journey.yaml")
    found = _one(diagnostics, "JD004")
    assert "duplicate key `policy`" in found.message and found.span is not None and found.span.line == 3


COMMENTED = """\
schema customer {
  channel email { cost 0.002 }
  # the policy
  policy {
    # email is precious
    cap email 3 per 7d across journeys  # three a week
    priority journeys [a, b]  # a first
    settle 5m  # short
    conflict delay  # later
  }
}
"""


def test_journeydsl_convert_keeps_the_policys_comments_both_ways(tmp_path: Path) -> None:
    source = tmp_path / "c.journey"
    source.write_text(COMMENTED, encoding="utf-8")
    result = CliRunner().invoke(main, ["convert", str(source), "--to", "yaml"])
    assert result.exit_code == 0, result.output
    yaml_text = result.output
    for line in (
        "# the policy\npolicy:\n",
        "    # email is precious\n    - {channel: email, max: 3, per: 7d}  # three a week\n",
        "  priority:  # a first\n",
        "  settle: 5m  # short\n",
        "  conflict: delay  # later\n",
    ):
        assert line in yaml_text
    twin = tmp_path / "c.journey.yaml"
    twin.write_text(yaml_text, encoding="utf-8")
    result = CliRunner().invoke(main, ["convert", str(twin), "--to", "dsl"])
    assert result.exit_code == 0, result.output
    back = result.output
    for line in ("  # the policy\n  policy {\n", "    priority journeys [a, b]  # a first\n", "settle 5m  # short"):
        assert line in back
    assert parse_dsl(back, "b.journey")[0].schemas == parse_dsl(COMMENTED, "c.journey")[0].schemas


def test_journeydsl_fmt_is_stable_on_a_policy(tmp_path: Path) -> None:
    path = tmp_path / "c.journey"
    path.write_text(COMMENTED.replace("    cap email", "  cap   email"), encoding="utf-8")
    assert CliRunner().invoke(main, ["fmt", str(path)]).exit_code == 0
    once = path.read_text(encoding="utf-8")
    assert "    cap email 3 per 7d across journeys  # three a week\n" in once
    assert CliRunner().invoke(main, ["fmt", "--check", str(path)]).exit_code == 0
