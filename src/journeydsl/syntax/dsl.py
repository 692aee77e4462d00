"""DSL text -> IR: `parse_dsl`, the entry point for a `.journey` file, at the top of the DSL front end.

It checks the file's size, then hands the text to grammar.py, which runs the LALR parser with the IR
transformer (syntax/transformer.py) inline; nothing below this module imports it.
"""

from __future__ import annotations

from journeydsl.diagnostics import Diagnostic, codes
from journeydsl.ir import Journey, Schema, SourceFile
from journeydsl.syntax.grammar import parse_text
from journeydsl.syntax.limits import file_too_large, oversize


def parse_dsl(text: str, path: str) -> tuple[SourceFile, list[Diagnostic]]:
    """Parse one `.journey` file; never raises. On a syntax error the IR holds what could be parsed."""
    size = oversize(text)
    if size is not None:
        message, span, hint = file_too_large(path, size)
        return SourceFile(path, (), (), "dsl", ()), [Diagnostic(codes.INPUT_TOO_LARGE, message, span, hint)]
    if text.startswith("\ufeff"):  # a byte-order mark from an editor: a space keeps every column where it was
        text = " " + text[1:]
    items, state = parse_text(text, path, "start")
    schemas = tuple(item for item in items or () if isinstance(item, Schema))
    journeys = tuple(item for item in items or () if isinstance(item, Journey))
    return SourceFile(path, schemas, journeys, "dsl", tuple(state.comments)), state.problems
