"""IR expression -> the compact array form of docs/bundle-format.md (the compiler's writer of expressions).

The tags come from the format's one table (`runtime.plan_format.EXPR_TAGS`), which the runtime compiles from and
the schema checks against. The runtime turns these arrays into closures once, at load; it never sees
source text. A node kind added to ir.Expr and not serialized here is a mypy error (`assert_never`).
"""

from __future__ import annotations

from typing import Any, Final, assert_never

from journeydsl.ir import Binary, Call, Duration, Expr, ListLit, Literal, Name, Unary
from journeydsl.runtime.plan_format import EXPR_TAGS

# The DSL's operators -> their tags (`-` is `neg` as a unary operator, `-` as a binary one).
UNARY_TAGS: Final[dict[str, str]] = {
    spec.op: tag for tag, spec in EXPR_TAGS.items() if spec.kind == "unary" and spec.op
}
BINARY_TAGS: Final[dict[str, str]] = {
    spec.op: tag for tag, spec in EXPR_TAGS.items() if spec.kind == "binary" and spec.op
}
BINARY_OPS: Final[frozenset[str]] = frozenset(BINARY_TAGS)


class ExprLoweringError(ValueError):
    """An expression node the bundle format cannot hold (the checker should have refused it).

    Not the runtime's `ExprError` (runtime/expr.py), which an expression raises when it fails at run time.
    """


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
            raise ExprLoweringError(f"unknown unary operator {expr.op!r}")
        return [tag, serialize(expr.operand)]
    if isinstance(expr, Binary):
        tag = BINARY_TAGS.get(expr.op)
        if tag is None:
            raise ExprLoweringError(f"unknown binary operator {expr.op!r}")
        return [tag, serialize(expr.left), serialize(expr.right)]
    if isinstance(expr, Call):
        return ["call", expr.func, *(serialize(arg) for arg in expr.args)]
    assert_never(expr)


def serialize_opt(expr: Expr | None) -> list[Any] | None:
    return None if expr is None else serialize(expr)
