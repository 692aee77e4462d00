"""Expressions and types on their own, for the YAML loader: same grammar, same transformer as the DSL.

Positions are shifted so that column 1 of the text is `origin.col` on `origin.line`, so a diagnostic inside a
YAML expression string points at the column inside that string.
"""

from __future__ import annotations

from journeydsl.diagnostics import Diagnostic
from journeydsl.ir import Expr, Span, TypeRef
from journeydsl.syntax.grammar import parse_text


def parse_expression(text: str, origin: Span) -> tuple[Expr | None, list[Diagnostic]]:
    """Parse one expression; never raises. None (with diagnostics) when it does not parse."""
    result, state = parse_text(text, origin.file, "expression", origin.line - 1, origin.col - 1)
    return result, state.problems


def parse_type(text: str, origin: Span) -> tuple[TypeRef | None, list[Diagnostic]]:
    """Parse one type (`string?`, `list<string>`, `enum(a, b)`); never raises."""
    result, state = parse_text(text, origin.file, "type", origin.line - 1, origin.col - 1)
    return result, state.problems
