"""Properties: no input makes the parser raise; every diagnostic has a position; fmt round-trips."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ir_strategies import durations, ir_strategies, names, numbers, scalar_types
from journeydsl.ir import (
    Binary,
    Call,
    Expr,
    Journey,
    ListLit,
    Literal,
    Name,
    Schema,
    SourceFile,
    Span,
    TypeRef,
    Unary,
)
from journeydsl.syntax import format_dsl, format_expr, parse_dsl, parse_expression

SPEC_EXAMPLE = (Path(__file__).parent / "spec_example.journey").read_text(encoding="utf-8")
ORIGIN = Span("p.yaml", 3, 9, 3, 9)
# Pieces of the language, so random text often gets deep into the grammar instead of failing at once.
ALPHABET = st.sampled_from(
    [
        *'{}()[]<>,.:?%#"\\ \n-+*/=!',
        "journey",
        "step",
        "stage",
        "wait",
        "on",
        "->",
        "after",
        "7d",
        "3",
        "x",
        "event.at",
        "not",
        "in",
        "end",
        "send email w",
        "choose",
        "when",
        "experiment",
        "variant a 50%",
        "2.5",
    ]
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_positioned(diagnostics: list, path: str) -> None:
    for diag in diagnostics:
        assert diag.span is not None and diag.span.file == path
        assert diag.span.line >= 1 and diag.span.col >= 1
        assert (diag.span.end_line, diag.span.end_col) >= (diag.span.line, diag.span.col)
        assert diag.message


@FAST
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    _, diagnostics = parse_dsl(text, "r.journey")
    assert_positioned(diagnostics, "r.journey")
    expr, diagnostics = parse_expression(text, ORIGIN)
    assert expr is not None or diagnostics
    assert_positioned(diagnostics, "p.yaml")


@FAST
@given(st.lists(ALPHABET, max_size=40).map(" ".join))
def test_token_soup_never_raises(text: str) -> None:
    _, diagnostics = parse_dsl(text, "r.journey")
    assert_positioned(diagnostics, "r.journey")
    _, diagnostics = parse_expression(text, ORIGIN)
    assert_positioned(diagnostics, "p.yaml")


@FAST
@given(st.integers(min_value=0, max_value=len(SPEC_EXAMPLE)))
def test_every_truncation_is_reported_not_raised(cut: int) -> None:
    source, diagnostics = parse_dsl(SPEC_EXAMPLE[:cut], "t.journey")
    assert_positioned(diagnostics, "t.journey")
    if not diagnostics:  # a cut between blocks or inside a trailing comment is a valid file
        assert format_dsl(parse_dsl(format_dsl(source), "t.journey")[0]) == format_dsl(source)


@FAST
@given(
    st.integers(min_value=0, max_value=len(SPEC_EXAMPLE) - 1),
    st.integers(min_value=0, max_value=20),
    st.text(max_size=6),
)
def test_every_mutation_is_reported_not_raised(at: int, length: int, insert: str) -> None:
    text = SPEC_EXAMPLE[:at] + insert + SPEC_EXAMPLE[at + length :]
    source, diagnostics = parse_dsl(text, "m.journey")
    assert_positioned(diagnostics, "m.journey")
    if not diagnostics:
        once = format_dsl(source)
        again, problems = parse_dsl(once, "m.journey")
        assert problems == [] and again == source
        assert format_dsl(again) == once


# --------------------------------------------------------------------------- generated IR -> text -> the same IR

literals = st.one_of(
    st.builds(Literal, numbers | st.integers(-(10**6), -1)),
    st.builds(Literal, st.text(max_size=8)),
    st.builds(Literal, st.booleans() | st.none()),
    st.builds(Literal, durations),
)
leaves = literals | st.builds(Name, st.lists(names, min_size=1, max_size=3).map(tuple))
OPERATORS = ["or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/", "%"]


def _unary_minus(operand: Expr) -> Expr:
    # The parser folds a minus into a number literal; build what the parser would.
    if isinstance(operand, Literal) and type(operand.value) in (int, float):
        return Literal(-operand.value)  # type: ignore[operator]
    return Unary("-", operand)


exprs = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Binary, st.sampled_from(OPERATORS), inner, inner),
        st.builds(Unary, st.just("not"), inner),
        inner.map(_unary_minus),
        st.builds(ListLit, st.lists(inner, max_size=3).map(tuple)),
        st.builds(Call, names, st.lists(inner, max_size=3).map(tuple)),
    ),
    max_leaves=12,
)


@FAST
@given(exprs)
def test_format_expr_round_trips_generated_trees(expr: Expr) -> None:
    text = format_expr(expr)
    back, diagnostics = parse_expression(text, ORIGIN)
    assert diagnostics == [], text
    assert back == expr, text


types = st.recursive(
    scalar_types | st.builds(TypeRef, st.just("enum"), st.booleans(), members=st.lists(names, max_size=3).map(tuple)),
    lambda inner: st.builds(TypeRef, st.just("list"), st.booleans(), inner),
    max_leaves=3,
)
generated = ir_strategies(exprs, st.text(max_size=12), types)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(generated.schemas, max_size=1), st.lists(generated.journeys, max_size=2))
def test_format_dsl_round_trips_generated_ir(schema_list: list[Schema], journey_list: list[Journey]) -> None:
    source = SourceFile("g.journey", tuple(schema_list), tuple(journey_list))
    text = format_dsl(source)
    back, diagnostics = parse_dsl(text, "g.journey")
    assert diagnostics == [], text
    assert back == source, text
    assert format_dsl(back) == text


@FAST
@given(st.data())
def test_comments_anywhere_are_kept_and_formatting_is_idempotent(data: st.DataObject) -> None:
    lines = SPEC_EXAMPLE.splitlines()
    out: list[str] = []
    texts: list[str] = []
    for index, line in enumerate(lines):
        where = data.draw(st.sampled_from(["none", "none", "none", "above", "trailing", "blank"]), label=f"l{index}")
        if where == "above":
            texts.append(f"# c{index}!")
            out.append(" " * data.draw(st.integers(0, 6)) + texts[-1])
        elif where == "blank":
            out.append("")
        out.append(line + (f"  # t{index}!" if where == "trailing" else ""))
        if where == "trailing":
            texts.append(f"# t{index}!")
    text = "\n".join(out) + "\n"
    source, diagnostics = parse_dsl(text, "c.journey")
    assert diagnostics == []
    once = format_dsl(source)
    for comment in texts:
        assert once.count(comment) == 1, (comment, once)
    again, _ = parse_dsl(once, "c.journey")
    assert again == source
    assert format_dsl(again) == once
