"""Edits the server offers: the canonical layout of a DSL file (`journeydsl fmt`) and the rename of a step.

Both refuse rather than guess: a file with syntax errors is not formatted (its text would be lost), and a
rename to a name the grammar does not accept, or to a step the journey already has, is refused with a message.
"""

from __future__ import annotations

import re

from journeydsl.diagnostics import errors_in
from journeydsl.ir import Span
from journeydsl.lsp import index as idx
from journeydsl.lsp.index import Index, Symbol
from journeydsl.syntax import format_dsl, parse_dsl
from journeydsl.syntax.limits import MAX_NAME_LENGTH

_NAME = re.compile(r"[a-z_][a-z0-9_]*")


class RenameError(Exception):
    """Why a rename is refused; the message goes to the user as is."""


def formatted(text: str, path: str) -> str | None:
    """The file in the canonical layout; None for a YAML file or one with syntax errors (left as it is)."""
    if path.endswith((".yaml", ".yml")):
        return None
    source, diagnostics = parse_dsl(text, path)
    if errors_in(diagnostics):
        return None
    try:
        return format_dsl(source)
    except RecursionError:  # an expression nested past what the printer's recursion allows: leave the file alone
        return None


def renamable(index: Index, path: str, line: int, col: int) -> Symbol | None:
    """The step under the position, when it is one this project defines (a rename needs the definition)."""
    symbol = index.at(path, line, col)
    if symbol is None or symbol.kind != idx.STEP or not index.definitions(symbol):
        return None
    return symbol


def rename_step(index: Index, symbol: Symbol, new_name: str) -> dict[str, list[tuple[Span, str]]]:
    """Every occurrence of the step (its definition and each transition to it), by file, to replace."""
    if not _NAME.fullmatch(new_name):
        raise RenameError(
            f"`{new_name}` is not a step name: use lower-case letters, digits and `_`, starting with a letter or `_`"
        )
    if len(new_name) > MAX_NAME_LENGTH:
        raise RenameError(f"a step name is at most {MAX_NAME_LENGTH} characters")
    file, journey, _ = symbol.key
    if new_name != symbol.name and (file, journey, new_name) in index.steps:
        raise RenameError(f"journey `{journey}` already has a step `{new_name}`")
    edits: dict[str, list[tuple[Span, str]]] = {}
    for found in index.references(symbol):
        edits.setdefault(found.span.file, []).append((found.span, new_name))
    return edits
