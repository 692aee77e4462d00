"""The one place that loads grammar/journey.lark and runs the parser; above the transformer, below `parse_dsl`.

The LALR parser runs the IR transformer (syntax/transformer.py) inline (no parse tree is built: about twice as
fast as a separate pass), with three start symbols: a whole file, an expression, a type. Lark binds a
transformer into the parser it builds, and the transformer holds the state of the parse it serves, so each
parse borrows a parser of its own from a pool: parses in several threads run side by side, with no lock
around them. The pool holds as many parsers as ever ran at once (one, in a single thread); the LALR tables
are built once per process, or read from the user's cache, so another parser costs about 30 ms, once.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedInput

from journeydsl.diagnostics import codes
from journeydsl.ir import Comment, Span
from journeydsl.resources import grammar_path
from journeydsl.syntax.errors import syntax_diagnostic, terminal_words
from journeydsl.syntax.limits import MAX_NAME_LENGTH, NAME_HINT, name_message
from journeydsl.syntax.state import ParseState
from journeydsl.syntax.transformer import JourneyTransformer

START_SYMBOLS = ("start", "expression", "type")
# A top-level block starts at the beginning of a line; used to skip a broken block and parse the others.
_BLOCK_START = re.compile(r"^(?:schema|journey)\b", re.MULTILINE)
_MAX_RECOVERIES = 50
_WHAT = {"start": "file", "expression": "expression", "type": "type"}
_IDLE_STATE = ParseState("<idle>")  # what a parser's transformer holds between parses (nothing of the last one)


@dataclass(frozen=True)
class _Parser:
    """A Lark parser and the transformer bound into it; used by one parse at a time."""

    lark: Lark
    transformer: JourneyTransformer
    words: dict[str, str]  # terminal names -> how a message names them


# Parsers not in use. `list.pop` and `list.append` are atomic, so borrowing and returning one needs no lock.
_IDLE: list[_Parser] = []
# Held only while a new parser is built: the first build writes the table cache, which the others then read.
_BUILDING = threading.Lock()


def _build_parser() -> _Parser:
    """A new parser with a transformer of its own, whose lexer callbacks write into that transformer's state."""
    transformer = JourneyTransformer()

    def keep_comment(token: Token) -> Token:
        state = transformer.state
        line, col = state.position(token.line or 1, token.column or 1)
        pos = token.start_pos or 0
        trailing = state.text[state.text.rfind("\n", 0, pos) + 1 : pos].strip() != ""
        state.comments.append(Comment(token.value.rstrip(), line, col, trailing))
        return token

    def bound_name(token: Token) -> Token:
        # A name too long is reported once, here, and cut: later stages (template paths, file names of
        # `render` and `docs`) then never see it. The token keeps its position, so the span covers it all.
        if len(token.value) <= MAX_NAME_LENGTH:
            return token
        state = transformer.state
        line, col = state.position(token.line or 1, token.column or 1)
        end_line, end_col = state.position(token.end_line or 1, token.end_column or 1)
        span = Span(state.path, line, col, end_line, end_col)
        state.report(codes.INPUT_TOO_LARGE, name_message(token.value), span, hint=NAME_HINT)
        return Token.new_borrow_pos(token.type, token.value[:MAX_NAME_LENGTH], token)

    grammar = _grammar_text()
    with _BUILDING:
        lark = Lark(
            grammar,
            cache=_table_cache(grammar),
            parser="lalr",
            lexer="contextual",
            transformer=transformer,
            start=list(START_SYMBOLS),
            maybe_placeholders=True,
            lexer_callbacks={"COMMENT": keep_comment, "NAME": bound_name},
        )
    return _Parser(lark, transformer, terminal_words(lark.terminals))


@functools.cache
def _grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def _borrow() -> _Parser:
    try:
        return _IDLE.pop()
    except IndexError:  # every parser is busy in another thread (or none was built yet)
        return _build_parser()


def grammar_words() -> dict[str, str]:
    """Terminal names of the grammar -> how a message names them (`an identifier`, `` `->` ``)."""
    parser = _borrow()
    _IDLE.append(parser)
    return parser.words


def _table_cache(grammar: str) -> str | bool:
    """Where Lark may keep the built LALR tables: they cost ~0.25 s per process, a third of `check journeys/`.

    The cache lives in the user's own cache folder (never the shared /tmp, since Lark stores a pickle),
    keyed by the grammar text; without a writable folder the tables are simply built each time.
    """
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "journeydsl"
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return False
    if not os.access(root, os.W_OK):
        return False
    digest = hashlib.sha256(grammar.encode()).hexdigest()[:16]
    return str(root / f"lalr-{digest}.lark")


def parse_text(text: str, path: str, start: str, line_offset: int = 0, col_offset: int = 0) -> tuple[Any, ParseState]:
    """Parse `text` from a start symbol; never raises. Returns the IR (None if nothing) and the parse state.

    For a whole file, a syntax error blanks out the top-level block it is in and parses again, so one broken
    journey neither hides the others nor the errors in them (one syntax error per block).
    """
    parser = _borrow()
    try:
        return _parse(parser, text, path, start, line_offset, col_offset)
    finally:
        parser.transformer.state = _IDLE_STATE
        _IDLE.append(parser)


def _parse(
    parser: _Parser, text: str, path: str, start: str, line_offset: int, col_offset: int
) -> tuple[Any, ParseState]:
    errors = []
    current = text
    for _ in range(_MAX_RECOVERIES):
        state = ParseState(path, line_offset, col_offset, text=current)
        parser.transformer.state = state
        try:
            result = parser.lark.parse(current, start=start)
        except UnexpectedInput as err:
            errors.append(syntax_diagnostic(err, current, state, parser.words, _WHAT[start]))
            blanked = _blank_block(current, err) if start == "start" else current
            if blanked == current:
                break
            current = blanked
            continue
        except Exception as err:  # noqa: BLE001 - a bug must not become a traceback for the user
            state.report(
                codes.SYNTAX_ERROR,
                f"internal parser error ({type(err).__name__}: {err}); please report this",
                Span(path, *state.position(1, 1), *state.position(1, 1)),
            )
            errors.extend(state.problems)
            break
        state.problems[:0] = errors
        return result, state
    state = ParseState(path, line_offset, col_offset)
    state.problems.extend(errors)
    return None, state


def _blank_block(text: str, err: UnexpectedInput) -> str:
    """The text with the top-level block holding the error turned into spaces (newlines kept)."""
    offset = _error_offset(text, err)
    starts = [m.start() for m in _BLOCK_START.finditer(text)]
    begin = max((s for s in starts if s <= offset), default=0)
    end = min((s for s in starts if s > offset), default=len(text))
    if begin == end:
        return text
    chunk = re.sub(r"[^\n]", " ", text[begin:end])
    return text[:begin] + chunk + text[end:]


def _error_offset(text: str, err: UnexpectedInput) -> int:
    token = getattr(err, "token", None)
    if isinstance(token, Token) and token.type != "$END" and token.start_pos is not None:
        return token.start_pos
    pos = getattr(err, "pos_in_stream", None)
    if isinstance(pos, int) and pos >= 0:
        return pos
    return len(text)
