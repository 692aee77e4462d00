"""Workers benchmark: `journeydsl run --workers N` (issue 18, item 3), events per second of wall time for N = 1, 2,
4 against N = 1 in the same run.

What is run: the installed `journeydsl run` command in a child process (bench.endtoend.run_cli), records to a
file, memory:// unless said, on fixed streams chosen before any figure was seen:
1. judged: the stream the issue names, "220,000 events of one journey, memory://": `bench.workload.solar_events
   (130000)` (219,388 events, about 4 records each) through the solar-alone bundle (`solar_bundle_files()`),
   `--until` past its last timer, both written to a temporary folder here. Every event drives the journey. The
   target (>= 1.7x with 2 workers on 2 cores, net of start-up) is judged here, with the curve for 1, 2 and 4;
2. beside it, not judged: the example journeys' stream (`bench.workload.example_events`, as in `make demo`), on
   memory:// and a new sqlite:// store, and the whole event stream (`bench.workload.stream_events`, behavioural
   share 0.9), where most events drive nothing, so a worker's own share of the work is small beside what every
   worker does for every event (read it, move the clock), and the speed-up is lower.
Events/s are given net of the command's start-up (imports, bundle load: measured on a one-event file of the same
stream, paid once before any fork, as bench/endtoend.py does) and gross; both include starting the workers (fork,
engine open) and merging their records. The target is judged net, the gross ratio printed beside it. The CPU
column is all processes' CPU (the parent's and its workers'): what the speed-up costs. Every configuration runs
once per round, in turns, best of ROUNDS; each N's records are compared with N = 1's, byte for byte. The runtime
build is this process's (`make bench`: the compiled one in build/compiled); with the compiled build first, the
plain-Python build (the repository's src/ first on PYTHONPATH) is measured too, unless --no-plain.

Speed-up is bounded by the cores: on a 2-core machine N = 4 shows the cost of more workers than cores. The
machine is shared with other jobs: the load average is printed beside the figures.

Run: `python -m bench workers` or `python -m bench.workers [--solar-customers N] [--customers N]
[--stream-customers N] [--workers 1,2,4] [--rounds N] [--no-plain]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.endtoend import (
    SOLAR_CUSTOMERS,
    Child,
    one_event_file,
    plain_python_env,
    run_cli,
    write_jsonl,
    write_named_stream,
)
from bench.workload import (
    JOURNEYS,
    ROUNDS,
    build_name,
    bundle_files,
    env_int,
    example_events,
    last_time,
    stream_events,
)
from journeydsl.compile.bundle import write_bundle
from journeydsl.runtime import compiled

TARGET = 1.7  # issue 18: 2 workers on 2 cores against 1, on the stream it names (every event drives a journey)
WHOLE_STREAM_SHARE = 0.9  # as bench/endtoend.py judges the whole stream


@dataclass(frozen=True)
class Stream:
    """One events file and the bundle it runs through, written before any run."""

    label: str
    bundle: Path
    events: Path
    count: int
    until: str
    judged: bool
    sqlite: bool = False  # also measured on a new sqlite:// store

    @property
    def megabytes(self) -> float:
        return self.events.stat().st_size / 1e6

    def one_event(self) -> Path:
        """A file of the stream's first line: what the command's start-up is measured on."""
        return one_event_file(self.events)


@dataclass
class Figure:
    workers: int
    events: int
    wall: float
    cpu: float
    same: bool | None  # records identical to N = 1's, line for line once sorted (None: N = 1 itself)
    startup: float = 0.0  # wall time of the same command on a one-event file (imports, bundle load)

    @property
    def rate(self) -> float:
        return self.events / self.wall if self.wall > 0 else float("inf")

    @property
    def net_rate(self) -> float:
        """Events/s net of the command's start-up, which is the same for every N (paid once, before the fork)."""
        net = self.wall - self.startup
        return self.events / net if net > 0 else float("inf")


def parse_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--workers takes whole numbers separated by commas, not {text!r}") from err
    if not counts or any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError("--workers: each count must be 1 or more")
    return sorted(set(counts) | {1})  # N = 1 is the baseline of every ratio


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:  # pragma: no cover - no load average here
        return "load average n/a"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def same_records(path: Path, reference: Path) -> bool:
    """The issue's test of `--workers N`: the same records as one process, compared sorted (the output interleaves
    the shards' customers block by block; the tests check each customer's order)."""
    return sorted(path.read_bytes().splitlines()) == sorted(reference.read_bytes().splitlines())


def measure(
    bundle: Path,
    events: Path,
    count: int,
    until: str,
    counts: list[int],
    rounds: int,
    folder: Path,
    store: Callable[[int, int], list[str]],
    env: dict[str, str] | None,
    startup: float,
) -> tuple[dict[int, Figure | str], dict[int, list[float]]]:
    """Each worker count once per round, in turns; the fastest run of each (or why it failed), and every run's
    wall time per count, in round order."""
    best: dict[int, Figure | str] = {}
    walls: dict[int, list[float]] = {}
    reference = folder / "records-1.jsonl"
    for turn in range(max(rounds, 1)):
        for workers in counts:
            if isinstance(best.get(workers), str):
                continue
            out = folder / f"records-{workers}.jsonl"
            args = ["run", str(bundle), "--events", str(events), "--until", until, "--workers", str(workers)]
            child: Child = run_cli([*args, *store(workers, turn)], out, env)
            if child.status != 0:
                best[workers] = f"FAILED (exit {child.status}): {child.stderr.strip()[:300]}"
                continue
            same = None if workers == 1 else same_records(out, reference)
            figure = Figure(workers, count, child.wall, child.cpu, same, startup)
            walls.setdefault(workers, []).append(child.wall)
            known = best.get(workers)
            if known is None or (isinstance(known, Figure) and figure.wall < known.wall):
                best[workers] = figure
    return best, walls


def paired_ratios(walls: dict[int, list[float]], workers: int, startup: float) -> list[float | None]:
    """Per round, N = 1's wall over N = `workers`' wall of the same round, both net of start-up: the spread the
    best-of figure hides on a shared machine (a round's runs follow each other, so they see about the same load).
    None for a round whose run took no longer than the start-up (a tiny stream)."""
    return [
        (one - startup) / (many - startup) if many > startup and one > startup else None
        for one, many in zip(walls.get(1, []), walls.get(workers, []), strict=False)
    ]


def report(label: str, best: dict[int, Figure | str], judged: bool, walls: dict[int, list[float]]) -> float | None:
    """Print one stream's table; returns the 2-worker ratio net of start-up (None when not measured)."""
    print(f"  {label}", flush=True)
    base = best.get(1)
    ratio_two: float | None = None
    gross_two = float("nan")
    for workers, figure in sorted(best.items()):
        if isinstance(figure, str):
            print(f"    --workers {workers}: {figure}", flush=True)
            continue
        gross = figure.rate / base.rate if isinstance(base, Figure) else float("nan")
        net = figure.net_rate / base.net_rate if isinstance(base, Figure) else float("nan")
        if workers == 2:
            ratio_two, gross_two = net, gross
        same = "" if figure.same is None else ("  records identical" if figure.same else "  RECORDS DIFFER")
        print(
            f"    --workers {workers}: {figure.net_rate:>10,.0f} events/s net {net:>5.2f}x | gross "
            f"{figure.rate:>9,.0f} {gross:>5.2f}x  ({figure.wall:.2f} s wall, {figure.cpu:.2f} s CPU in all "
            f"processes){same}",
            flush=True,
        )
    if judged and ratio_two is not None:
        two = best[2]
        verdict = "MET" if ratio_two >= TARGET and isinstance(two, Figure) and two.same else "NOT MET"
        print(
            f"    ratio --workers 2 / --workers 1, net of start-up: {ratio_two:.2f} (gross {gross_two:.2f}; target "
            f">= {TARGET:g}: {verdict})",
            flush=True,
        )
        rounds = paired_ratios(walls, 2, two.startup if isinstance(two, Figure) else 0.0)
        if rounds:
            measured = [ratio for ratio in rounds if ratio is not None]
            median = f"{statistics.median(measured):.2f}" if measured else "n/a"
            print(
                f"    per round (each --workers 2 run against the --workers 1 run of its round, net): "
                f"{' '.join('-' if ratio is None else f'{ratio:.2f}' for ratio in rounds)}; median {median}",
                flush=True,
            )
    return ratio_two


def startup_of(bundle: Path, one: Path, until: str, rounds: int, folder: Path, env: dict[str, str] | None) -> float:
    """The fastest wall time of `run --workers 1` on a one-event file: the command's start-up."""
    args = ["run", str(bundle), "--events", str(one), "--until", until, "--workers", "1"]
    return min(run_cli(args, folder / "one.out", env).wall for _ in range(max(rounds, 1)))


def write_streams(folder: Path, solar_customers: int, customers: int, stream_customers: int) -> list[Stream]:
    """The streams' files and bundles, in the order they are reported: the judged one first."""
    streams: list[Stream] = []
    if solar_customers > 0:
        named = write_named_stream(folder, solar_customers)
        label = f"judged (issue 18's named stream): solar_events({solar_customers}), one journey"
        streams.append(Stream(label, named.bundle, named.path, named.count, named.until, judged=True))
    journeys = write_bundle(bundle_files([JOURNEYS]), folder / "journeys.jbundle")
    if customers > 0:
        events = example_events(customers)
        path = folder / "journeys.jsonl"
        count = len(write_jsonl(events, path))
        label = f"not judged: the example journeys' stream, example_events({customers}), every event drives a journey"
        streams.append(Stream(label, journeys, path, count, last_time(events), judged=False, sqlite=True))
        del events
    if stream_customers > 0:
        events = stream_events(stream_customers, WHOLE_STREAM_SHARE)
        path = folder / "stream.jsonl"
        count = len(write_jsonl(events, path))
        label = f"not judged: whole stream, stream_events({stream_customers}, {WHOLE_STREAM_SHARE})"
        streams.append(Stream(label, journeys, path, count, last_time(events), judged=False))
        del events
    return streams


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--solar-customers",
        type=int,
        default=env_int("JD_BENCH_SOLAR_CUSTOMERS", SOLAR_CUSTOMERS),
        help=f"customers of the judged one-journey stream (default {SOLAR_CUSTOMERS}: 219,388 events; 0 skips it)",
    )
    parser.add_argument(
        "--customers",
        type=int,
        default=env_int("JD_BENCH_WORKERS_CUSTOMERS", 10_000),
        help="customers of the example journeys' stream (0 skips it)",
    )
    parser.add_argument(
        "--stream-customers",
        type=int,
        default=env_int("JD_BENCH_WORKERS_STREAM_CUSTOMERS", 2_000),
        help="journey customers of the whole-stream file (0 skips it)",
    )
    parser.add_argument("--workers", type=parse_counts, default=[1, 2, 4], help="worker counts (default 1,2,4)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"best of this many runs each (default {ROUNDS})")
    parser.add_argument("--no-plain", action="store_true", help="measure only this process's build")
    args = parser.parse_args(argv if argv is not None else [])
    print(f"`journeydsl run --workers N` in a child process; runtime {build_name()}; {os.cpu_count()} cores")
    print(f"  before: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="jd-workers-") as tmp:
        folder = Path(tmp)
        streams = write_streams(folder, args.solar_customers, args.customers, args.stream_customers)
        builds: list[tuple[str, dict[str, str] | None]] = [(build_name(), None)]
        if compiled() and not args.no_plain:
            builds.append(("plain Python (src/ first on PYTHONPATH)", plain_python_env()))

        def memory(workers: int, turn: int) -> list[str]:
            return ["--store", "memory://"]

        def sqlite(workers: int, turn: int) -> list[str]:
            return ["--store", f"sqlite:///{folder / f'store-{workers}-{turn}.db'}"]

        for name, env in builds:
            print(f"runtime: {name}", flush=True)
            for stream in streams:
                startup = startup_of(stream.bundle, stream.one_event(), stream.until, args.rounds, folder, env)
                print(
                    f"  {stream.label}: {stream.count:,} events, {stream.megabytes:.1f} MB, --until {stream.until}; "
                    f"start-up of `journeydsl run` (1 event): {startup * 1000:.0f} ms wall",
                    flush=True,
                )
                stores = [("memory://", memory)] + ([("sqlite:// (a new store)", sqlite)] if stream.sqlite else [])
                for store_label, store in stores:
                    best, walls = measure(
                        stream.bundle,
                        stream.events,
                        stream.count,
                        stream.until,
                        args.workers,
                        args.rounds,
                        folder,
                        store,
                        env,
                        startup,
                    )
                    report(f"{store_label}", best, stream.judged, walls)
                    print(f"    ({load()})", flush=True)
    print(f"  after: {load()}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
