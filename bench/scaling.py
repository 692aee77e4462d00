"""Scaling benchmark: cost per event and memory as the number of customers grows (10k, 100k, 1M).

For each size N, in a fresh forked process each:
- time: the solar_onboarding stream of N customers (`bench.workload.solar_events`, about 2.2 events per
  customer, timers firing) through `Engine.process` on memory:// without the record log (a real run delivers
  records and forgets them); prints microseconds per event (should stay flat) and the active instances left;
- memory: bytes per active instance, excluding the profile, and per customer with its profile, measured with
  tracemalloc over N customers by `bench.runtime.memory_per_instance` (the runtime engineer's measurement,
  reused rather than repeated). Constant bytes per customer across sizes = memory linear in customers.
  (Resident memory is not used: a forked child reuses pages its parent freed, which hides growth.)
Target (issue 6): under 1 KB per active instance (excluding the profile) in memory://.

The 1M step takes minutes (2.2M events, and the tracemalloc pass), so by default the sizes are 10k and 100k;
`JD_BENCH_SCALE=10000,100000,1000000 python -m bench scaling` or `python -m bench.scaling --sizes ...` adds it.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from bench.workload import Meter, isolated, last_time, solar_bundle, solar_events
from journeydsl.runtime import Engine, MemoryStore
from journeydsl.runtime.bundle import Bundle
from journeydsl.runtime.state import ACTIVE

DEFAULT_SIZES = "10000,100000"


def timed_stream(bundle: Bundle, customers: int) -> tuple[dict[str, Any], Meter]:
    """Events, records and active instances after the stream, with its meter."""

    def work(meter: Meter) -> dict[str, Any]:
        events = solar_events(customers, seed=17)
        until = last_time(events)
        store = MemoryStore(keep_log=False)
        engine = Engine.open(bundle, store=store)
        process = engine.process
        records = 0
        with meter:
            for event in events:
                records += len(process(event))
        active = sum(1 for c in store.customers.values() for i in c["i"].values() if i[ACTIVE])
        records += len(engine.advance(until))
        return {"events": len(events), "records": records, "active": active}

    return isolated(work)


def instance_bytes(bundle: Bundle, customers: int) -> tuple[int, int, int, int] | str:
    try:
        from bench.runtime import memory_per_instance
    except ImportError as err:
        return f"bench.runtime.memory_per_instance is not available ({err})"
    result, _ = isolated(lambda meter: memory_per_instance(bundle, customers))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=os.environ.get("JD_BENCH_SCALE", DEFAULT_SIZES),
        help=f"comma-separated customer counts (default {DEFAULT_SIZES}; env JD_BENCH_SCALE)",
    )
    args = parser.parse_args(argv if argv is not None else [])
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    bundle = solar_bundle()
    print("solar_onboarding on memory:// (no record log); per size a fresh process")
    print(
        f"  {'customers':>10} {'events':>10} {'us/event CPU':>12} {'(wall)':>8} {'ev/s CPU':>10} "
        f"{'active':>9} {'B/instance':>11} {'B/customer':>11}"
    )
    flat: list[float] = []
    for size in sizes:
        stats, meter = timed_stream(bundle, size)
        per_event = meter.cpu / stats["events"] * 1e6
        flat.append(per_event)
        memory = instance_bytes(bundle, size)
        if isinstance(memory, str):
            instance_text, customer_text = "n/a", "n/a"
            note = f"  ({memory})"
        else:
            _, per_customer, per_instance, _ = memory
            instance_text, customer_text, note = f"{per_instance:,}", f"{per_customer:,}", ""
            if per_instance >= 1024:
                note = "  (OVER the 1 KB per instance target)"
        print(
            f"  {size:>10,} {stats['events']:>10,} {per_event:>12.1f} {meter.wall / stats['events'] * 1e6:>8.1f} "
            f"{stats['events'] / meter.cpu:>10,.0f} {stats['active']:>9,} "
            f"{instance_text:>11} {customer_text:>11}{note}",
            flush=True,
        )
    if len(flat) > 1:
        print(f"  cost per event, largest / smallest size: {flat[-1] / flat[0]:.2f}x (flat = 1.0)")
    print(
        "  B/instance: tracemalloc, one active instance without its profile (target < 1,024 B); B/customer adds the"
        " profile and the customer's containers"
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
