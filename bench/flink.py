"""Flink benchmark (issue 16): events/s of the journeys on Apache Flink, at parallelism 1 and 2, against `run`.

Four ways to run the same file of the example journeys' events (`bench.workload.example_events`), in one process
tree, in turns (each round runs every configuration once; the best of `--rounds` counts):

1. `journeydsl run BUNDLE --events F --max-skew none --until U` on memory:// (the baseline, a child process);
2. `journeydsl run --engine flink --parallelism N` (a Flink mini-cluster inside a child process, thread mode);
3. the job submitted to the local cluster from the wheel (`journeydsl.flink.cluster`, a JobManager and a
   TaskManager with 2 slots, started once), records to JSONL part files, at parallelism N.

Rates are WALL events/s: a Flink job's work happens in JVMs (the mini-cluster's, the TaskManager's), whose CPU
this process cannot attribute to one run. Each figure is given twice: gross (the whole command or job, start-up
included) and net (minus the same command or job on a one-event file: JVM and job start-up, bundle load). The
scale-out efficiency is rate(N) / (N x rate(1)) on net rates. On a 2-core machine, parallelism 2 shares the cores
with the JobManager, the source and the sinks, so an efficiency near 1 is not to be expected here.

Run: `python -m bench flink` or `python -m bench.flink [--customers N] [--rounds N] [--parallelism 1,2]
[--no-cluster] [--no-mini]`.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.workload import JOURNEYS, ROUNDS, bundle_files, env_int, example_events
from journeydsl.compile.bundle import write_bundle
from journeydsl.runtime.jsonio import dumps

UNTIL = "2026-12-31T00:00:00Z"
UNTIL_EPOCH = 1798675200.0
JOB_TIMEOUT = 1800.0  # seconds for one run, start-up included


@dataclass(frozen=True)
class Figure:
    """One configuration's best run: wall seconds of the full file and of the one-event file."""

    label: str
    events: int
    wall: float
    startup: float

    @property
    def gross(self) -> float:
        return self.events / self.wall if self.wall > 0 else float("inf")

    @property
    def net(self) -> float:
        work = self.wall - self.startup
        return self.events / work if work > 0 else float("inf")


def efficiency(rate_n: float, rate_1: float, n: int) -> float:
    """Scale-out efficiency: rate at N / (N x rate at 1); 1.0 is linear."""
    return rate_n / (n * rate_1) if rate_1 > 0 and n > 0 else 0.0


def parse_levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"parallelism levels are whole numbers such as 1,2, not {text!r}") from None
    if not levels or any(not 1 <= level <= 128 for level in levels):
        raise argparse.ArgumentTypeError(f"parallelism levels are 1..128, not {text!r}")
    return sorted(set(levels))


def timed(command: list[str]) -> float:
    """Wall seconds of a `journeydsl` child process (records to /dev/null); RuntimeError when it fails."""
    started = time.perf_counter()
    done = subprocess.run(
        [_journeydsl(), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=JOB_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"journeydsl {' '.join(command[:1])} failed: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - started


def _journeydsl() -> str:
    return str(Path(sys.executable).with_name("journeydsl"))


def run_local(bundle: Path, events: Path) -> float:
    return timed(
        ["run", str(bundle), "--events", str(events), "--max-skew", "none", "--until", UNTIL, "--workers", "1"]
    )


def run_mini(bundle: Path, events: Path, parallelism: int) -> float:
    return timed(
        ["run", str(bundle), "--events", str(events), "--until", UNTIL]
        + ["--engine", "flink", "--parallelism", str(parallelism)]
    )


class ClusterRunner:
    """Jobs on the local cluster from the wheel, submitted from this process (the PyFlink client stays warm)."""

    def __init__(self, folder: Path, bundle: Path) -> None:
        from journeydsl.flink.cluster import LocalCluster
        from journeydsl.flink.job import JobSpec

        self.folder = folder
        self.cluster = LocalCluster(folder / "cluster")
        self.address = self.cluster.start(slots=2)
        self.spec = JobSpec.load(str(bundle), until=UNTIL_EPOCH)
        self.jobs = 0

    def warm_up(self, events: Path) -> None:
        """One job before any is timed: the client's gateway JVM starts and the TaskManager loads the classes."""
        self.run(events, 1)

    def run(self, events: Path, parallelism: int) -> float:
        """Wall seconds from submission to FINISHED (the job's scheduling included; the client's JVM is warm)."""
        from journeydsl.flink.cluster import Submission, job_failure, submit, wait_for_job
        from journeydsl.flink.job import build_job, file_source
        from journeydsl.flink.sinks import jsonl_sink

        self.jobs += 1
        out = self.folder / f"out-{self.jobs}"
        spec = self.spec

        def build(env: Any) -> None:
            jsonl_sink(build_job(env, file_source(str(events)), spec).records, str(out))

        started = time.perf_counter()
        job = submit(Submission(self.address, parallelism=parallelism, checkpoint_interval=10.0), build)
        state = wait_for_job(self.address, job, JOB_TIMEOUT)
        if state != "FINISHED":
            raise RuntimeError(f"job {job} {state}: {job_failure(self.address, job)}")
        return time.perf_counter() - started

    def stop(self) -> None:
        self.cluster.stop()


def best_of(rounds: int, configurations: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Run every configuration once per round, in turns; the least wall time of each."""
    best: dict[str, float] = {}
    for _ in range(max(1, rounds)):
        for label, measure in configurations.items():
            wall = measure()
            best[label] = min(best.get(label, wall), wall)
    return best


def report(figures: list[Figure], levels: list[int]) -> None:
    baseline = next(figure for figure in figures if figure.label == "run memory://")
    print(f"  {'configuration':<34} {'events/s net':>12} {'gross':>9} {'x run (net)':>12}  wall s  start-up s")
    for figure in figures:
        measurable = math.isfinite(figure.net) and math.isfinite(baseline.net)
        net = f"{figure.net:>12,.0f}" if math.isfinite(figure.net) else f"{'(too short)':>12}"
        ratio = f"{figure.net / baseline.net:>12.2f}" if measurable else f"{'-':>12}"
        print(
            f"  {figure.label:<34} {net} {figure.gross:>9,.0f} {ratio}  {figure.wall:>6.1f}  {figure.startup:>10.1f}",
            flush=True,
        )
    for kind in ("mini-cluster", "local cluster"):
        ones = [figure for figure in figures if figure.label == f"{kind} p=1"]
        if not ones:
            continue
        for level in levels:
            if level == 1:
                continue
            wide = [figure for figure in figures if figure.label == f"{kind} p={level}"]
            if wide and math.isfinite(wide[0].net) and math.isfinite(ones[0].net):
                share = efficiency(wide[0].net, ones[0].net, level)
                print(f"  scale-out efficiency, {kind}, p={level}: {share:.2f} (rate(N) / (N x rate(1)), net)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flink", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=env_int("JD_BENCH_FLINK_CUSTOMERS", 10_000))
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--parallelism", type=parse_levels, default=[1, 2], help="levels, such as 1,2")
    parser.add_argument("--no-cluster", action="store_true", help="skip the local cluster")
    parser.add_argument("--no-mini", action="store_true", help="skip the mini-cluster")
    args = parser.parse_args(argv if argv is not None else [])
    events = example_events(args.customers)
    with tempfile.TemporaryDirectory(prefix="jd-flink-") as tmp:
        folder = Path(tmp)
        bundle = write_bundle(bundle_files([JOURNEYS]), folder / "journeys.jbundle")
        full, one = folder / "events.jsonl", folder / "one.jsonl"
        full.write_bytes(b"".join(dumps(event) + b"\n" for event in events))
        one.write_bytes(dumps(events[0]) + b"\n")
        print(
            f"{len(events):,} events ({args.customers:,} customers of the example journeys), --until {UNTIL}; "
            f"best of {args.rounds} round(s) in turns; wall rates (shared machine)",
            flush=True,
        )
        plans: dict[str, tuple[Callable[[], float], Callable[[], float]]] = {
            "run memory://": (partial(run_local, bundle, full), partial(run_local, bundle, one)),
        }
        if not args.no_mini:
            for level in args.parallelism:
                plans[f"mini-cluster p={level}"] = (
                    partial(run_mini, bundle, full, level),
                    partial(run_mini, bundle, one, level),
                )
        cluster: ClusterRunner | None = None
        try:
            if not args.no_cluster:
                started = time.perf_counter()
                cluster = ClusterRunner(folder, bundle)
                cluster.warm_up(one)
                print(f"  local cluster started in {time.perf_counter() - started:.1f} s at {cluster.address}")
                for level in args.parallelism:
                    plans[f"local cluster p={level}"] = (
                        partial(cluster.run, full, level),
                        partial(cluster.run, one, level),
                    )
            walls = best_of(args.rounds, {label: plan[0] for label, plan in plans.items()})
            startups = best_of(args.rounds, {label: plan[1] for label, plan in plans.items()})
        finally:
            if cluster is not None:
                cluster.stop()
        figures = [Figure(label, len(events), walls[label], startups[label]) for label in plans]
        report(figures, args.parallelism)


if __name__ == "__main__":
    main(sys.argv[1:])
