"""Short human text for IR nodes: expressions, actions and durations, as a reader of a diagram expects.

The diagram, docs and diff back ends all label things the same way, so this module is the one place that
turns an expression or an action into text. It dispatches on node type and fails loudly on an unknown node.
"""

from __future__ import annotations

from journeydsl.ir import (
    Action,
    Arg,
    Binary,
    Call,
    CallAction,
    Duration,
    Emit,
    Expr,
    ListLit,
    Literal,
    Name,
    Send,
    SetProfile,
    Unary,
)

# Binding strength, loosest first (SPEC 3.3); a child binds looser than its parent gets parentheses.
_PRECEDENCE: dict[str, int] = {
    "or": 1,
    "and": 2,
    "==": 4,
    "!=": 4,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "in": 4,
    "not in": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}
_NOT = 3
_COMPARISON = 4
_UNARY_MINUS = 7
_ATOM = 8


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal_text(value: int | float | str | bool | Duration | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote(value)
    return str(value)


def _strength(expr: Expr) -> int:
    if isinstance(expr, Binary):
        return _PRECEDENCE.get(expr.op, 0)
    if isinstance(expr, Unary):
        return _NOT if expr.op == "not" else _UNARY_MINUS
    return _ATOM


def _wrapped(expr: Expr, minimum: int) -> str:
    text = expr_text(expr)
    return f"({text})" if _strength(expr) < minimum else text


def expr_text(expr: Expr) -> str:
    """An expression in DSL syntax, with only the parentheses its structure needs."""
    if isinstance(expr, Literal):
        return literal_text(expr.value)
    if isinstance(expr, Name):
        return str(expr)
    if isinstance(expr, ListLit):
        return "[" + ", ".join(expr_text(item) for item in expr.items) + "]"
    if isinstance(expr, Call):
        return f"{expr.func}(" + ", ".join(expr_text(arg) for arg in expr.args) + ")"
    if isinstance(expr, Unary):
        if expr.op == "not":
            return "not " + _wrapped(expr.operand, _NOT)
        return "-" + _wrapped(expr.operand, _UNARY_MINUS)
    if isinstance(expr, Binary):
        strength = _PRECEDENCE.get(expr.op, 0)
        # Left-associative: the right operand needs parentheses at equal strength too; comparisons do not
        # chain in the grammar, so a comparison inside a comparison is wrapped on either side.
        left_min = strength + 1 if strength == _COMPARISON else strength
        return f"{_wrapped(expr.left, left_min)} {expr.op} {_wrapped(expr.right, strength + 1)}"
    raise TypeError(f"unknown expression node {type(expr).__name__}")


def args_text(args: tuple[Arg, ...]) -> str:
    if not args:
        return ""
    return " with { " + ", ".join(f"{arg.name}: {expr_text(arg.value)}" for arg in args) + " }"


def action_text(action: Action) -> str:
    """One action as the DSL writes it: `send email welcome`, `set profile.segment = "active"`."""
    if isinstance(action, Send):
        return f"send {action.channel} {action.template}{args_text(action.args)}"
    if isinstance(action, SetProfile):
        return f"set profile.{action.field} = {expr_text(action.value)}"
    if isinstance(action, Emit):
        return f"emit {action.event}{args_text(action.args)}"
    if isinstance(action, CallAction):
        return f"call {action.name}{args_text(action.args)}"
    raise TypeError(f"unknown action node {type(action).__name__}")


def action_summary(action: Action) -> str:
    """A shorter form for diagram nodes: the `with` map is left out."""
    if isinstance(action, Send):
        return f"send {action.channel} {action.template}"
    if isinstance(action, SetProfile):
        return f"set {action.field} = {expr_text(action.value)}"
    if isinstance(action, Emit):
        return f"emit {action.event}"
    if isinstance(action, CallAction):
        return f"call {action.name}"
    raise TypeError(f"unknown action node {type(action).__name__}")


def shorten(text: str, limit: int = 48) -> str:
    """Long conditions make unreadable diagrams: cut them with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
