"""Fixture files carry their expected diagnostics inline (`# expect: JD102`); compare (code, line) sets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from journeydsl.check import check_project
from journeydsl.project import load_project

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(.*)$")


def expected(path: Path) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found |= {(code, number) for code in re.findall(r"JD\d{3}", match.group(1))}
    return found


CASES = sorted(p for p in FIXTURES.glob("*.journey*") if p.name != "schema.journey")


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_fixture_expectations(path: Path) -> None:
    diags = check_project(load_project([path], templates_dir=FIXTURES / "templates"))
    got = {(d.code.code, d.span.line) for d in diags if d.span and d.span.file == str(path)}
    assert got == expected(path)


def test_every_fixture_expects_something_but_clean() -> None:
    for path in CASES:
        assert bool(expected(path)) == (path.name != "clean.journey"), path


def test_template_syntax_error_points_into_the_template() -> None:
    path = FIXTURES / "templates.journey"
    diags = check_project(load_project([path], templates_dir=FIXTURES / "templates"))
    outside = [d for d in diags if d.span and d.span.file != str(path)]
    # Two sends use the broken template; it is parsed and reported once, at its own file and line.
    # A template that reads an undeclared profile field is reported once, at the field in the template.
    assert [(d.code.code, Path(d.span.file).name, d.span.line, d.span.col) for d in outside if d.span] == [
        ("JD603", "broken.j2", 2, 1),
        ("JD104", "order.j2", 2, 4),  # sent where `event` is `signed_up`
        ("JD207", "order.j2", 2, 4),  # sent where `event` is `signed_up` or `order_placed`
        ("JD104", "typo.j2", 1, 7),
    ]
    assert "endfor" in outside[0].message
    assert outside[3].hint == "did you mean `profile.first_name`?"
