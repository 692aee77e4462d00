"""Issue 18's SQLite figure: `journeydsl run` with sqlite:// at its default batch against memory://, on the example
journeys' stream (every event drives a journey) and the whole event stream (behavioural share 0.9), the streams of
bench/endtoend.py with its default seeds.

bench/endtoend.py runs sqlite:// once per file, on a shared machine: a 10% change does not show through its noise.
Here every run (memory:// and sqlite://, of each build named) takes turns with the others, `--rounds` times, and
each keeps its best CPU time (user + system, the child's rusage) and its best wall time, net of a one-event
start-up measured the same way. `--build NAME=PATH` (repeatable) puts PATH first on the children's PYTHONPATH:
two builds (say the commit before a change, unpacked somewhere, and this checkout) are measured in the same turns.

Run: `PYTHONPATH=build/compiled:. python -m bench.sqlite_batch [--customers 4000] [--stream-customers 10000]
[--rounds 4] [--streams journey,whole] [--build before=/path/to/old/src --build after=src]` (`--streams journey`
leaves out the whole stream, which takes most of the time).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.endtoend import WRAPPER, write_jsonl
from bench.workload import JOURNEYS, bundle_files, example_events, last_time, remove_sqlite_store, stream_events
from journeydsl.compile.bundle import write_bundle
from journeydsl.runtime.jsonio import dumps

STORES = ("memory", "sqlite")


def run_once(folder: Path, stream: str, store: str, path: str | None) -> tuple[float, float, str]:
    """One `journeydsl run` of `stream`'s file on a new store: (CPU seconds, wall seconds, digest of its records)."""
    db = folder / "run.db"
    remove_sqlite_store(db)
    url = f"sqlite:///{db}" if store == "sqlite" else "memory://"
    events, until = folder / f"{stream}.jsonl", (folder / f"{stream}.until").read_text()
    args = [sys.executable, "-c", WRAPPER, "run", str(folder / "b.jbundle"), "--events", str(events), "--until", until,
            "--dead-letter", str(folder / "dead.jsonl"), "--store", url, "--workers", "1"]  # fmt: skip
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([path, env.get("PYTHONPATH", "")])
    started = time.perf_counter()
    with (folder / "out.jsonl").open("wb") as out:
        child = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: the Popen must not wait for it again
    if child.returncode != 0:
        raise SystemExit(f"journeydsl run {stream} on {store} failed (exit {child.returncode})")
    digest = hashlib.sha256((folder / "out.jsonl").read_bytes()).hexdigest()
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - started, digest


def parse_build(text: str) -> tuple[str, str]:
    """`NAME=PATH` -> (NAME, PATH resolved)."""
    name, equals, path = text.partition("=")
    if not equals or not name or not path:
        raise argparse.ArgumentTypeError(f"--build takes NAME=PATH, not {text!r}")
    return name, str(Path(path).resolve())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sqlite_batch", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--stream-customers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--streams",
        default="journey,whole",
        help="which streams to measure, comma-separated (journey, whole); the whole stream takes most of the time",
    )
    parser.add_argument(
        "--build", type=parse_build, action="append", default=[], help="NAME=PATH, first on the children's path"
    )
    args = parser.parse_args(argv if argv is not None else [])
    builds: dict[str, str | None] = dict(args.build) if args.build else {"this": None}
    with tempfile.TemporaryDirectory(prefix="jd-sqlite-batch-") as tmp:
        folder = Path(tmp)
        write_bundle(bundle_files([JOURNEYS]), folder / "b.jbundle")
        counts: dict[str, int] = {}
        streams = {name.strip() for name in args.streams.split(",")}
        if not streams or not streams <= {"journey", "whole"}:
            parser.error(f"--streams takes journey, whole or both, not {args.streams!r}")
        for stream in ("journey", "whole"):
            if stream not in streams:
                continue
            events = (
                example_events(args.customers) if stream == "journey" else stream_events(args.stream_customers, 0.9)
            )
            counts[stream] = len(write_jsonl(events, folder / f"{stream}.jsonl"))
            (folder / f"{stream}.until").write_text(last_time(events))
            if not (folder / "one.jsonl").exists():
                (folder / "one.jsonl").write_bytes(dumps(events[0]) + b"\n")
                (folder / "one.until").write_text(last_time(events))
        best: dict[tuple[str, str, str], tuple[float, float]] = {}
        digests: dict[tuple[str, str, str], str] = {}
        for _ in range(max(args.rounds, 1)):
            for stream in ("one", *counts):
                for name, path in builds.items():
                    for store in STORES:
                        cpu, wall, digests[(name, stream, store)] = run_once(folder, stream, store, path)
                        known = best.get((name, stream, store), (cpu, wall))
                        best[(name, stream, store)] = (min(cpu, known[0]), min(wall, known[1]))
        print(
            f"`journeydsl run`, best of {args.rounds} turns, net of a one-event start-up; load {os.getloadavg()[0]:.2f}"
        )
        for stream, n in counts.items():
            label = "journey stream" if stream == "journey" else "whole stream (share 0.9)"
            for name in builds:
                net = {
                    store: [best[(name, stream, store)][i] - best[(name, "one", store)][i] for i in (0, 1)]
                    for store in STORES
                }
                memory, sqlite = net["memory"], net["sqlite"]
                same = digests[(name, stream, "memory")] == digests[(name, stream, "sqlite")]
                print(
                    f"  {label:<25} {name:<8} memory:// {n / memory[0]:>9,.0f} ev/s CPU, sqlite:// "
                    f"{n / sqlite[0]:>9,.0f} ev/s CPU: ratio {memory[0] / sqlite[0]:.2f} CPU, "
                    f"{memory[1] / sqlite[1]:.2f} wall ({n:,} events; records {'identical' if same else 'DIFFER'})"
                )


if __name__ == "__main__":
    main(sys.argv[1:])
