"""bench/workers.py on a tiny input: it runs, compares each worker count's records with one worker's, and prints a
ratio per count; its options and its table."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from bench.workers import Figure, main, paired_ratios, parse_counts, report, same_records


def test_the_bench_runs_on_a_tiny_input(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--solar-customers", "30", "--customers", "20", "--stream-customers", "5", "--workers", "2"]
    main([*argv, "--rounds", "1", "--no-plain"])
    out = capsys.readouterr().out
    assert "FAILED" not in out and "DIFFER" not in out
    # The judged solar stream, the journey stream on memory:// and sqlite://, the whole stream; judged only once.
    assert out.count("    --workers 1: ") == 4
    assert out.count("records identical") == 4
    assert out.count("ratio --workers 2 / --workers 1") == 1
    assert out.count("per round (each --workers 2 run against") == 1
    assert out.index("judged (issue 18's named stream): solar_events(30)") < out.index("not judged")
    assert "load average" in out and "(gross " in out


def test_records_are_the_same_in_any_order_but_not_with_one_changed(tmp_path: Path) -> None:
    one, two, three = tmp_path / "1", tmp_path / "2", tmp_path / "3"
    one.write_bytes(b'{"key":"a"}\n{"key":"b"}\n')
    two.write_bytes(b'{"key":"b"}\n{"key":"a"}\n')
    three.write_bytes(b'{"key":"b"}\n{"key":"c"}\n')
    assert same_records(two, one) and not same_records(three, one)


def test_worker_counts_always_include_the_baseline() -> None:
    assert parse_counts("4,2") == [1, 2, 4]
    with pytest.raises(argparse.ArgumentTypeError):
        parse_counts("0,2")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_counts("two")


def test_the_ratio_is_against_one_worker_in_the_same_run(capsys: pytest.CaptureFixture[str]) -> None:
    best: dict[int, Figure | str] = {
        1: Figure(1, 1000, wall=2.0, cpu=2.0, same=None),
        2: Figure(2, 1000, wall=1.0, cpu=2.2, same=True),
        4: "FAILED (exit 1): boom",
    }
    walls = {1: [2.4, 2.0, 2.2], 2: [1.5, 1.0, 1.1]}
    assert report("stream", best, judged=True, walls=walls) == pytest.approx(2.0)
    out = capsys.readouterr().out
    assert "2.00x" in out and "target >= 1.7: MET" in out and "(gross 2.00;" in out
    assert "net of start-up" in out and "--workers 4: FAILED" in out
    # Each round's pair, not the best of each count: the spread on a shared machine.
    assert "per round (each --workers 2 run against the --workers 1 run of its round, net): 1.60 2.00 2.00;" in out
    assert "median 2.00" in out


def test_paired_ratios_are_net_of_start_up() -> None:
    assert paired_ratios({1: [3.0, 2.5], 2: [2.0, 1.5]}, 2, startup=0.5) == pytest.approx([2.5 / 1.5, 2.0])
    assert paired_ratios({1: [3.0]}, 2, startup=0.5) == []
    assert paired_ratios({1: [3.0, 0.4], 2: [0.5, 0.3]}, 2, startup=0.5) == [None, None]  # no longer than start-up


def test_records_that_differ_fail_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    best: dict[int, Figure | str] = {
        1: Figure(1, 1000, wall=2.0, cpu=2.0, same=None),
        2: Figure(2, 1000, wall=1.0, cpu=2.2, same=False),
    }
    report("stream", best, judged=True, walls={})
    out = capsys.readouterr().out
    assert "RECORDS DIFFER" in out and "NOT MET" in out
