"""IR -> plan dict: the SPEC 3.2 solar journey lowered to the format of docs/bundle-format.md."""

from __future__ import annotations

import json
from typing import Any

import pytest
from compile_support import SOLAR_DSL, customer_schema, solar_journey
from hypothesis import given
from hypothesis import strategies as st

from journeydsl.compile.expr import ExprLoweringError, serialize
from journeydsl.compile.plan import JourneyLoweringError, build_index, lower_journey
from journeydsl.ir import (
    Binary,
    Call,
    Duration,
    End,
    Entry,
    Expr,
    Goto,
    Journey,
    ListLit,
    Literal,
    Name,
    Stage,
    Step,
    Target,
    Unary,
)
from journeydsl.syntax import parse_dsl


@pytest.fixture
def plan() -> dict[str, Any]:
    return lower_journey(solar_journey(), customer_schema(), source="solar.journey")


def _step(plan: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in plan["steps"] if s["name"] == name)


def test_steps_are_numbered_in_source_order(plan: dict[str, Any]) -> None:
    names = [s["name"] for s in plan["steps"]]
    assert names == [
        "welcome", "size_roof", "offer_full", "offer_small", "advisor_call", "await_signature", "nudge",
        "nudge_friendly", "nudge_urgent", "last_call", "install", "review", "done", "lost",
    ]  # fmt: skip
    assert [s["id"] for s in plan["steps"]] == list(range(len(names)))
    assert plan["entry_step"] == 0
    assert _step(plan, "install")["stage"] == "respond"
    assert _step(plan, "welcome")["line"] == 18


def test_wait_table_by_event_with_timeout_in_seconds(plan: dict[str, Any]) -> None:
    ids = {s["name"]: s["id"] for s in plan["steps"]}
    assert _step(plan, "await_signature")["flow"] == {
        "kind": "wait",
        "on": {"contract_signed": [[None, ids["install"]]], "quote_requested": [[None, ids["size_roof"]]]},
        "timeout": {"after_s": 7 * 86400, "to": ids["nudge"]},
        "order": ["contract_signed", "quote_requested"],
    }
    assert _step(plan, "install")["flow"] == {"kind": "sleep", "after_s": 30 * 86400, "to": ids["review"]}


def test_choose_and_experiment_serialize_conditions_and_weights(plan: dict[str, Any]) -> None:
    ids = {s["name"]: s["id"] for s in plan["steps"]}
    roof = ["ref", "event", "roof_area_m2"]
    assert _step(plan, "size_roof")["flow"] == {
        "kind": "choose",
        "branches": [[[">=", roof, ["lit", 40]], ids["offer_full"]], [[">=", roof, ["lit", 15]], ids["offer_small"]]],
        "otherwise": ids["advisor_call"],
    }
    variants = _step(plan, "nudge")["flow"]["variants"]
    assert [(v["name"], v["weight"], v["to"], v["control"]) for v in variants] == [
        ("friendly", 50, ids["nudge_friendly"], False),
        ("urgent", 40, ids["nudge_urgent"], False),
        ("control", 10, ids["lost"], True),
    ]
    assert _step(plan, "lost")["flow"] == {"kind": "end", "outcome": "lost"}


def test_actions(plan: dict[str, Any]) -> None:
    assert _step(plan, "welcome")["actions"] == [
        {"kind": "send", "channel": "email", "template": "welcome", "args": {"roof": ["ref", "event", "roof_area_m2"]}},
        {"kind": "set", "field": "segment", "value": ["lit", "active"]},
    ]
    assert _step(plan, "advisor_call")["actions"] == [
        {"kind": "call", "name": "crm_task", "args": {"kind": ["lit", "advisor_call"]}}
    ]
    assert _step(plan, "install")["actions"] == [
        {"kind": "emit", "event": "install_scheduled", "args": {"amount": ["ref", "event", "amount"]}}
    ]


def test_policies(plan: dict[str, Any]) -> None:
    assert plan["entry"] == {
        "event": "quote_requested",
        "where": ["!=", ["ref", "profile", "segment"], ["lit", "churned"]],
        "key": None,
        "audience": None,
    }
    assert plan["reentry"] == {"mode": "after", "after_s": 90 * 86400}
    assert plan["exits"] == {"unsubscribed": [{"where": None}], "contract_cancelled": [{"where": None}]}
    assert plan["goals"] == [
        {"name": "signed", "event": "contract_signed", "where": None, "within_s": 30 * 86400,
         "value": ["ref", "event", "amount"]}
    ]  # fmt: skip
    assert plan["caps"] == {"email": {"max": 3, "per_s": 7 * 86400}}
    assert plan["quiet"] == {"start_min": 21 * 60, "end_min": 8 * 60}
    assert plan["schema"]["channels"]["sms"] == {"cost": 0.04, "requires": "consent_sms"}
    assert plan["schema"]["profile"]["segment"]["members"] == ["new", "active", "vip", "churned"]
    assert plan["schema"]["profile"]["interests"]["item"] == {"type": "string", "nullable": False}
    assert plan["schema"]["events"]["quote_requested"]["zip"] == {"type": "string", "nullable": False}


def test_reentry_not_written_means_never() -> None:
    journey = Journey("j", version=1, entry=Entry("e"), stages=(Stage("s", (Step("a", (), End()),)),))
    assert lower_journey(journey, None)["reentry"] == {"mode": "never", "after_s": None}


def test_plan_of_the_parsed_spec_text_equals_the_hand_built_one(plan: dict[str, Any]) -> None:
    """The parser's IR lowers to the same plan (lines aside: the hand-built IR has its own)."""
    source, diagnostics = parse_dsl(SOLAR_DSL, "solar.journey")
    assert not diagnostics
    parsed = lower_journey(source.journeys[0], source.schemas[0], source="solar.journey")
    for p in (parsed, plan):
        for step in p["steps"]:
            step.pop("line")
    assert parsed == plan


def test_unknown_step_is_refused_not_guessed() -> None:
    journey = Journey("j", version=1, entry=Entry("e"), stages=(Stage("s", (Step("a", (), Goto(Target("b"))),)),))
    with pytest.raises(JourneyLoweringError, match="unknown step 'b'"):
        lower_journey(journey, None)


def test_the_index_names_the_latest_version_of_each_journey_only() -> None:
    """Entries, exits and goals by event type are the engine's to build from the plans: the index holds none."""
    v3 = lower_journey(solar_journey(3), customer_schema())
    v4 = lower_journey(solar_journey(4), customer_schema())
    assert build_index([v4, v3]) == {"latest": {"solar_onboarding": 4}}


# --------------------------------------------------------------------------- expressions


def test_every_expression_node_serializes() -> None:
    expr = Binary(
        "or",
        Unary("not", Binary("not in", Name(("profile", "segment")), ListLit((Literal("vip"), Literal(None))))),
        Binary(
            ">",
            Call("days_since", (Name(("profile", "last_purchase_at")),)),
            Binary("-", Unary("-", Literal(2.5)), Literal(Duration(2, "w"))),
        ),
    )
    assert serialize(expr) == [
        "or",
        ["not", ["not in", ["ref", "profile", "segment"], ["list", ["lit", "vip"], ["lit", None]]]],
        [">", ["call", "days_since", ["ref", "profile", "last_purchase_at"]],
         ["-", ["neg", ["lit", 2.5]], ["dur", 14 * 86400]]],
    ]  # fmt: skip
    assert serialize(Name(("now",))) == ["ref", "now"]
    assert serialize(Literal(True)) == ["lit", True]


def test_unknown_operator_fails_loudly() -> None:
    with pytest.raises(ExprLoweringError, match="unknown binary operator"):
        serialize(Binary("**", Literal(1), Literal(2)))


_leaves = st.one_of(
    st.builds(Literal, st.one_of(st.integers(-(10**9), 10**9), st.text(max_size=8), st.booleans(), st.none())),
    st.builds(Literal, st.builds(Duration, st.integers(0, 1000), st.sampled_from(["s", "m", "h", "d", "w"]))),
    st.builds(Name, st.tuples(st.sampled_from(["profile", "event"]), st.sampled_from(["a", "b"]))),
)
_exprs: st.SearchStrategy[Expr] = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.builds(Binary, st.sampled_from(["and", "==", "+", "in", "not in"]), inner, inner),
        st.builds(Unary, st.sampled_from(["not", "-"]), inner),
        st.builds(Call, st.sampled_from(["min", "max", "coalesce"]), st.tuples(inner, inner)),
        st.builds(ListLit, st.tuples(inner)),
    ),
    max_leaves=12,
)


def _decode(data: list[Any]) -> Expr:
    """The inverse of serialize (durations come back as seconds), to show no information is lost."""
    tag, rest = data[0], data[1:]
    if tag == "lit":
        return Literal(rest[0])
    if tag == "dur":
        return Literal(Duration(rest[0], "s"))
    if tag == "ref":
        return Name(tuple(rest))
    if tag == "list":
        return ListLit(tuple(_decode(x) for x in rest))
    if tag in ("not", "neg"):
        return Unary("not" if tag == "not" else "-", _decode(rest[0]))
    if tag == "call":
        return Call(rest[0], tuple(_decode(x) for x in rest[1:]))
    return Binary(tag, _decode(rest[0]), _decode(rest[1]))


def _seconds(expr: Expr) -> Expr:
    """Normalize durations to seconds, as the bundle does."""
    if isinstance(expr, Literal) and isinstance(expr.value, Duration):
        return Literal(Duration(expr.value.seconds, "s"))
    if isinstance(expr, ListLit):
        return ListLit(tuple(_seconds(x) for x in expr.items))
    if isinstance(expr, Unary):
        return Unary(expr.op, _seconds(expr.operand))
    if isinstance(expr, Binary):
        return Binary(expr.op, _seconds(expr.left), _seconds(expr.right))
    if isinstance(expr, Call):
        return Call(expr.func, tuple(_seconds(x) for x in expr.args))
    return expr


@given(_exprs)
def test_serialized_expressions_survive_json_and_decode_back(expr: Expr) -> None:
    data = json.loads(json.dumps(serialize(expr)))
    assert _decode(data) == _seconds(expr)


def test_yaml_twin_lowers_to_the_same_plan() -> None:
    from journeydsl.syntax import load_yaml, to_yaml

    dsl, _ = parse_dsl(SOLAR_DSL, "solar.journey")
    journey_only = type(dsl)(dsl.path, journeys=dsl.journeys)
    twin, diagnostics = load_yaml(to_yaml(journey_only), "solar.journey.yaml")
    assert not diagnostics
    plans = [lower_journey(f.journeys[0], dsl.schemas[0]) for f in (dsl, twin)]
    for p in plans:
        for step in p["steps"]:
            step.pop("line")
    assert plans[0] == plans[1]
