"""Parsing every construct of SPEC 3 into the IR, with spans."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeydsl.ir import (
    Binary,
    CallAction,
    Choose,
    Duration,
    Emit,
    End,
    Experiment,
    Goto,
    ListLit,
    Literal,
    Name,
    Send,
    SetProfile,
    Sleep,
    Span,
    TypeRef,
    Unary,
    Wait,
)
from journeydsl.resources import grammar_path
from journeydsl.syntax import parse_dsl, parse_expression, parse_type

SPEC_EXAMPLE = (Path(__file__).parent / "spec_example.journey").read_text(encoding="utf-8")
ORIGIN = Span("f.yaml", 1, 1, 1, 1)


def parse_ok(text: str):
    source, diagnostics = parse_dsl(text, "t.journey")
    assert diagnostics == []
    return source


def test_grammar_is_found_by_the_package() -> None:
    assert grammar_path().name == "journey.lark"
    assert "start:" in grammar_path().read_text(encoding="utf-8")


def test_spec_schema() -> None:
    schema = parse_ok(SPEC_EXAMPLE).schemas[0]
    assert schema.name == "customer"
    profile = {f.name: f.type for f in schema.profile}
    assert profile["email"] == TypeRef("string")
    assert profile["first_name"] == TypeRef("string", nullable=True)
    assert profile["segment"] == TypeRef("enum", members=("new", "active", "vip", "churned"))
    assert profile["interests"] == TypeRef("list", item=TypeRef("string"))
    events = {e.name: e for e in schema.events}
    assert [f.name for f in events["quote_requested"].fields] == ["roof_area_m2", "zip"]
    assert events["contract_cancelled"].fields == ()
    channels = {c.name: c for c in schema.channels}
    assert channels["email"].cost == 0.002 and channels["email"].requires == "consent_email"
    assert channels["push"].requires is None


def test_spec_journey_header_and_policies() -> None:
    journey = parse_ok(SPEC_EXAMPLE).journeys[0]
    assert (journey.name, journey.title, journey.version) == ("solar_onboarding", "Solar onboarding", 3)
    assert journey.owner == "maria.lopez@sunco.example"
    assert (journey.experience, journey.uses) == ("respond_to_desire", "customer")
    assert journey.entry is not None and journey.entry.event == "quote_requested"
    assert journey.entry.where == Binary("!=", Name(("profile", "segment")), Literal("churned"))
    assert journey.reentry is not None and journey.reentry.after == Duration(90, "d")
    assert [e.event for e in journey.exits] == ["unsubscribed", "contract_cancelled"]
    goal = journey.goals[0]
    assert (goal.name, goal.event, goal.within, goal.value) == (
        "signed",
        "contract_signed",
        Duration(30, "d"),
        Name(("event", "amount")),
    )
    assert (journey.caps[0].channel, journey.caps[0].max, journey.caps[0].per) == ("email", 3, Duration(7, "d"))
    assert journey.quiet is not None and (journey.quiet.start, journey.quiet.end) == ("21:00", "08:00")
    assert [s.name for s in journey.stages] == ["recognize", "request", "respond", "repeat"]


def test_spec_journey_steps() -> None:
    steps = parse_ok(SPEC_EXAMPLE).journeys[0].step_map()
    welcome = steps["welcome"]
    assert isinstance(welcome.actions[0], Send) and welcome.actions[0].args[0].name == "roof"
    assert welcome.actions[1] == SetProfile("segment", Literal("active"))
    assert welcome.flow == Goto(welcome.flow.target)  # type: ignore[union-attr]
    choose = steps["size_roof"].flow
    assert isinstance(choose, Choose) and len(choose.branches) == 2 and choose.otherwise is not None
    assert choose.otherwise.name == "advisor_call"
    assert isinstance(steps["advisor_call"].actions[0], CallAction)
    wait = steps["await_signature"].flow
    assert isinstance(wait, Wait) and [a.event for a in wait.arms] == ["contract_signed", "quote_requested"]
    assert wait.timeout is not None and wait.timeout.after == Duration(7, "d")
    experiment = steps["nudge"].flow
    assert isinstance(experiment, Experiment)
    assert [(v.name, v.weight, v.control) for v in experiment.variants] == [
        ("friendly", 50, False),
        ("urgent", 40, False),
        ("control", 10, True),
    ]
    install = steps["install"]
    assert isinstance(install.actions[0], Emit) and isinstance(install.flow, Sleep)
    assert install.flow.duration == Duration(30, "d")
    assert steps["done"].flow == End("converted")


def test_entry_key_audience_wait_at_and_keywords_as_names() -> None:
    source = parse_ok(
        """
journey carts {
  version 1
  owner "a@b"
  team "growth"
  description "per cart"
  tags ["cart", "recovery"]
  entry on cart_updated where event.total > 0 key event.cart_id
  audience profile.ltv >= 100 and profile.on != null
  reentry always
  exit on order_placed where event.cart_id == journey.key
  stage s {
    step end { wait { on cart_updated where event.at > now -> end  at event.at + 1d -> done } }
    step done { end }
  }
}
"""
    )
    journey = source.journeys[0]
    assert journey.tags == ("cart", "recovery") and journey.team == "growth"
    assert journey.entry is not None and journey.entry.key == Name(("event", "cart_id"))
    assert journey.audience is not None
    assert journey.reentry is not None and journey.reentry.mode == "always"
    step = journey.stages[0].steps[0]
    assert step.name == "end"
    wait = step.flow
    assert isinstance(wait, Wait) and wait.arms[0].target.name == "end"
    assert wait.timeout is not None and wait.timeout.at == Binary("+", Name(("event", "at")), Literal(Duration(1, "d")))
    assert journey.stages[0].steps[1].flow == End(None)


def test_several_journeys_and_comments_kept() -> None:
    source = parse_ok("# top\njourney a { version 1 }  # trailing\n\njourney b { version 2 }\n")
    assert [j.name for j in source.journeys] == ["a", "b"]
    assert [(c.text, c.line, c.col, c.trailing) for c in source.comments] == [
        ("# top", 1, 1, False),
        ("# trailing", 2, 26, True),
    ]


def test_spans_are_one_based_and_point_at_the_node() -> None:
    source = parse_ok("journey j {\n  stage s {\n    step a { send email hi -> b }\n  }\n}\n")
    step = source.journeys[0].stages[0].steps[0]
    assert step.span == Span("t.journey", 3, 5, 3, 34)
    assert step.actions[0].span == Span("t.journey", 3, 14, 3, 27)
    assert step.flow.target.span == Span("t.journey", 3, 31, 3, 32)  # type: ignore[union-attr]
    assert source.journeys[0].span == Span("t.journey", 1, 1, 5, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", Binary("+", Literal(1), Binary("*", Literal(2), Literal(3)))),
        ("(1 + 2) * 3", Binary("*", Binary("+", Literal(1), Literal(2)), Literal(3))),
        ("a or b and c", Binary("or", Name(("a",)), Binary("and", Name(("b",)), Name(("c",))))),
        ("not a == b", Unary("not", Binary("==", Name(("a",)), Name(("b",))))),
        ("x not in [1, 2]", Binary("not in", Name(("x",)), ListLit((Literal(1), Literal(2))))),
        ("1 - 2 - 3", Binary("-", Binary("-", Literal(1), Literal(2)), Literal(3))),
        ("-x * 2", Binary("*", Unary("-", Name(("x",))), Literal(2))),
        ("-5", Literal(-5)),
        ("now - 7d", Binary("-", Name(("now",)), Literal(Duration(7, "d")))),
        ('"a\\"b\\\\"', Literal('a"b\\')),
        ("true and null == false", Binary("and", Literal(True), Binary("==", Literal(None), Literal(False)))),
        ("2.5 % 2", Binary("%", Literal(2.5), Literal(2))),
    ],
)
def test_expression_precedence(text: str, expected: object) -> None:
    expr, diagnostics = parse_expression(text, ORIGIN)
    assert diagnostics == []
    assert expr == expected


def test_calls_and_durations() -> None:
    expr, diagnostics = parse_expression('days_since(profile.last_purchase_at) > 30 or lower(x) == "a"', ORIGIN)
    assert diagnostics == []
    assert isinstance(expr, Binary) and expr.op == "or"
    for unit in ("30s", "15m", "12h", "7d", "2w"):
        value, diagnostics = parse_expression(unit, ORIGIN)
        assert diagnostics == [] and value == Literal(Duration(int(unit[:-1]), unit[-1]))


def test_expression_positions_are_offset_into_the_yaml_string() -> None:
    expr, diagnostics = parse_expression("event.x >= 40", Span("j.yaml", 7, 15, 7, 28))
    assert diagnostics == []
    assert expr is not None and expr.span == Span("j.yaml", 7, 15, 7, 28)
    _, diagnostics = parse_expression("event.x >= ", Span("j.yaml", 7, 15, 7, 26))
    assert [d.code.code for d in diagnostics] == ["JD002"]
    _, diagnostics = parse_expression("event.x >= )", Span("j.yaml", 7, 15, 7, 27))
    assert diagnostics[0].code.code == "JD001"
    assert diagnostics[0].span is not None and (diagnostics[0].span.line, diagnostics[0].span.col) == (7, 26)


def test_parse_type() -> None:
    assert parse_type("list<enum(a, b)>?", ORIGIN) == (
        TypeRef("list", nullable=True, item=TypeRef("enum", members=("a", "b"))),
        [],
    )
    value, diagnostics = parse_type("strng", ORIGIN)
    assert value is not None and diagnostics[0].hint is not None and "string" in diagnostics[0].hint


def test_keywords_are_plain_names_wherever_a_keyword_cannot_stand() -> None:
    text = """
schema step {
  profile { on: string, value: number?, key: list<string>, list: bool, end: enum(wait, send) }
  event wait { at: timestamp, where: string }
  channel send { cost 1 requires profile.list }
}
journey end {
  version 1
  uses step
  entry on wait where event.where == "x" key event.at
  goal value on wait where profile.on != null within 1d value profile.value
  cap send 1 per 1d
  stage stage {
    step wait { send send end with { key: profile.key, on: event.at } -> end }
    step end { wait { on wait where profile.end == "send" -> wait  at event.at + 1h -> choose } }
    step choose { end end }
  }
}
"""
    source = parse_ok(text)
    schema, journey = source.schemas[0], source.journeys[0]
    assert [f.name for f in schema.profile] == ["on", "value", "key", "list", "end"]
    assert schema.channels[0].requires == "list"
    assert journey.name == "end" and journey.goals[0].name == "value"
    steps = journey.step_map()
    assert set(steps) == {"wait", "end", "choose"}
    send = steps["wait"].actions[0]
    assert isinstance(send, Send) and (send.channel, send.template) == ("send", "end")
    assert steps["choose"].flow == End("end")
    from journeydsl.syntax import format_dsl

    assert parse_ok(format_dsl(source)) == source
