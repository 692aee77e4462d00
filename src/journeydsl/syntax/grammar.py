"""The one place that loads grammar/journey.lark and runs the parser.

The LALR parser is built once per process with the IR transformer inline (no parse tree is built: about
twice as fast as a separate pass) and three start symbols: a whole file, an expression, a type. Each parse
gets a fresh ParseState; a lock keeps two threads from sharing the cached transformer's state.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedInput

from journeydsl.diagnostics import codes
from journeydsl.ir import Comment, Span
from journeydsl.resources import grammar_path
from journeydsl.syntax.dsl import JourneyTransformer, ParseState
from journeydsl.syntax.errors import syntax_diagnostic, terminal_words
from journeydsl.syntax.limits import MAX_NAME_LENGTH, NAME_HINT, name_message

START_SYMBOLS = ("start", "expression", "type")
_LOCK = threading.Lock()
# A top-level block starts at the beginning of a line; used to skip a broken block and parse the others.
_BLOCK_START = re.compile(r"^(?:schema|journey)\b", re.MULTILINE)
_MAX_RECOVERIES = 50
_WHAT = {"start": "file", "expression": "expression", "type": "type"}


@functools.cache
def get_parser() -> tuple[Lark, JourneyTransformer, dict[str, str]]:
    """The cached parser, its transformer, and terminal names in words (for messages)."""
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

    grammar = grammar_path().read_text(encoding="utf-8")
    parser = Lark(
        grammar,
        cache=_table_cache(grammar),
        parser="lalr",
        lexer="contextual",
        transformer=transformer,
        start=list(START_SYMBOLS),
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": keep_comment, "NAME": bound_name},
    )
    return parser, transformer, terminal_words(parser.terminals)


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
    parser, transformer, words = get_parser()
    errors = []
    current = text
    with _LOCK:
        for _ in range(_MAX_RECOVERIES):
            state = ParseState(path, line_offset, col_offset, text=current)
            transformer.state = state
            try:
                result = parser.parse(current, start=start)
            except UnexpectedInput as err:
                errors.append(syntax_diagnostic(err, current, state, words, _WHAT[start]))
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
