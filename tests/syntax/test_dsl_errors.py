"""Syntax errors become JD001/JD002 diagnostics with positions and words; literals the IR cannot hold, JD007/JD009."""

from __future__ import annotations

import pytest

from journeydsl.syntax import parse_dsl


def diags(text: str) -> list[tuple[str, int, int, str]]:
    _, found = parse_dsl(text, "e.journey")
    return [(d.code.code, d.span.line, d.span.col, d.message) for d in found if d.span is not None]


def test_missing_flow_names_what_was_expected_and_hints() -> None:
    _, found = parse_dsl("journey j {\n  stage s {\n    step a { send email hi }\n  }\n}\n", "e.journey")
    assert len(found) == 1
    diag = found[0]
    assert diag.code.code == "JD001"
    assert diag.span is not None and (diag.span.line, diag.span.col) == (3, 28)
    assert diag.message.startswith("expected `->`") and "got `}`" in diag.message
    assert diag.hint is not None and "exactly one flow" in diag.hint


def test_unknown_word_gets_did_you_mean() -> None:
    _, found = parse_dsl("journey j {\n  verson 2\n}\n", "e.journey")
    assert (found[0].code.code, found[0].span.line, found[0].span.col) == ("JD001", 2, 3)  # type: ignore[union-attr]
    assert "got identifier `verson`" in found[0].message
    assert found[0].hint == "did you mean `version`?"


def test_unexpected_end_is_jd002_at_the_end() -> None:
    [(code, line, col, message)] = diags("journey j {\n  stage s {\n    step a { -> b }\n")
    assert (code, line, col) == ("JD002", 3, 20)
    assert message == "unexpected end of the file: expected `step` or `}`"


def test_unterminated_string() -> None:
    [(code, line, col, message)] = diags('journey j {\n  title "oops\n}\n')
    assert (code, line, col) == ("JD001", 2, 9)
    assert "unterminated string" in message


def test_an_error_in_one_journey_keeps_the_others() -> None:
    source, found = parse_dsl(
        "journey a {\n  version 1\n}\njourney b {\n  version\n}\njourney c {\n  foo\n}\n", "e.journey"
    )
    assert [j.name for j in source.journeys] == ["a"]
    assert [(d.code.code, d.span.line) for d in found if d.span] == [("JD001", 6), ("JD001", 8)]


@pytest.mark.parametrize(
    ("snippet", "needle"),
    [
        ("reentry after 3days", "unknown duration unit `days`"),
        ("quiet 25:00-08:00", "`25:00` is not a time of day"),
        ("quiet 21:00-08:75", "`08:75` is not a time of day"),
        ("version 2.5", "`version` must be a whole number"),
        ("cap email 1.5 per 1d", "a cap must be a whole number"),
        ("stage s { step a { experiment e { variant x 50.5% -> a } } }", "a weight must be a whole number"),
        ("stage s { step a { wait 1.5h -> a } }", "a duration is a whole number"),
        ('title "a\\qb"', "unknown escape"),
    ],
)
def test_bad_literals_are_jd007(snippet: str, needle: str) -> None:
    found = diags(f"journey j {{\n  {snippet}\n}}\n")
    assert [code for code, *_ in found] == ["JD007"]
    assert needle in found[0][3] and found[0][1] == 2


@pytest.mark.parametrize(
    "snippet",
    [
        'title "a"\n  title "b"',
        "version 1\n  version 2",
        "entry on a\n  entry on b",
        "quiet 21:00-08:00\n  quiet 22:00-07:00",
        "reentry never\n  reentry always",
        "audience true\n  audience false",
        'owner "a"\n  owner "b"',
    ],
)
def test_duplicate_header_items_are_jd009(snippet: str) -> None:
    source, found = parse_dsl(f"journey j {{\n  {snippet}\n}}\n", "e.journey")
    assert [(d.code.code, d.span.line) for d in found if d.span] == [("JD009", 3)]
    assert source.journeys, "the journey is still returned, with the first value"


def test_missing_version_entry_owner_are_not_parse_errors() -> None:
    source, found = parse_dsl("journey j { }", "e.journey")
    assert found == []
    journey = source.journeys[0]
    assert (journey.version, journey.entry, journey.owner) == (None, None, None)


def test_unknown_type_and_bad_requires() -> None:
    found = diags("schema s {\n  profile { a: strng }\n  channel c { requires event.x }\n}\n")
    assert [(code, line) for code, line, *_ in found] == [("JD001", 2), ("JD001", 3)]


def test_two_wait_timeouts_are_reported() -> None:
    found = diags("journey j { stage s { step a { wait { after 1d -> a after 2d -> a } } } }")
    assert [code for code, *_ in found] == ["JD001"] and "at most one timeout" in found[0][3]


def test_empty_and_garbage_files() -> None:
    assert diags("") == []
    assert diags("# only a comment\n") == []
    [(code, line, col, _)] = diags("\n\n  @@@")
    assert (code, line, col) == ("JD001", 3, 3)


def test_unexpected_end_names_the_open_block() -> None:
    text = 'journey j {\n  stage s {\n    step a { wait {\n      on e -> b\n    }\n  # "}"\n'
    _, found = parse_dsl(text, "e.journey")
    [diag] = found
    assert diag.code.code == "JD002"
    assert diag.hint == "`step a {` (line 3) is not closed with `}`"


def test_long_expected_lists_are_summarised() -> None:
    [(code, _, col, message)] = diags("journey j { entry on e key event.id where true }")
    assert (code, col) == ("JD001", 37)
    assert message == (
        "expected `}`, a journey item (`title`, `version`, `entry`, `goal`, `stage`, …) or an operator, "
        "got keyword `where`"
    )


def test_every_lark_error_kind_becomes_a_positioned_diagnostic() -> None:
    from lark.exceptions import UnexpectedEOF, UnexpectedInput

    from journeydsl.syntax.errors import syntax_diagnostic
    from journeydsl.syntax.grammar import grammar_words
    from journeydsl.syntax.state import ParseState

    words = grammar_words()
    state = ParseState("k.journey")
    eof = syntax_diagnostic(UnexpectedEOF(["RBRACE"]), "journey j {\n", state, words)
    assert (eof.code.code, eof.span.line, eof.span.col) == ("JD002", 1, 12)  # type: ignore[union-attr]
    assert eof.message == "unexpected end of the file: expected `}`"
    assert eof.hint == "`journey j {` (line 1) is not closed with `}`"
    other = syntax_diagnostic(UnexpectedInput(), "x", state, words)
    assert other.code.code == "JD001" and other.span is not None and other.message


def test_crlf_and_byte_order_mark_parse_like_plain_text() -> None:
    text = 'journey j {  # c\n  title "t"\n}\n'
    plain, _ = parse_dsl(text, "e.journey")
    for variant in (text.replace("\n", "\r\n"), "\ufeff" + text):
        source, found = parse_dsl(variant, "e.journey")
        assert found == [] and source == plain
        assert [c.text for c in source.comments] == ["# c"]
