"""End-to-end benchmark: the `journeydsl run` command itself (decode, process, encode, write) against decoding alone.

bench/runtime.py measures the engine with decoding in-process (memory://, sqlite:// batched and per event,
against orjson decoding). This benchmark runs what a user runs: the installed `journeydsl run` command in a
child process on a JSONL file of the example journeys' workload (`journeydsl.testing.synth`, as in `make demo`),
records written to a file, with
- memory://,
- sqlite:// with `--batch 1000`,
- sqlite:// with `--batch 1` (one commit per event; on a prefix of the file, it is slow),
and, in the same run, the baseline the issue names: reading the same file and `json.loads` on every line
(standard library), plus orjson's decode for reference. The command's start-up (imports, bundle load) is measured
on a one-event file and subtracted in the "net" column; CPU time and peak memory come from the child's rusage.

Targets (issue 6): `journeydsl run` with memory:// >= 50% of the json.loads rate; batched sqlite:// >= 50% of
memory://.

Run: `python -m bench endtoend` or `python -m bench.endtoend [--customers N] [--per-event N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.workload import JOURNEYS, Meter, bundle_files, env_int, example_events, last_time, row, verdict
from journeydsl.compile.bundle import write_bundle
from journeydsl.runtime.jsonio import dumps, loads


@dataclass
class Child:
    wall: float
    cpu: float
    peak_mb: float
    status: int
    stderr: str


# The child runs the same `main` as the installed `journeydsl` script, and reports its own peak resident memory
# (VmHWM belongs to the new program image, while the rusage of a forked child also counts the parent's pages it
# started with).
WRAPPER = """
import atexit, sys
def _peak():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                sys.stderr.write('\\nJD_BENCH_PEAK_KB ' + line.split()[1] + '\\n')
atexit.register(_peak)
from journeydsl.cli import main
sys.argv[0] = 'journeydsl'
main()
"""


def command() -> list[str]:
    return [sys.executable, "-c", WRAPPER]


def run_cli(args: list[str], out: Path) -> Child:
    """Run `journeydsl ARGS` with standard output into `out`; wall time and the child's own CPU and peak RSS."""
    started = time.perf_counter()
    with out.open("wb") as sink:
        child = subprocess.Popen([*command(), *args], stdout=sink, stderr=subprocess.PIPE)
        assert child.stderr is not None
        stderr = child.stderr.read().decode("utf-8", "replace")
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    peak_kb = usage.ru_maxrss  # fallback: without /proc the wrapper prints nothing
    for line in stderr.splitlines():
        if line.startswith("JD_BENCH_PEAK_KB "):
            peak_kb = int(line.split()[1])
    return Child(wall, usage.ru_utime + usage.ru_stime, peak_kb / 1024, child.returncode, stderr)


def decode_rate(path: Path, decode: object) -> Meter:
    with Meter() as meter, path.open("rb") as handle:
        for line in handle:
            decode(line)  # type: ignore[operator]
    return meter


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.endtoend", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=env_int("JD_BENCH_E2E_CUSTOMERS", 20_000))
    parser.add_argument("--per-event", type=int, default=5_000, help="events run with one commit per event")
    args = parser.parse_args(argv if argv is not None else [])
    events = example_events(args.customers)
    until = last_time(events)
    with tempfile.TemporaryDirectory(prefix="jd-e2e-") as tmp:
        folder = Path(tmp)
        bundle = write_bundle(bundle_files([JOURNEYS]), folder / "journeys.jbundle")
        path, prefix, one = folder / "events.jsonl", folder / "prefix.jsonl", folder / "one.jsonl"
        lines = [dumps(event) + b"\n" for event in events]
        path.write_bytes(b"".join(lines))
        prefix.write_bytes(b"".join(lines[: args.per_event]))
        one.write_bytes(lines[0])
        count = len(lines)
        print(
            f"example journeys: {count:,} events ({path.stat().st_size / 1e6:.1f} MB JSONL), "
            f"{args.customers:,} customers; `journeydsl run` (journeydsl.cli.main) in a child process"
        )

        base = row("baseline: read + json.loads (stdlib)", count, decode_rate(path, json.loads))
        row("reference: read + orjson.loads", count, decode_rate(path, loads))

        startup = run_cli(["run", str(bundle), "--events", str(one), "--until", until], folder / "one.out")
        print(
            f"  start-up of `journeydsl run` (1 event): {startup.wall * 1000:.0f} ms wall, "
            f"{startup.cpu * 1000:.0f} ms CPU, {startup.peak_mb:.0f} MB peak RSS"
        )

        def measure(label: str, events_file: Path, n: int, store: list[str]) -> tuple[float, float] | None:
            """(net events/s CPU, net events/s wall), or None when the command failed."""
            child = run_cli(
                [
                    "run",
                    str(bundle),
                    "--events",
                    str(events_file),
                    "--until",
                    until,
                    "--dead-letter",
                    str(folder / "dead.jsonl"),
                    *store,
                ],
                folder / "actions.jsonl",
            )
            if child.status != 0:
                print(f"  {label}: FAILED (exit {child.status}): {child.stderr.strip()[:500]}")
                return None
            records = sum(1 for _ in (folder / "actions.jsonl").open("rb"))
            net_cpu = max(child.cpu - startup.cpu, 1e-9)
            net_wall = max(child.wall - startup.wall, 1e-9)
            print(
                f"  {label:<44} {n / net_cpu:>10,.0f} events/s CPU ({n / net_wall:>10,.0f} wall) net of start-up; "
                f"raw {n / child.cpu:,.0f} CPU; peak RSS {child.peak_mb:,.0f} MB; {records:,} records",
                flush=True,
            )
            return n / net_cpu, n / net_wall

        memory = measure("journeydsl run, memory://", path, count, ["--store", "memory://"])
        batched = measure(
            "journeydsl run, sqlite:// --batch 1000",
            path,
            count,
            ["--store", f"sqlite:///{folder / 'batched.db'}", "--batch", "1000"],
        )
        each = measure(
            f"journeydsl run, sqlite:// --batch 1 ({min(count, args.per_event):,} ev)",
            prefix,
            min(count, args.per_event),
            ["--store", f"sqlite:///{folder / 'each.db'}", "--batch", "1"],
        )
        if memory is not None:
            verdict("run memory:// / json.loads", memory[0] / base, 0.5, "events/s, same file")
        if memory is not None and batched is not None:
            verdict("run sqlite batched / run memory://", batched[0] / memory[0], 0.5, "events/s, same file")
            print(f"  (wall time: {batched[1] / memory[1]:.2f})")
        if memory is not None and each is not None:
            print(
                f"  ratio run sqlite per event / run memory://: {each[1] / memory[1]:.2f} in wall time "
                f"({each[0] / memory[0]:.2f} CPU; no target: a commit per event waits on the disk, not the CPU)"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
