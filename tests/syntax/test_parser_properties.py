"""Properties: no input makes the parser raise; every diagnostic has a position; fmt round-trips."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeydsl.ir import Span
from journeydsl.syntax import format_dsl, parse_dsl, parse_expression

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
