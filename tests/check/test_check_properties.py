"""Property: checking never raises, whatever the (mutated) input; every diagnostic has a position."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeydsl.check import check_project
from journeydsl.project import load_project

FIXTURES = Path(__file__).parent / "fixtures"
CLEAN = (FIXTURES / "clean.journey").read_text(encoding="utf-8")
LINES = CLEAN.splitlines()
WORDS = sorted(set(re.findall(r"[a-z_][a-z0-9_]*", CLEAN + (FIXTURES / "schema.journey").read_text())))
TOKEN = re.compile(r"[a-z_][a-z0-9_]*|\d+%?|\S")


def _check(text: str, tmp: Path) -> None:
    (tmp / "schema.journey").write_text((FIXTURES / "schema.journey").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp / "m.journey").write_text(text, encoding="utf-8")
    diags = check_project(load_project([tmp / "m.journey"], templates_dir=FIXTURES / "templates"))
    assert all(d.span is not None and d.span.line >= 1 and d.span.col >= 1 for d in diags)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dropped=st.sets(st.integers(0, len(LINES) - 1), max_size=6))
def test_dropping_lines_never_raises(tmp_path: Path, dropped: set[int]) -> None:
    _check("\n".join(line for i, line in enumerate(LINES) if i not in dropped) + "\n", tmp_path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_swapping_words_never_raises(tmp_path: Path, data: st.DataObject) -> None:
    text = CLEAN
    for _ in range(data.draw(st.integers(1, 4))):
        tokens = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
        start, end = data.draw(st.sampled_from(tokens))
        word = data.draw(st.sampled_from([*WORDS, "true", "null", "1", "7d", "[", '"x"', "+", "->"]))
        text = text[:start] + word + text[end:]
    _check(text, tmp_path)
