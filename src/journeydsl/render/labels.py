"""Short human text for diagram labels.

Expressions and actions are written by the DSL printer (`journeydsl.syntax.printer`: `format_expr`, and
`format_action(action, short=True)` for a step node's narrower form), so a label reads exactly like the source and
one function owns the text of each node kind; this module only cuts long labels.
"""

from __future__ import annotations

LABEL_LIMIT = 48  # characters of a label line; a longer one is cut, and its node or edge gets the full text


def shorten(text: str, limit: int = LABEL_LIMIT) -> str:
    """Long conditions make unreadable diagrams: cut them with an ellipsis (the drawing keeps the whole text
    as a tooltip, render/graph.py)."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
