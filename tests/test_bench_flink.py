"""bench/flink.py's pieces, quickly (the Flink runs themselves are the cluster tests' and `make bench`'s):
rates net of start-up, the scale-out efficiency, best-of in turns, the report, the options, and a real `run`
baseline on a few events."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from bench.flink import Figure, best_of, efficiency, main, parse_levels, report, run_local
from bench.workload import JOURNEYS, bundle_files, example_events

from journeydsl.compile.bundle import write_bundle
from journeydsl.runtime.jsonio import dumps


def test_rates_are_net_of_start_up() -> None:
    figure = Figure("x", 1000, wall=6.0, startup=4.0)
    assert figure.gross == pytest.approx(1000 / 6.0)
    assert figure.net == pytest.approx(500.0)
    assert Figure("x", 10, wall=1.0, startup=2.0).net == float("inf")  # too short to tell


def test_efficiency_is_rate_n_over_n_times_rate_1() -> None:
    assert efficiency(2000.0, 1000.0, 2) == pytest.approx(1.0)
    assert efficiency(1500.0, 1000.0, 2) == pytest.approx(0.75)
    assert efficiency(1500.0, 0.0, 2) == 0.0


def test_best_of_runs_every_configuration_once_a_round_in_turns() -> None:
    calls: list[str] = []
    walls = {"a": iter([3.0, 1.0]), "b": iter([2.0, 5.0])}

    def measure(label: str) -> float:
        calls.append(label)
        return next(walls[label])

    best = best_of(2, {"a": lambda: measure("a"), "b": lambda: measure("b")})
    assert calls == ["a", "b", "a", "b"]
    assert best == {"a": 1.0, "b": 2.0}


def test_report_prints_ratios_and_the_efficiency(capsys: pytest.CaptureFixture[str]) -> None:
    figures = [
        Figure("run memory://", 1000, 2.0, 1.0),
        Figure("mini-cluster p=1", 1000, 11.0, 10.0),
        Figure("mini-cluster p=2", 1000, 10.8, 10.0),
        Figure("local cluster p=1", 1000, 3.0, 3.0),
    ]
    report(figures, [1, 2])
    out = capsys.readouterr().out
    assert "run memory://" in out and "1.00" in out
    assert "scale-out efficiency, mini-cluster, p=2: 0.62" in out  # 1250 / (2 x 1000)
    assert "(too short)" in out and "local cluster, p=2" not in out


def test_parallelism_levels() -> None:
    assert parse_levels("2,1,2") == [1, 2]
    for bad in ("", "one", "0", "129"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_levels(bad)
    with pytest.raises(SystemExit):
        main(["--parallelism", "zero"])


def test_the_run_baseline_runs_the_command(tmp_path: Path) -> None:
    bundle = write_bundle(bundle_files([JOURNEYS]), tmp_path / "journeys.jbundle")
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(dumps(event) + b"\n" for event in example_events(5)))
    assert run_local(bundle, events) > 0
    with pytest.raises(RuntimeError, match="failed"):
        run_local(tmp_path / "missing.jbundle", events)
