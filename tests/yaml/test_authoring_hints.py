"""Authoring slips found in the trial: foreign operators, quoted numbers, YAML indentation and comma splits."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from journeydsl.diagnostics import Diagnostic, Sink
from journeydsl.syntax import parse_dsl
from journeydsl.syntax.safe_yaml import compose
from journeydsl.syntax.yaml_loader import load_yaml

ROOT = Path(__file__).resolve().parents[2]


def dsl_diags(entry_where: str) -> list[Diagnostic]:
    text = f"journey j {{\n  entry on e where {entry_where}\n  stage s {{ step a {{ end }} }}\n}}\n"
    return parse_dsl(text, "j.journey")[1]


@pytest.mark.parametrize(
    ("where", "col", "word"),
    [
        ("event.a > 1 && event.b", 32, "`and`"),
        ("event.a > 1 || event.b", 32, "`or`"),
        ("event.a > 1 & event.b", 32, "`and`"),
        ("!event.a", 20, "`not`"),
        ("event.a == 'x'", 31, '`"…"`'),
    ],
)
def test_foreign_operators_and_single_quotes_name_the_spelling_of_this_language(
    where: str, col: int, word: str
) -> None:
    [diag] = dsl_diags(where)
    assert diag.code.code == "JD001"
    assert diag.span is not None and (diag.span.line, diag.span.col) == (2, col)
    assert diag.hint is not None and word in diag.hint


def test_not_equal_is_not_mistaken_for_a_foreign_not() -> None:
    assert dsl_diags("event.a != 1") == []


def test_a_yaml_expression_gets_the_same_hints() -> None:
    text = "journey: j\nentry: {on: e, where: \"event.a == 'x' || event.b\"}\nstages: {s: {a: {end: null}}}\n"
    diags = load_yaml(text, "j.journey.yaml")[1]
    assert [d.code.code for d in diags] == ["JD001"]
    assert diags[0].hint is not None and '"…"' in diags[0].hint


def test_a_quoted_number_in_the_dsl_says_it_is_a_string() -> None:
    text = 'journey j {\n  cap email "2" per 1d\n  stage s { step a { end } }\n}\n'
    [diag] = parse_dsl(text, "j.journey")[1]
    assert 'got string `"2"`' in diag.message
    assert diag.hint is not None and "without them, `2`" in diag.hint


@pytest.mark.parametrize(
    ("yaml_line", "message", "hint"),
    [
        ('version: "3"', 'must be an integer, not the string `"3"`', "without them, `3`"),
        ("version: '3'", "must be an integer, not the string `'3'`", "without them, `3`"),
        ('caps: [{channel: email, max: "2", per: 1d}]', 'not the string `"2"`', "without them, `2`"),
    ],
)
def test_a_quoted_number_in_yaml_says_it_is_a_string(yaml_line: str, message: str, hint: str) -> None:
    text = f"journey: j\n{yaml_line}\nentry: {{on: e}}\nstages: {{s: {{a: {{end: null}}}}}}\n"
    [diag] = load_yaml(text, "j.journey.yaml")[1]
    assert message in diag.message
    assert diag.hint is not None and hint in diag.hint


def _compose_errors(text: str) -> list[Diagnostic]:
    sink = Sink()
    compose(text, "j.journey.yaml", sink)
    return sink.diagnostics


# A step key moved by one space: PyYAML notices it four lines later, at the next step.
MOVED_STEP = textwrap.dedent(
    """\
    journey: j
    stages:
      s:
       one:
          do:
            - send: {channel: email, template: hi}
          next: two
        two:
          end: done
    """
)


@pytest.mark.usefixtures("composer")
def test_an_indentation_error_points_at_the_line_that_went_wrong() -> None:
    [diag] = _compose_errors(MOVED_STEP)
    assert diag.code.code == "JD003"
    assert diag.span is not None and diag.span.line == 4  # `one:`, not line 8 where the parser noticed
    assert "indented 3 spaces" in diag.message
    assert diag.hint is not None and "line 8" in diag.hint


def test_a_key_written_at_the_column_of_list_dashes_is_named() -> None:
    text = "journey: j\nwait:\n  - on: a\n    next: b\n  - after: 3d\n  next: c\n"
    [diag] = _compose_errors(text)
    assert diag.span is not None and diag.span.line == 6
    assert "column of the list's `-`" in diag.message and diag.hint is not None and "4 spaces" in diag.hint


def test_a_line_between_two_levels_names_both() -> None:
    text = "a:\n  do:\n    - x: 1\n   next: b\n"
    [diag] = _compose_errors(text)
    assert diag.span is not None and diag.span.line == 4
    assert "between the 2 of line 2 and the 4" in diag.message


@pytest.mark.parametrize("name", ["win_back.journey.yaml", "style_box.journey.yaml"])
def test_every_moved_line_of_an_example_is_reported_on_it_or_next_to_it(name: str) -> None:
    """Each content line moved by one or two spaces either way: the error is on that line or the next one."""
    lines = (ROOT / "journeys" / name).read_text(encoding="utf-8").split("\n")
    far = []
    for index, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        for shift in (-2, -1, 1, 2):
            if indent + shift < 0:
                continue
            moved = " " * (indent + shift) + line.lstrip()
            errors = _compose_errors("\n".join([*lines[:index], moved, *lines[index + 1 :]]))
            for diag in errors:
                assert diag.span is not None
                if abs(diag.span.line - (index + 1)) > 1:
                    far.append((index + 1, shift, diag.span.line, diag.message))
    assert far == []


@pytest.mark.usefixtures("composer")
def test_a_comma_that_yaml_split_an_expression_at_gets_a_quote_it_hint() -> None:
    text = 'journey: j\nentry: {on: e, where: coalesce(event.zip, "x") == "y"}\n'
    [diag] = _compose_errors(text)
    assert diag.code.code == "JD003" and diag.hint is not None and "must be quoted" in diag.hint


@pytest.mark.parametrize(
    "body",
    [
        "- send: {channel: email, template: hi, with: {v: min(profile.ltv, 3)}}",
        "- {when: coalesce(profile.ltv, 0) > 3, next: a}",
    ],
)
def test_a_split_that_yaml_accepts_gets_the_hint_on_every_piece(body: str) -> None:
    key = "do" if "send" in body else "choose"
    extra = "\n      end: null" if key == "do" else ""
    text = f"journey: j\nentry: {{on: e}}\nstages:\n  s:\n    a:\n      {key}:\n        {body}{extra}\n"
    diags = load_yaml(text, "j.journey.yaml")[1]
    assert diags, "the split expression must be reported"
    assert all(d.hint is not None and "must be quoted" in d.hint for d in diags), [(d.message, d.hint) for d in diags]


def test_a_quoted_expression_with_commas_is_fine() -> None:
    text = 'journey: j\nentry: {on: e, where: \'coalesce(event.zip, "x") == "y"\'}\nstages: {s: {a: {end: null}}}\n'
    assert load_yaml(text, "j.journey.yaml")[1] == []


@pytest.mark.usefixtures("composer")
def test_a_key_indented_under_a_line_with_a_value_is_named() -> None:
    [diag] = _compose_errors("journey: j\nentry:\n  on: x\n   where: y\n")
    assert diag.code.code == "JD003" and diag.span is not None and diag.span.line == 4
    assert diag.hint is not None and "indent it by 2 spaces like line 3" in diag.hint
