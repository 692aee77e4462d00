"""bench/floors.py on a tiny input: both parts print their figures and budgets; and the clock that times SQLite's
own calls counts them and nothing else."""

from __future__ import annotations

import re
import sqlite3
import sys
import time

import pytest
from bench.floors import SqlClock, main

SLOW_SQL = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) SELECT count(*) FROM n"


def seconds(out: str, label: str) -> float:
    found = re.search(rf"{re.escape(label)}[^\n]*?\s(-?[0-9.]+) s ", out)
    assert found is not None, f"no {label!r} line in:\n{out}"
    return float(found.group(1))


def test_the_bench_runs_on_a_tiny_input(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--customers", "200", "--journey-customers", "30", "--rounds", "1"])
    out = capsys.readouterr().out
    parts = ["read + orjson.loads", "create the records as dicts", "encode them", "write them to a file"]
    floors = sum(seconds(out, f"floor: {part}") for part in parts)
    assert seconds(out, "floors together") == pytest.approx(floors, abs=0.002)
    assert seconds(out, "journeydsl run, plain Python, net of start-up") > 0  # plain Python's, on any build
    assert re.search(r"plain Python: target 0.25x json.loads, budget [0-9.]+ s; after the floors -?[0-9.]+ s", out)
    assert re.search(r"sqlite://\s+[0-9.]+ s  ratio [0-9.]+ \(target 0.8\)", out)
    assert re.search(r"inside sqlite3's calls alone: [0-9.]+ s \([0-9.]+x the budget\)", out)


def test_the_sql_clock_counts_sqlite_calls_only() -> None:
    db = sqlite3.connect(":memory:")
    clock = SqlClock()
    sys.setprofile(clock)
    try:
        started = time.perf_counter()
        db.execute(SLOW_SQL).fetchall()
        in_sql = time.perf_counter() - started
        busy = time.perf_counter()
        while time.perf_counter() - busy < in_sql:  # as long again in Python and other C calls: not counted
            sorted(range(100))
    finally:
        sys.setprofile(None)
        db.close()
    assert clock.calls == 2  # execute, fetchall
    assert 0.5 * in_sql < clock.seconds <= in_sql * 1.05
