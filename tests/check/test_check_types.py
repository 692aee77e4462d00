"""Expression typing: operator and function rules, nullability, enums; built by hand, no parser needed."""

from __future__ import annotations

import pytest

from journeydsl.check.context import SchemaIndex
from journeydsl.check.types import Typer
from journeydsl.diagnostics import Sink
from journeydsl.ir import (
    Binary,
    Call,
    Duration,
    EventDef,
    Expr,
    FieldDef,
    ListLit,
    Literal,
    Name,
    Schema,
    TypeRef,
    Unary,
)

SCHEMA = Schema(
    "shop",
    profile=(
        FieldDef("ltv", TypeRef("number")),
        FieldDef("seen", TypeRef("timestamp", nullable=True)),
        FieldDef("segment", TypeRef("enum", members=("new", "vip"))),
        FieldDef("tags", TypeRef("list", item=TypeRef("string"))),
        FieldDef("name", TypeRef("string", nullable=True)),
    ),
    events=(EventDef("paid", (FieldDef("amount", TypeRef("number")),)), EventDef("left", ())),
    channels=(),
)


def typer(events: frozenset[str] = frozenset({"paid"})) -> tuple[Typer, Sink]:
    sink = Sink()
    t = Typer(SchemaIndex.build(SCHEMA), sink)
    t.events, t.where = events, "step `s`"
    return t, sink


def p(field: str) -> Name:
    return Name(("profile", field))


NOW = Name(("now",))
WEEK = Literal(Duration(7, "d"))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (Binary("+", NOW, WEEK), "timestamp"),
        (Binary("-", WEEK, WEEK), "duration"),
        (Binary("+", WEEK, NOW), "timestamp"),
        (Binary("-", NOW, p("seen")), "duration?"),
        (Binary("-", p("seen"), WEEK), "timestamp?"),
        (Binary("<", Binary("-", NOW, p("seen")), WEEK), "bool"),
        (Binary("*", p("ltv"), Literal(2)), "number"),
        (Binary("+", p("name"), Literal("!")), "string?"),
        (Binary("in", p("segment"), ListLit((Literal("new"),))), "bool"),
        (Binary("not in", Literal("x"), p("tags")), "bool"),
        (Unary("-", p("ltv")), "number"),
        (Unary("not", Binary("==", p("name"), Literal(None))), "bool"),
        (Call("coalesce", (p("seen"), NOW)), "timestamp"),
        (Call("coalesce", (p("name"),)), "string?"),
        (Call("days_since", (p("seen"),)), "number?"),
        (Call("len", (p("tags"),)), "number"),
        (Call("max", (p("ltv"), Literal(1))), "number"),
        (Call("round", (p("ltv"), Literal(2))), "number"),
        (Call("contains", (p("tags"), Literal("solar"))), "bool"),
        (Name(("event", "amount")), "number"),
        (Name(("event", "at")), "timestamp"),
        (Name(("journey", "variant")), "string?"),
        (ListLit((Literal(1), Literal(None))), "list<number?>"),
    ],
)
def test_well_typed(expr: Expr, expected: str) -> None:
    t, sink = typer()
    assert str(t.infer(expr)) == expected
    assert sink.diagnostics == []


@pytest.mark.parametrize(
    ("expr", "code"),
    [
        (Binary("+", NOW, NOW), "JD201"),
        (Binary("-", WEEK, NOW), "JD201"),
        (Binary("in", p("ltv"), p("ltv")), "JD201"),
        (Binary("and", p("ltv"), Literal(True)), "JD201"),
        (Binary("<", p("segment"), Literal(1)), "JD201"),
        (Binary("==", p("ltv"), Literal("1")), "JD201"),
        (Binary("==", p("segment"), Literal("gold")), "JD205"),
        (Binary("in", p("segment"), ListLit((Literal("new"), Literal("old")))), "JD205"),
        (Call("lower", (p("ltv"),)), "JD201"),
        (Call("lower", ()), "JD206"),
        (Call("round", (p("ltv"), Literal(1), Literal(2))), "JD206"),
        (Call("lowr", (p("name"),)), "JD108"),
        (Name(("profile", "ltvv")), "JD104"),
        (Name(("event", "amout")), "JD104"),
        (Name(("journey", "started")), "JD109"),
        (Name(("customer",)), "JD109"),
        (ListLit((Literal(1), Literal("a"))), "JD201"),
    ],
)
def test_ill_typed_reports_once(expr: Expr, code: str) -> None:
    t, sink = typer()
    assert t.infer(Binary("and", Binary("==", expr, expr), Literal(True))).kind == "bool"
    # The same sub-expression twice gives the same diagnostic twice, but nothing cascades above it.
    assert {d.code.code for d in sink.diagnostics} == {code}


def test_event_field_on_some_types_names_the_others() -> None:
    t, sink = typer(frozenset({"paid", "left"}))
    assert t.infer(Name(("event", "amount"))).kind == "any"
    [diag] = sink.diagnostics
    assert diag.code.code == "JD207"
    assert "`left` has no field `amount`" in diag.message


def test_no_known_event_means_nothing_to_check() -> None:
    t, sink = typer(frozenset())
    assert t.infer(Name(("event", "anything"))).kind == "any"
    assert sink.diagnostics == []


def test_unknown_name_hints_the_right_prefix() -> None:
    t, sink = typer()
    t.infer(Name(("customer", "ltv")))
    t.infer(Name(("amount",)))
    assert [d.hint for d in sink.diagnostics] == ["did you mean `profile.ltv`?", "did you mean `event.amount`?"]
