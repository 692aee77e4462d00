"""Issue 18's unmet targets against the least their parts cost by themselves, on the workloads they are judged on.

Per core. On the named stream (`bench.workload.solar_events(130000)`, 219,388 events of one journey), a `run`
memory:// at 0.4x the rate of read + json.loads (the compiled target; 0.25x plain Python) may take json.loads's
CPU time / 0.4. Whatever engine makes the run's records must at least decode the events (orjson, as `run` does),
create the records as Python dicts, encode them (`dumps_lines`, CHUNK_RECORDS at a time, as `run` does) and
write them. Each of these is timed alone, on the run's own records, in turns with the baseline and the run. What
the budget leaves after them is what the journeys' own work (states, timers, expressions, templates) may take per
event; beside it, what `run` takes beyond them now.

SQLite. `run` on sqlite:// at its default batch at 0.8x memory:// may spend a quarter of memory://'s CPU time on
everything a durable store does. On the example journeys' stream (bench.sqlite_batch's, every event drives a
journey) this runs `run --workers 1`'s loop (`runtime.workers.run_file`) in-process on memory:// and on sqlite://,
in turns, net of the same on a one-event file; and once more on sqlite:// with a profile hook that adds up the time
spent inside sqlite3's own calls (execute, executemany, fetch, COMMIT): SQLite's work for what the store commits
(customer states, event and transition logs, outbox, aggregate counts), without the Python that prepares it. The
hook slows the Python around those calls, not the calls.

Run: `PYTHONPATH=build/compiled:. python -m bench.floors [--customers 130000] [--journey-customers 4000]
[--rounds 3]`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from bench.endtoend import (
    MEMORY,
    SOLAR_CUSTOMERS,
    Runner,
    decode_rate,
    judged_builds,
    one_event_file,
    write_jsonl,
    write_named_stream,
)
from bench.workload import (
    JOURNEYS,
    ROUNDS,
    Meter,
    bundle_files,
    example_events,
    in_turns,
    isolated,
    last_time,
    remove_sqlite_store,
)
from journeydsl.compile.bundle import write_bundle
from journeydsl.runtime.bundle import load_bundle
from journeydsl.runtime.delivery import CHUNK_RECORDS
from journeydsl.runtime.gctune import relax_gc
from journeydsl.runtime.jsonio import dumps_lines, loads
from journeydsl.runtime.workers import RunSpec, plan_layout, run_file

SQLITE_TARGET = 0.8
JOURNEY_CUSTOMERS = 4000  # bench.sqlite_batch's example journeys' stream: example_events(4000), 12,264 events

Measured = tuple[Any, Meter]
Pairs = tuple[tuple[str, Any], ...]


class SqlClock:
    """A `sys.setprofile` hook: the seconds spent inside calls to methods of sqlite3 connections and cursors.

    sqlite3 calls no Python while it runs a statement of the store's (no user functions), so one start time is
    enough: the next return or exception of such a call ends it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._started = 0.0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call":
            if isinstance(getattr(arg, "__self__", None), (sqlite3.Connection, sqlite3.Cursor)):
                self._started = time.perf_counter()
        elif event in ("c_return", "c_exception") and self._started:
            self.seconds += time.perf_counter() - self._started
            self.calls += 1
            self._started = 0.0


def cpu_meter(seconds: float, wall: float) -> Meter:
    """A Meter holding figures measured elsewhere (a child command's net CPU and wall)."""
    meter = Meter()
    meter.cpu, meter.wall = seconds, wall
    return meter


def per_core(folder: Path, customers: int, rounds: int) -> None:
    stream = write_named_stream(folder, customers)
    one = one_event_file(stream.path)
    builds = judged_builds()
    runners = [Runner.start(stream.bundle, folder, one, stream.until, env) for _, _, env in builds]
    output = folder / "actions.jsonl"

    def run(runner: Runner) -> Callable[[], Measured]:
        def measure() -> Measured:
            net = runner.measure(stream.path, stream.count, stream.until, MEMORY)
            if isinstance(net, str):
                raise RuntimeError(f"journeydsl run {net}")
            return net, cpu_meter(stream.count / net.cpu_rate, stream.count / net.wall_rate)

        return measure

    def pairs_by_chunk() -> Iterator[list[Pairs]]:
        """The records of the round's run as (key, value) pairs, what an engine has in hand before it makes a
        record: a chunk of CHUNK_RECORDS at a time, read and decoded in the measuring child."""
        lines = output.read_bytes().splitlines()
        for start in range(0, len(lines), CHUNK_RECORDS):
            yield [tuple(loads(line).items()) for line in lines[start : start + CHUNK_RECORDS]]

    def make_and_encode(meter: Meter) -> tuple[float, float]:
        """As `run` makes and drops its records, a chunk at a time: the CPU of creating each chunk's records as
        dicts, and of encoding them, each summed alone (decoding the pairs is not counted)."""
        relax_gc()  # the collector's settings of `run`
        made_in = encoded_in = 0.0
        for chunk in pairs_by_chunk():
            started = time.process_time()
            made = [dict(pairs) for pairs in chunk]
            between = time.process_time()
            dumps_lines(made)
            made_in += between - started
            encoded_in += time.process_time() - between
            del made
        meter.cpu = meter.wall = made_in + encoded_in
        return made_in, encoded_in

    def write(meter: Meter) -> None:
        target, data = folder / "written.jsonl", output.read_bytes()
        with meter, target.open("wb") as out:
            view = memoryview(data)
            for start in range(0, len(view), 1 << 20):
                out.write(view[start : start + (1 << 20)])
        target.unlink()

    # The runs first in each round: the floors then work on the records the round's run wrote.
    results = in_turns(
        rounds,
        *(run(runner) for runner in runners),
        lambda: (None, decode_rate(stream.path, json.loads, repeat=1)),
        lambda: (None, decode_rate(stream.path, loads, repeat=1)),
        lambda: isolated(make_and_encode),
        lambda: isolated(write),
    )
    if len(results) != 4 + len(runners) or any(isinstance(found, RuntimeError) for found in results):
        raise SystemExit(f"a measurement failed: {[str(r) for r in results if isinstance(r, RuntimeError)]}")
    seconds = [found[1].cpu for found in results]  # type: ignore[index]
    baseline, decode, _, written = seconds[len(runners) :]
    built, encoded = results[len(runners) + 2][0]  # type: ignore[index]
    floors = decode + built + encoded + written
    n = stream.count
    with output.open("rb") as handle:
        records = sum(1 for _ in handle)
    print(
        f"per core: solar_events({customers}), {n:,} events, {records:,} records "
        f"({output.stat().st_size / 1e6:.0f} MB), "
        f"`run --workers 1` memory://; CPU seconds, best of {rounds} in turns"
    )
    rows = [
        ("baseline: read + json.loads", baseline),
        ("floor: read + orjson.loads (run's decoder)", decode),
        ("floor: create the records as dicts", built),
        (f"floor: encode them (dumps_lines, {CHUNK_RECORDS:,} a call)", encoded),
        ("floor: write them to a file", written),
        ("floors together", floors),
    ]
    runs = list(zip(builds, seconds[: len(runners)], strict=True))
    rows += [(f"journeydsl run, {name}, net of start-up", ran) for (name, _, _), ran in runs]
    for label, spent in rows:
        print(f"  {label:<50} {spent:7.3f} s  {spent / n * 1e6:6.2f} us/event")
    for (name, target, _), ran in runs:
        budget = baseline / target
        print(
            f"  {name}: target {target}x json.loads, budget {budget:.3f} s; after the floors {budget - floors:.3f} s "
            f"({(budget - floors) / n * 1e6:.2f} us/event) for the journeys' own work, which takes "
            f"{ran - floors:.3f} s ({(ran - floors) / n * 1e6:.2f} us/event) now; ratio now {baseline / ran:.2f}"
        )
    sys.stdout.flush()


def sqlite_part(folder: Path, customers: int, rounds: int) -> None:
    events = example_events(customers)
    path = folder / "journey.jsonl"
    n, until = len(write_jsonl(events, path)), last_time(events)
    one = one_event_file(path)
    write_bundle(bundle_files([JOURNEYS]), folder / "b.jbundle")
    sqlite_url = f"sqlite:///{folder / 'floors.db'}"

    def go(url: str, events_file: Path, clock: bool = False) -> Callable[[], Measured]:
        def work(meter: Meter) -> tuple[float, int]:
            remove_sqlite_store(folder / "floors.db")
            # What `journeydsl run --workers 1` does, without the command's start-up (its imports, the bundle).
            spec = RunSpec(bundle=load_bundle(str(folder / "b.jbundle")), events=events_file, until=until)
            layout = plan_layout(url, 1, events_file.stat().st_size)
            relax_gc()
            sql = SqlClock()
            if clock:
                sys.setprofile(sql)
            try:
                with meter, (folder / "records.jsonl").open("wb") as out:
                    run_file(spec, layout, out, lambda *dead: None)
            finally:
                sys.setprofile(None)
            with (folder / "records.jsonl").open("rb") as written:
                return sql.seconds, sum(1 for _ in written)

        return lambda: isolated(work)

    # Each run net of the same run on a one-event file (the engine's and the store's start-up), as
    # bench.sqlite_batch nets the command's.
    results = in_turns(
        rounds,
        go("memory://", one),
        go("memory://", path),
        go(sqlite_url, one),
        go(sqlite_url, path),
        go(sqlite_url, one, clock=True),
        go(sqlite_url, path, clock=True),
    )
    if len(results) != 6 or any(isinstance(found, RuntimeError) for found in results):
        raise SystemExit(f"a measurement failed: {[str(r) for r in results if isinstance(r, RuntimeError)]}")
    found = [(value, meter.cpu) for value, meter in results]  # type: ignore[misc]
    # Net of the one-event runs, as Runner nets the command's start-up: never below zero (a tiny stream's noise).
    memory, sqlite = max(found[1][1] - found[0][1], 1e-9), max(found[3][1] - found[2][1], 1e-9)
    sql, records = max(found[5][0][0] - found[4][0][0], 0.0), found[5][0][1]
    budget = memory / SQLITE_TARGET - memory
    print(
        f"SQLite: example_events({customers}), {n:,} events, {records:,} records, `run`'s loop in-process at the "
        f"default batch, net of a one-event run; CPU seconds, best of {rounds} in turns"
    )
    print(f"  memory://  {memory:7.3f} s")
    print(f"  sqlite://  {sqlite:7.3f} s  ratio {memory / sqlite:.2f} (target {SQLITE_TARGET})")
    print(f"  budget for the durable work at {SQLITE_TARGET}x: {budget:.3f} s; it takes {sqlite - memory:.3f} s")
    print(f"  of which inside sqlite3's calls alone: {sql:.3f} s ({sql / budget:.1f}x the budget)", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floors", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=SOLAR_CUSTOMERS, help="the named stream's (0: skip it)")
    parser.add_argument("--journey-customers", type=int, default=JOURNEY_CUSTOMERS, help="the SQLite part's (0: skip)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv if argv is not None else [])
    with tempfile.TemporaryDirectory(prefix="jd-floors-") as tmp:
        if args.customers:
            per_core(Path(tmp), args.customers, args.rounds)
        if args.journey_customers:
            sqlite_part(Path(tmp), args.journey_customers, args.rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
