"""Lark parse errors -> JD001 syntax-error / JD002 unexpected-end diagnostics, with what was expected in words.

It sits between the parse state (syntax/state.py), whose positions it uses, and grammar.py, which calls it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr, TerminalDef

from journeydsl.diagnostics import Code, Diagnostic, codes
from journeydsl.ir import Span
from journeydsl.syntax.limits import clip
from journeydsl.syntax.state import ParseState

# Regex terminals named in words; string terminals are shown as written, in backticks.
_REGEX_WORDS: dict[str, str] = {
    "NAME": "an identifier",
    "NUMBER": "a number",
    "DURATION": "a duration like `7d`",
    "STRING": 'a string `"…"`',
    "TIMERANGE": "hours like `21:00-08:00`",
    "COMMENT": "a comment",
    "$END": "the end of the file",
}
_GOT_KIND: dict[str, str] = {
    "NAME": "identifier",
    "NUMBER": "number",
    "DURATION": "duration",
    "STRING": "string",
    "TIMERANGE": "hours",
}
# Shown together as "an operator" when an expression could go on, to keep the message short.
_OPERATORS = {"or", "and", "not", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/", "%", ".", "("}
_JOURNEY_ITEMS = (
    "title version owner team description tags experience uses entry audience reentry exit goal cap quiet stage migrate"
).split()
# Rough tokens for finding the block left open at the end of the text: strings and comments are skipped.
_BRACES = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}]|[a-z_][a-z0-9_]*')
_FLOW_HINT = "a step ends with exactly one flow: `-> STEP`, `wait`, `choose`, `experiment` or `end`"
_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # a number someone quoted


def terminal_words(terminals: Collection[TerminalDef]) -> dict[str, str]:
    """Terminal name -> how a message names it."""
    words = dict(_REGEX_WORDS)
    for term in terminals:
        if isinstance(term.pattern, PatternStr):
            words[term.name] = f"`{term.pattern.value}`"
    return words


def describe_expected(expected: set[str] | frozenset[str], words: dict[str, str]) -> str:
    shown = {words.get(name, name) for name in expected if name != "COMMENT"}
    operators = {f"`{op}`" for op in _OPERATORS} & shown
    if len(operators) >= 3:
        shown = (shown - operators) | {"an operator"}
    items = {f"`{word}`" for word in _JOURNEY_ITEMS} & shown
    if len(items) >= 8:
        shown = (shown - items) | {"a journey item (`title`, `version`, `entry`, `goal`, `stage`, …)"}
    # Plain words (`->`, `}`) first, then the kinds (an identifier, a number), each alphabetically.
    ordered = sorted(shown, key=lambda w: (not w.startswith("`"), w))
    if len(ordered) > 16:
        ordered = [*ordered[:16], "…"]
    if not ordered:
        return "nothing more"
    if len(ordered) == 1:
        return ordered[0]
    return ", ".join(ordered[:-1]) + " or " + ordered[-1]


def _got(token: Token, words: dict[str, str]) -> str:
    if token.type == "$END":
        return "the end"
    kind = _GOT_KIND.get(token.type)
    value = clip(token.value, 60)  # a string token can be a whole line long
    if kind:
        return f"{kind} `{value}`"
    if token.value.isalpha():
        return f"keyword `{value}`"
    return f"`{value}`"


def _hint(expected: set[str] | frozenset[str], token: Token | None, words: dict[str, str]) -> str | None:
    if {"ARROW", "WAIT", "END", "CHOOSE"} <= set(expected):
        return _FLOW_HINT
    if set(expected) == {"PERCENT"}:
        return "a percentage is written with `%` after the number, e.g. `expect 12%`"
    if "ACROSS" in expected:
        return "a schema's `policy` caps count every journey's sends: write e.g. `cap email 3 per 7d across journeys`"
    if token is not None and token.type == "NAME":
        keywords = [words[name].strip("`") for name in expected if words.get(name, "").strip("`").isalpha()]
        close = difflib.get_close_matches(token.value, keywords, n=1)
        if close:
            return f"did you mean `{close[0]}`?"
    if token is not None and token.type == "STRING" and "NUMBER" in expected:
        inner = token.value.strip('"')
        if _NUMBER_TEXT.fullmatch(inner):
            return f"`{token.value}` is a string because of its quotes: write the number without them, `{inner}`"
        return "a number goes here, written without quotes, e.g. `2`"
    if token is not None and token.value == "=" and "`=`" not in {words.get(name) for name in expected}:
        return "compare with `==`; `=` only appears in `set profile.FIELD = EXPR`"
    return None


def _accepted(err: UnexpectedInput, fallback: set[str] | frozenset[str]) -> set[str] | frozenset[str]:
    """The terminals that really can come next.

    LALR merges states, so Lark's `expected` is the union over every context an expression can appear in;
    the interactive parser tries each terminal and keeps those that shift.
    """
    interactive = getattr(err, "interactive_parser", None)
    if interactive is None:
        return fallback
    try:
        return interactive.accepts() or fallback
    except Exception:  # noqa: BLE001 - a worse message is better than a traceback
        return fallback


def syntax_diagnostic(
    err: UnexpectedInput, text: str, state: ParseState, words: dict[str, str], what: str = "file"
) -> Diagnostic:
    """One diagnostic for one Lark error, positioned in the file the text came from."""
    words = {**words, "$END": f"the end of the {what}"}
    if isinstance(err, UnexpectedToken):
        expected = _accepted(err, err.expected or set())
        token = err.token
        if token.type == "$END":
            line, col = _end_of_text(text)
            return _make(
                codes.UNEXPECTED_EOF,
                f"unexpected end of the {what}: expected {describe_expected(expected, words)}",
                state,
                (line, col, line, col),
                _open_block(text) or _hint(expected, None, words),
            )
        start = (token.line or 1, token.column or 1)
        end = (token.end_line or start[0], token.end_column or start[1] + max(len(token.value), 1))
        return _make(
            codes.SYNTAX_ERROR,
            f"expected {describe_expected(expected, words)}, got {_got(token, words)}",
            state,
            (*start, *end),
            _hint(expected, token, words),
        )
    if isinstance(err, UnexpectedCharacters):
        char = err.char
        hint = None
        if char == '"':
            message = 'unterminated string: a string ends with `"` on the same line'
        else:
            message = f"unexpected character `{char}`"
            allowed = _accepted(err, err.allowed or set())
            if allowed:
                message += f", expected {describe_expected(allowed, words)}"
            if char.isalpha() and char.isupper():
                hint = "identifiers are lower case: letters, digits and `_`"
            else:
                hint = _foreign_operator_hint(text, err.pos_in_stream)
        line, col = err.line or 1, err.column or 1
        return _make(codes.SYNTAX_ERROR, message, state, (line, col, line, col + 1), hint)
    if isinstance(err, UnexpectedEOF):
        line, col = _end_of_text(text)
        expected_words = describe_expected(set(err.expected), words)
        message = f"unexpected end of the {what}: expected {expected_words}"
        return _make(codes.UNEXPECTED_EOF, message, state, (line, col, line, col), _open_block(text))
    line, col = getattr(err, "line", 1) or 1, getattr(err, "column", 1) or 1
    message = (str(err).splitlines() or ["syntax error"])[0]
    return _make(codes.SYNTAX_ERROR, message, state, (line, col, line, col + 1), None)


# Operators from other languages, and what this one writes instead.
_FOREIGN_OPERATORS = (
    ("&&", "write `and` instead of `&&`: `a and b`"),
    ("||", "write `or` instead of `||`: `a or b`"),
    ("&", "write `and` instead of `&`: `a and b`"),
    ("|", "write `or` instead of `|`: `a or b`"),
    ("!", "write `not` instead of `!`: `not a` (`!=` is written as is)"),
    ("'", "strings are written in double quotes: `\"…\"`, not `'…'`"),
)


def _foreign_operator_hint(text: str, pos: int | None) -> str | None:
    """`&&`, `||`, `!` and `'…'`: the spelling of the operator or string this language has instead."""
    if pos is None or not 0 <= pos < len(text):
        return None
    for written, hint in _FOREIGN_OPERATORS:
        if text.startswith(written, pos):
            return hint
    return None


def _open_block(text: str) -> str | None:
    """`step a` (line 3) is not closed: names the innermost block still open at the end of the text."""
    stack: list[tuple[str, int]] = []
    recent: list[str] = []
    for match in _BRACES.finditer(text):
        token = match.group()
        if token == "{":
            label = " ".join(recent[-2:]) if recent else "a block"
            stack.append((label, text.count("\n", 0, match.start()) + 1))
            recent = []
        elif token == "}":
            if stack:
                stack.pop()
            recent = []
        elif token[0] not in '"#':
            recent.append(token)
    if not stack:
        return None
    label, line = stack[-1]
    return f"`{label} {{` (line {line}) is not closed with `}}`"


def _end_of_text(text: str) -> tuple[int, int]:
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    col = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return line, col


def _make(
    code: Code, message: str, state: ParseState, where: tuple[int, int, int, int], hint: str | None
) -> Diagnostic:
    line, col = state.position(where[0], where[1])
    end_line, end_col = state.position(where[2], where[3])
    return Diagnostic(code, message, Span(state.path, line, col, end_line, end_col), hint, code.severity)
