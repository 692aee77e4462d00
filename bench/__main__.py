"""Discover and run the benchmark modules of this package (each has a `main()`)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from collections.abc import Callable
from pathlib import Path


def discover() -> dict[str, Callable[[], object]]:
    """Benchmark name -> its `main`, for every module in this folder that defines one."""
    found: dict[str, Callable[[], object]] = {}
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        main = getattr(module, "main", None)
        if callable(main):
            found[info.name] = main
    return found


def run(argv: list[str]) -> int:
    benchmarks = discover()
    wanted = argv or list(benchmarks)
    unknown = [name for name in wanted if name not in benchmarks]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(benchmarks)}", file=sys.stderr)
        return 2
    from bench.workload import build_name

    print(f"runtime build: {build_name()}", flush=True)
    failed = 0
    for name in wanted:
        print(f"== bench {name} ==", flush=True)
        started = time.perf_counter()
        try:
            benchmarks[name]()
        except Exception as err:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
            failed += 1
            print(f"bench {name} failed: {type(err).__name__}: {err}", flush=True)
        print(f"== {name} done in {time.perf_counter() - started:.1f}s ==\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
