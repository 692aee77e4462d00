"""What one parse of DSL text collects: the bottom of the DSL front end.

The transformer (syntax/transformer.py), the lexer callbacks and the syntax-error messages (syntax/errors.py)
all write into the ParseState of the parse they belong to; grammar.py makes one per parse. It sits below all
three so that none of them imports another for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from journeydsl.diagnostics import Code, Diagnostic
from journeydsl.ir import Comment, Span


@dataclass
class ParseState:
    """What one parse collects: diagnostics, comments, and the nesting depth of the nodes built so far."""

    path: str
    line_offset: int = 0  # added to every line (expressions inside YAML)
    col_offset: int = 0  # added to columns on the first line only
    problems: list[Diagnostic] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    text: str = ""  # the text being parsed, to tell trailing comments from comments on their own line
    # id(node) -> (node, nesting depth, holds an Elided) for every expression or type node above a leaf;
    # holding the node keeps its id from being reused by another one while the parse runs.
    depths: dict[int, tuple[Any, int, bool]] = field(default_factory=dict)

    def position(self, line: int, col: int) -> tuple[int, int]:
        """A position in the parsed text -> a position in the file the text came from."""
        if line == 1:
            col += self.col_offset
        return line + self.line_offset, col

    def report(self, code: Code, message: str, span: Span | None, hint: str | None = None) -> None:
        self.problems.append(Diagnostic(code, message, span, hint, code.severity))
