"""Properties: no input makes the parser raise; every diagnostic has a position; fmt round-trips."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeydsl.ir import (
    Arg,
    Binary,
    Call,
    CallAction,
    Cap,
    ChannelDef,
    Choose,
    Duration,
    Emit,
    End,
    Entry,
    EventDef,
    Exit,
    Experiment,
    Expr,
    FieldDef,
    Goal,
    Goto,
    Journey,
    ListLit,
    Literal,
    Name,
    Quiet,
    Reentry,
    Schema,
    Send,
    SetProfile,
    Sleep,
    SourceFile,
    Span,
    Stage,
    Step,
    Target,
    Timeout,
    TypeRef,
    Unary,
    Variant,
    Wait,
    WaitArm,
    When,
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

RESERVED = {"not", "true", "false", "null", "list", "enum"}
names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n not in RESERVED)
durations = st.builds(Duration, st.integers(0, 9999), st.sampled_from("smhdw"))
numbers = st.integers(0, 10**6) | st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
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


targets = st.builds(Target, names)
args = st.lists(st.builds(Arg, names, exprs), max_size=2).map(tuple)
actions = st.one_of(
    st.builds(Send, names, names, args),
    st.builds(SetProfile, names, exprs),
    st.builds(Emit, names, args),
    st.builds(CallAction, names, args),
)
timeouts = st.builds(Timeout, targets, after=durations) | st.builds(Timeout, targets, at=exprs)
flows = st.one_of(
    st.builds(Goto, targets),
    st.builds(Sleep, durations, targets),
    st.builds(End, st.none() | names),
    st.builds(
        Wait,
        st.lists(st.builds(WaitArm, names, targets, st.none() | exprs), max_size=3).map(tuple),
        st.none() | timeouts,
    ),
    st.builds(Choose, st.lists(st.builds(When, exprs, targets), max_size=3).map(tuple), st.none() | targets),
    st.builds(
        Experiment,
        names,
        st.lists(
            st.builds(Variant, names, st.integers(0, 100), targets)
            | st.builds(Variant, st.just("control"), st.integers(0, 100), targets, st.just(True)),
            max_size=3,
        ).map(tuple),
    ),
)
steps = st.builds(Step, names, st.lists(actions, max_size=3).map(tuple), flows)
hours = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
strings = st.text(max_size=12)
journeys = st.builds(
    Journey,
    names,
    version=st.none() | st.integers(0, 99),
    owner=st.none() | strings,
    title=st.none() | strings,
    team=st.none() | strings,
    description=st.none() | strings,
    tags=st.lists(strings, max_size=3).map(tuple),
    experience=st.none() | names,
    uses=st.none() | names,
    entry=st.none() | st.builds(Entry, names, st.none() | exprs, st.none() | exprs),
    audience=st.none() | exprs,
    reentry=st.none()
    | st.builds(Reentry, st.sampled_from(["never", "always"]))
    | st.builds(Reentry, st.just("after"), durations),
    exits=st.lists(st.builds(Exit, names, st.none() | exprs), max_size=2).map(tuple),
    goals=st.lists(
        st.builds(Goal, names, names, st.none() | exprs, st.none() | durations, st.none() | exprs), max_size=2
    ).map(tuple),
    caps=st.lists(st.builds(Cap, names, st.integers(0, 99), durations), max_size=2).map(tuple),
    quiet=st.none() | st.builds(Quiet, hours, hours),
    stages=st.lists(st.builds(Stage, names, st.lists(steps, max_size=3).map(tuple)), max_size=3).map(tuple),
)
scalar_types = st.builds(TypeRef, st.sampled_from(["string", "number", "bool", "timestamp", "duration"]), st.booleans())
types = st.recursive(
    scalar_types | st.builds(TypeRef, st.just("enum"), st.booleans(), members=st.lists(names, max_size=3).map(tuple)),
    lambda inner: st.builds(TypeRef, st.just("list"), st.booleans(), inner),
    max_leaves=3,
)
fields = st.lists(st.builds(FieldDef, names, types), max_size=3).map(tuple)
schemas = st.builds(
    Schema,
    names,
    fields,
    st.lists(st.builds(EventDef, names, fields), max_size=3).map(tuple),
    st.lists(st.builds(ChannelDef, names, numbers, st.none() | names), max_size=2).map(tuple),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(schemas, max_size=1), st.lists(journeys, max_size=2))
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
