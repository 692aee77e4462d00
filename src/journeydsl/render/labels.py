"""Short human text for IR nodes: expressions, actions and durations, as a reader of a diagram expects.

The diagram, docs and diff back ends all label things the same way. Expressions and actions are written by
the DSL printer (`journeydsl.syntax.printer`), so a label reads exactly like the source; this module adds the
shorter diagram forms.
"""

from __future__ import annotations

from journeydsl.ir import (
    Action,
    CallAction,
    Emit,
    Send,
    SetProfile,
)
from journeydsl.syntax.printer import format_expr


def action_summary(action: Action) -> str:
    """A shorter form for diagram nodes: the `with` map is left out."""
    if isinstance(action, Send):
        return f"send {action.channel} {action.template}"
    if isinstance(action, SetProfile):
        return f"set {action.field} = {format_expr(action.value)}"
    if isinstance(action, Emit):
        return f"emit {action.event}"
    if isinstance(action, CallAction):
        return f"call {action.name}"
    raise TypeError(f"unknown action node {type(action).__name__}")


def shorten(text: str, limit: int = 48) -> str:
    """Long conditions make unreadable diagrams: cut them with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
