"""Runtime benchmark: events/s of the engine on the example journeys, against a decode-only baseline.

Builds the bundle of journeys/ in memory, generates a workload of >= 100,000 customers and >= 300,000
events (journeydsl.testing.synth.generate_events when it exists, otherwise a generator here that
walks the plans: each customer gets an entry event of one journey and follow-up events its waits,
goals and exits listen for), writes it as JSONL, and measures in the same run:
- baseline: read the file and JSON-decode every line (the floor any runner pays);
- memory://: read, decode, `Engine.process` each event, then `advance` to the end;
- sqlite:// batched (`batch=1000`) and per-event commits (`batch=1`, on a prefix of the events);
- memory per 100,000 active instances (tracemalloc; a separate run with the record log off).
Each engine loop is the loop of `journeydsl run` without printing (deliver from the outbox after each
event) with the collector thresholds `journeydsl run` sets (runtime/gctune.py).
No verdicts here: issue 6's end-to-end targets are judged by bench/endtoend.py (the `journeydsl run` command
against stdlib json.loads); this module adds a larger scale (100,000 customers) and the bytes per instance.

Run: `python -m bench runtime` or `python -m bench.runtime [--customers N] [--events N]`.
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from journeydsl.compile import compile_project
from journeydsl.project import load_project
from journeydsl.runtime import Engine, MemoryStore
from journeydsl.runtime.bundle import Bundle, load_bundle
from journeydsl.runtime.gctune import relax_gc
from journeydsl.runtime.jsonio import dumps, loads
from journeydsl.runtime.state import ACTIVE

ROOT = Path(__file__).resolve().parent.parent
START = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86_400


def build(journeys: Path) -> Bundle:
    project = load_project([journeys], templates_dir=ROOT / "templates")
    return load_bundle(compile_project(project, [str(journeys)]))


# --------------------------------------------------------------------------- workload


def _value(spec: dict[str, Any], rng: random.Random) -> Any:
    kind = spec.get("type")
    if kind == "number":
        return rng.randint(1, 120)
    if kind == "bool":
        return rng.random() < 0.85
    if kind == "enum":
        return rng.choice(spec.get("members") or [None])
    if kind == "timestamp":
        return _stamp(START + rng.randint(0, 60 * 86400))
    if kind == "list":
        return []
    if kind == "duration":
        return rng.randint(60, 86400)
    return rng.choice(["a", "b", "c"])


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def own_events(bundle: Bundle, customers: int, events: int, seed: int) -> Iterator[dict[str, Any]]:
    """A simple stream from the plans: entry events, then events the journey listens for, in time order."""
    rng = random.Random(seed)
    plans = [bundle.plans[(j, v)] for j, v in sorted(bundle.latest.items())]
    schema_events: dict[str, dict[str, Any]] = {}
    profile: dict[str, Any] = {}
    for plan in plans:
        schema_events.update(plan["schema"]["events"])
        profile.update(plan["schema"]["profile"])
    follow: dict[str, list[str]] = {}
    for plan in plans:
        types = {t for step in plan["steps"] if step["flow"]["kind"] == "wait" for t in step["flow"]["on"]}
        types |= set(plan["exits"]) | {g["event"] for g in plan["goals"]}
        follow[plan["journey"]] = sorted(types) or [plan["entry"]["event"]]
    per_customer = max(1, events // customers)
    stream: list[tuple[float, int, dict[str, Any]]] = []
    number = 0
    for index in range(customers):
        plan = rng.choice(plans)
        at = START + rng.randint(0, 30 * 86400)
        kinds = [plan["entry"]["event"]] + [rng.choice(follow[plan["journey"]]) for _ in range(per_customer - 1)]
        for position, kind in enumerate(kinds):
            fields = schema_events.get(kind, {})
            event: dict[str, Any] = {
                "id": f"e{number}",
                "type": kind,
                "customer_id": f"c{index}",
                "at": _stamp(at),
                "data": {name: _value(spec, rng) for name, spec in fields.items()},
            }
            if position == 0:
                event["profile"] = {name: _value(spec, rng) for name, spec in profile.items()}
                event["profile"]["tz"] = rng.choice(["Europe/Madrid", "America/New_York", "UTC"])
            stream.append((at, number, event))
            number += 1
            at += rng.randint(600, 5 * 86400)
    stream.sort(key=lambda item: (item[0], item[1]))
    for _, _, event in stream:
        yield event


def workload(bundle: Bundle, journeys: Path, customers: int, events: int, seed: int) -> Iterator[dict[str, Any]]:
    try:
        from journeydsl.testing.synth import generate_events  # type: ignore[import-not-found]
    except ImportError:
        return own_events(bundle, customers, events, seed)
    project = load_project([journeys], templates_dir=ROOT / "templates")
    return iter(generate_events(project, customers, seed, _stamp(START)))


# --------------------------------------------------------------------------- measurements


def baseline(path: Path) -> tuple[int, float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            loads(line)
            count += 1
    return count, time.perf_counter() - started, time.process_time() - cpu


def run_engine(
    bundle: Bundle, path: Path, store: str | MemoryStore, until: str, limit: int | None = None, batch: int | None = None
) -> tuple[int, int, float, float]:
    """The loop of `journeydsl run` without the printing: decode, process, deliver from the outbox."""
    engine = Engine.open(bundle, store=store, batch=batch)
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    count = records = 0
    process = engine.process
    deliver = engine.store.take_deliverable
    with path.open("rb") as handle:
        for line in handle:
            process(loads(line))
            records += len(deliver())
            count += 1
            if limit is not None and count >= limit:
                break
    engine.advance(until)
    engine.store.flush()
    records += len(deliver())
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.close()
    return count, records, elapsed, cpu


def memory_per_instance(bundle: Bundle, instances: int) -> tuple[int, int, int, int]:
    """(active instances, bytes per customer with one instance, bytes per instance alone, peak bytes).

    Customers first get their profile through an event no journey listens to; the instance figure is
    what the entry events add on top (instance, current event, timer, cap list), the customer figure
    includes the profile and the customer's containers as well."""
    plan = bundle.plans[("solar_onboarding", bundle.latest["solar_onboarding"])]
    store = MemoryStore(keep_log=False)
    engine = Engine.open(bundle, store=store)
    quiet = sorted(set(engine.validator.events) - engine.listened)
    profile = {
        "segment": "new",
        "consent_email": True,
        "consent_sms": True,
        "email": "a@b.example",
        "ltv": 10,
        "interests": [],
    }
    kind = plan["entry"]["event"]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    if quiet:
        for number in range(instances):
            engine.process(
                {
                    "id": f"p{number}",
                    "type": quiet[0],
                    "customer_id": f"c{number}",
                    "at": _stamp(START),
                    "profile": profile,
                }
            )
        store.seen.clear()
        gc.collect()
    middle = tracemalloc.get_traced_memory()[0]
    # The entries lie within one day of event time (a second apart up to 86,400 of them), so that every instance
    # is measured in the same state: 1M entries a second apart spanned 11.6 days, and the first 40% took their
    # 7-day reminder steps (or ended) while the rest were entering, which put 1,023-1,059 B on the 1M figure.
    spread = max(instances, DAY)
    for number in range(instances):
        engine.process(
            {
                "id": f"m{number}",
                "type": kind,
                "customer_id": f"c{number}",
                "at": _stamp(START + number * DAY // spread),
                "data": {"roof_area_m2": 20 + number % 40, "zip": "28001"},
            }
        )
    store.seen.clear()  # event ids are not per-instance state (the per-day time caches hold a day or two)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    active = sum(1 for c in store.customers.values() for i in c["i"].values() if i[ACTIVE])
    count = max(active, 1)
    return active, (current - before) // count, (current - middle) // count, peak - before


def _rates(rates: tuple[float, float]) -> str:
    return f"{rates[0]:10,.0f} events/s wall {rates[1]:10,.0f} events/s CPU"


def _ratio(rates: tuple[float, float], against: tuple[float, float]) -> str:
    return f"= {rates[0] / against[0]:6.1%} wall {rates[1] / against[1]:6.1%} CPU"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument(
        "--per-event-commits",
        type=int,
        default=30_000,
        help="events measured with one commit per event (a prefix of the file)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--journeys", type=Path, default=ROOT / "journeys")
    args = parser.parse_args(argv if argv is not None else [])
    relax_gc()  # as `journeydsl run` does
    bundle = build(args.journeys)
    until = _stamp(START + 120 * 86400)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.jsonl"
        with path.open("wb") as handle:
            written = 0
            for event in workload(bundle, args.journeys, args.customers, args.events, args.seed):
                handle.write(dumps(event) + b"\n")
                written += 1
        customers = args.customers
        print(
            f"workload: {written:,} events, {customers:,} customers, {len(bundle.plans)} journeys; "
            f"{path.stat().st_size / 1e6:.0f} MB JSONL"
        )
        # Wall-clock rates, and rates over the process's CPU time (steadier on a shared machine).
        count, base_s, base_cpu = baseline(path)
        base = (count / base_s, count / base_cpu)
        print(f"baseline (read + JSON decode only):   {_rates(base)}")
        count, records, wall, cpu = run_engine(bundle, path, "memory://", until)
        mem = (count / wall, count / cpu)
        print(f"memory://                             {_rates(mem)}  {_ratio(mem, base)} of baseline")
        print(f"  ({records:,} records)")
        db = Path(folder) / "batched.db"
        count, records, wall, cpu = run_engine(bundle, path, f"sqlite:///{db}", until, batch=1000)
        batched = (count / wall, count / cpu)
        print(f"sqlite:// batch=1000                  {_rates(batched)}  {_ratio(batched, mem)} of memory://")
        db = Path(folder) / "each.db"
        limit = args.per_event_commits
        count, records, wall, cpu = run_engine(bundle, path, f"sqlite:///{db}", until, limit=limit, batch=1)
        each = (count / wall, count / cpu)
        print(f"sqlite:// batch=1 (first {count:,})   {_rates(each)}  {_ratio(each, mem)} of memory://")
    active, per_customer, per_instance, peak = memory_per_instance(bundle, 100_000)
    print(
        f"memory (tracemalloc, memory://, {active:,} active instances): {per_instance:,} B per instance "
        f"({per_instance * 100_000 / 1e6:.1f} MB per 100,000), {per_customer:,} B per customer with its "
        f"profile ({per_customer * 100_000 / 1e6:.1f} MB per 100,000); peak {peak / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
