"""Parsing from several threads at once gives what parsing one file after another gives (issue 13).

Each parse borrows a parser of its own (syntax/grammar.py), so no parse sees another's state: the IR, every span
in it, the comments and the diagnostics are the serial ones. The switch interval is cut while the threads run,
so they interleave inside parses rather than one after the other.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from journeydsl.ir import Span
from journeydsl.syntax import grammar, parse_dsl, parse_expression, parse_type
from journeydsl.syntax.yaml_loader import load_yaml

ROOT = Path(__file__).resolve().parents[2]
THREADS = 6
ROUNDS = 3

BROKEN = """\
journey broken {
  version 1.5
  title "a" title "b"
  stage recognize {
    step a { send email hi with { n: 99999999999999999999 } wait 1.5h -> b }
    step b { wait on e where profile.x = 1 -> a }
  }
}

journey fine {  # a comment after code
  # a comment alone
  stage recognize { step a { end } }
}
"""


def _inputs() -> list[tuple[str, str]]:
    """(path, text): the example journeys in both forms, the SPEC example, and a file full of mistakes."""
    found = [(str(path), path.read_text(encoding="utf-8")) for path in sorted((ROOT / "journeys").glob("*.journey*"))]
    found.append(("tests/syntax/spec_example.journey", (ROOT / "tests/syntax/spec_example.journey").read_text()))
    found.append(("broken.journey", BROKEN))
    return found


def _parse(path: str, text: str) -> Any:
    """Everything a parse gives, as plain data that includes the spans (which IR equality leaves out)."""
    if path.endswith(".yaml"):
        source, diagnostics = load_yaml(text, path)
    else:
        source, diagnostics = parse_dsl(text, path)
    expr, expr_problems = parse_expression(f"profile.n + {len(text)} > 3 and", Span(path, 7, 5, 7, 5))
    type_ref, type_problems = parse_type("list<strin>?", Span(path, 9, 3, 9, 3))
    return _plain((source, source.comments, diagnostics, expr, expr_problems, type_ref, type_problems))


def _plain(value: Any) -> Any:
    if isinstance(value, Span):
        return ("span", value.file, value.line, value.col, value.end_line, value.end_col)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__name__, *((f.name, _plain(getattr(value, f.name))) for f in fields))
    if isinstance(value, (list, tuple)):
        return tuple(_plain(item) for item in value)
    return value


@pytest.fixture
def interleaved() -> Iterator[None]:
    """Threads switch every microsecond, so parses in flight overlap as much as they can."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _run_together(work: Callable[[int], Any], count: int) -> list[Any]:
    start = threading.Barrier(count)

    def run(number: int) -> Any:
        start.wait()
        return work(number)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_parses_in_several_threads_equal_the_serial_ones(interleaved: None) -> None:
    inputs = _inputs()
    serial = [_parse(path, text) for path, text in inputs]
    assert any(item[2] for item in serial), "the inputs should include diagnostics"

    def work(number: int) -> list[list[Any]]:
        # Each thread takes the files in another order, so different files are in flight at the same moment.
        order = inputs[number % len(inputs) :] + inputs[: number % len(inputs)]
        results: dict[str, Any] = {}
        for _ in range(ROUNDS):
            for path, text in order:
                assert results.setdefault(path, _parse(path, text)) == results[path]
        return [results[path] for path, _ in inputs]

    for found in _run_together(work, THREADS):
        assert found == serial


def test_each_parse_in_flight_has_a_parser_of_its_own(interleaved: None) -> None:
    """The pool grows to the number of parses in flight at once, and a finished parse hands its parser back."""
    text = "\n".join(f"journey j{i} {{ stage s {{ step a {{ end }} }} }}" for i in range(300))
    _run_together(lambda _: parse_dsl(text, "many.journey"), THREADS)
    idle = len(grammar._IDLE)
    assert 1 <= idle <= THREADS
    assert all(parser.transformer.state is grammar._IDLE_STATE for parser in grammar._IDLE)
    parse_dsl(text, "again.journey")  # a parse in one thread borrows an idle parser: the pool does not grow
    assert len(grammar._IDLE) == idle
