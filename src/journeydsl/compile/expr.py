"""IR expression -> the compact array form of docs/bundle-format.md.

The runtime turns these arrays into closures once, at load; it never sees
source text. A node kind added to ir.Expr and not serialized here is a mypy error (`assert_never`).
"""

from __future__ import annotations

from typing import Any, assert_never

from journeydsl.ir import Binary, Call, Duration, Expr, ListLit, Literal, Name, Unary

BINARY_OPS: frozenset[str] = frozenset(
    {"or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/", "%"}
)
UNARY_TAGS: dict[str, str] = {"not": "not", "-": "neg"}


class ExprError(ValueError):
    """An expression node the bundle format cannot hold (the checker should have refused it)."""


def serialize(expr: Expr) -> list[Any]:
    """One expression as a JSON-ready list: ["lit", 3], ["ref", "profile", "ltv"], [">=", L, R], …"""
    if isinstance(expr, Literal):
        if isinstance(expr.value, Duration):
            return ["dur", expr.value.seconds]
        return ["lit", expr.value]
    if isinstance(expr, Name):
        return ["ref", *expr.path]
    if isinstance(expr, ListLit):
        return ["list", *(serialize(item) for item in expr.items)]
    if isinstance(expr, Unary):
        tag = UNARY_TAGS.get(expr.op)
        if tag is None:
            raise ExprError(f"unknown unary operator {expr.op!r}")
        return [tag, serialize(expr.operand)]
    if isinstance(expr, Binary):
        if expr.op not in BINARY_OPS:
            raise ExprError(f"unknown binary operator {expr.op!r}")
        return [expr.op, serialize(expr.left), serialize(expr.right)]
    if isinstance(expr, Call):
        return ["call", expr.func, *(serialize(arg) for arg in expr.args)]
    assert_never(expr)


def serialize_opt(expr: Expr | None) -> list[Any] | None:
    return None if expr is None else serialize(expr)
