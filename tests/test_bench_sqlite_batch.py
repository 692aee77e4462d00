"""bench/sqlite_batch.py on a tiny input: both streams, memory:// against sqlite://, the same records, a ratio each;
and its --build option."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from bench.sqlite_batch import main, parse_build


def test_the_bench_runs_on_a_tiny_input(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--customers", "20", "--stream-customers", "5", "--rounds", "1"])
    out = capsys.readouterr().out
    assert out.count("records identical") == 2 and "DIFFER" not in out
    assert "journey stream" in out and "whole stream (share 0.9)" in out and "ratio" in out and "load" in out


def test_a_build_is_a_name_and_a_path() -> None:
    assert parse_build("old=src") == ("old", str(Path("src").resolve()))
    for bad in ("src", "=src", "old="):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME=PATH"):
            parse_build(bad)
