"""Expression labels: what a diagram prints parses back to the same expression."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.ir import Binary, Call, Expr, ListLit, Literal, Name, Span, Unary
from journeydsl.syntax import parse_expression
from journeydsl.syntax.printer import format_expr

_ORIGIN = Span("label", 1, 1, 1, 1)

atoms = st.one_of(
    st.integers(min_value=0, max_value=10_000).map(Literal),
    st.text(alphabet="abc xyz\"\\'", max_size=6).map(Literal),
    st.sampled_from([True, False, None]).map(Literal),
    st.sampled_from([("profile", "ltv"), ("event", "amount"), ("now",), ("journey", "variant")]).map(Name),
)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    ops = ["or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/", "%"]
    return st.one_of(
        st.builds(Binary, st.sampled_from(ops), children, children),
        st.builds(Unary, st.just("not"), children),
        # The parser folds `-5` into a literal, so minus is only generated over non-literals.
        st.builds(Unary, st.just("-"), children.filter(lambda e: not isinstance(e, Literal))),
        st.builds(Call, st.sampled_from(["lower", "max", "coalesce"]), st.lists(children, max_size=2).map(tuple)),
        st.lists(children, max_size=3).map(lambda items: ListLit(tuple(items))),
    )


@settings(max_examples=150, deadline=None)
@given(st.recursive(atoms, _extend, max_leaves=8))
def test_expr_text_round_trips(expr: Expr) -> None:
    parsed, diagnostics = parse_expression(format_expr(expr), _ORIGIN)
    assert diagnostics == []
    assert parsed == expr


def test_minimal_parentheses() -> None:
    a, b, c = Name(("profile", "a")), Name(("profile", "b")), Name(("profile", "c"))
    assert format_expr(Binary("*", Binary("+", a, b), c)) == "(profile.a + profile.b) * profile.c"
    assert format_expr(Binary("+", a, Binary("*", b, c))) == "profile.a + profile.b * profile.c"
    assert format_expr(Binary("-", a, Binary("-", b, c))) == "profile.a - (profile.b - profile.c)"
    assert format_expr(Unary("not", Binary("and", a, b))) == "not (profile.a and profile.b)"
