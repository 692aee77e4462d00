"""Shared pieces of the runtime-side benchmarks (engine, rules, scaling, endtoend): bundles, workloads, meters.

No `main()` here, so `python -m bench` does not run this module as a benchmark.

- `solar_bundle()` / `examples_bundle()`: the reference journey alone, or every example journey, compiled in memory.
- `solar_events()`: a deterministic stream for the reference journey (solar_onboarding): an entry per customer,
  then signatures, re-quotes, unsubscribes or silence (so the 7-day and 14-day timeouts fire), in time order.
- `example_events()`: the example journeys' workload from `journeydsl.testing.synth` (the demo's generator).
- `stream_events()`: a whole event stream: example_events interleaved with behavioural events (page_viewed,
  app_opened) that no journey acts on, for journey customers and for customers in no journey, at a chosen share.
- `Meter`: wall and CPU time plus the peak resident memory the measured block added (Linux VmHWM, reset before the
  block through /proc/self/clear_refs, so measuring costs nothing while the block runs).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import heapq
import itertools
import os
import pickle
import random
import resource
import time
from bisect import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from journeydsl.compile import compile_project
from journeydsl.project import Project, load_project
from journeydsl.runtime import compiled
from journeydsl.runtime.bundle import Bundle, load_bundle

ROOT = Path(__file__).resolve().parent.parent
JOURNEYS = ROOT / "journeys"
TEMPLATES = ROOT / "templates"
START = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400
T = TypeVar("T")


# --------------------------------------------------------------------------- bundles


def build_name() -> str:
    """The runtime build this process imports: `make bench` puts the mypyc-compiled one first on the path."""
    return "compiled by mypyc (build/compiled)" if compiled() else "plain Python (the editable install)"


def bundle_files(paths: list[Path]) -> dict[str, bytes]:
    """The bundle's files ({path: bytes}) for these journey files or folders; raises if they do not compile."""
    project = load_project([str(p) for p in paths], templates_dir=TEMPLATES)
    return compile_project(project, [str(p) for p in paths])


def solar_bundle() -> Bundle:
    """The reference journey of SPEC 3.2 (solar_onboarding) alone, with its schema but not the schema's contact
    policy: a policy across journeys means nothing to one journey, and the hand-written loops (bench/engine.py)
    that the engine is measured against have none."""
    return load_bundle(solar_bundle_files())


def solar_bundle_files() -> dict[str, bytes]:
    """`solar_bundle`'s files ({path: bytes}), for a bundle written to disk (bench/endtoend.py)."""
    paths = [str(JOURNEYS / "solar_onboarding.journey"), str(JOURNEYS / "customer.journey")]
    project = load_project(paths, templates_dir=TEMPLATES)
    project.files = [
        dataclasses.replace(file, schemas=tuple(dataclasses.replace(s, policy=None) for s in file.schemas))
        for file in project.files
    ]
    return compile_project(project, paths)


def examples_bundle() -> Bundle:
    return load_bundle(bundle_files([JOURNEYS]))


# --------------------------------------------------------------------------- workloads


def stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


FIRST_NAMES = ("Ana", "Ben", "Chen", "Dara", None, "Fatima", "Goran", None, "Ivo", "Jana")


def solar_profile(rng: random.Random) -> dict[str, Any]:
    # No `tz`: quiet hours are then UTC in the engine and in the hand-written loops alike.
    return {
        "email": "someone@example.com",
        "first_name": rng.choice(FIRST_NAMES),
        "segment": rng.choices(("new", "active", "vip", "churned"), (60, 25, 10, 5))[0],
        "ltv": rng.randint(0, 5000),
        "consent_email": rng.random() < 0.9,
        "consent_sms": rng.random() < 0.7,
        "interests": [],
    }


def solar_events(customers: int, seed: int = 7, spread_days: int = 30) -> list[dict[str, Any]]:
    """About 2.2 events per customer for solar_onboarding, sorted by `at` (ties by id); ids unique.

    Each customer asks for a quote (with the profile as a patch), then: signs within 10 days (45%), asks again
    first (15%), unsubscribes (5%), or does nothing so the timeouts fire (35%); a few sign late (after the nudge).
    """
    rng = random.Random(seed)
    drawn: list[tuple[int, int, dict[str, Any]]] = []
    number = 0

    def add(at: int, cid: str, kind: str, data: dict[str, Any], profile: dict[str, Any] | None = None) -> None:
        nonlocal number
        event: dict[str, Any] = {"id": f"s{number}", "type": kind, "customer_id": cid, "at": stamp(at), "data": data}
        if profile is not None:
            event["profile"] = profile
        drawn.append((at, number, event))
        number += 1

    for index in range(customers):
        cid = f"c{index}"
        at = START + rng.randint(0, spread_days * DAY)
        add(at, cid, "quote_requested", {"roof_area_m2": rng.randint(5, 80), "zip": "28001"}, solar_profile(rng))
        roll = rng.random()
        if roll < 0.15:
            at += rng.randint(3600, 5 * DAY)
            add(at, cid, "quote_requested", {"roof_area_m2": rng.randint(5, 80), "zip": "28002"})
            roll = rng.random() * 0.8
        if roll < 0.45:
            add(at + rng.randint(3600, 10 * DAY), cid, "contract_signed", {"amount": rng.randint(4000, 20000)})
        elif roll < 0.50:
            add(at + rng.randint(3600, 6 * DAY), cid, "unsubscribed", {})
        elif roll < 0.58:
            add(at + rng.randint(8 * DAY, 20 * DAY), cid, "contract_signed", {"amount": rng.randint(4000, 20000)})
    drawn.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in drawn]


@functools.cache
def examples_project() -> Project:
    """The example journeys, loaded once per process (the workloads only read the project)."""
    return load_project([str(JOURNEYS)], templates_dir=TEMPLATES)


def example_events(customers: int, seed: int = 7, bad_rate: float | None = None) -> list[dict[str, Any]]:
    """The example journeys' workload (journeydsl.testing.synth, as `make demo` uses), decoded.

    `bad_rate`: the share of deliberately bad extra events (dead letters); None keeps synth's default (2%)."""
    from journeydsl.testing.synth import DEFAULT_BAD_RATE, generate_events

    rate = DEFAULT_BAD_RATE if bad_rate is None else bad_rate
    return list(generate_events(examples_project(), customers, seed, stamp(START), bad_rate=rate))


# Behavioural events (declared in journeys/customer.journey, no journey listens to them): what most of a product's
# event stream is. Paths and referrers read like a shop's web analytics; {} fills in an id or a category.
PAGES: tuple[tuple[str, int], ...] = (
    ("/", 18), ("/products/{category}/{id}", 30), ("/category/{category}", 14), ("/search", 8), ("/cart", 7),
    ("/checkout", 3), ("/account", 4), ("/account/orders", 3), ("/help/{id}", 3), ("/blog/{id}", 5),
    ("/pricing", 3), ("/offers", 2),
)  # fmt: skip
PAGE_CATEGORIES = ("knitwear", "shoes", "outdoor", "denim", "belts", "dresses", "shirts", "bags", "solar", "fitness")
REFERRERS = ("https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/", "https://t.co/",
             "https://www.facebook.com/", "https://www.instagram.com/", "https://newsletter.example.com/")  # fmt: skip
PLATFORMS: tuple[tuple[str, int], ...] = (("ios", 45), ("android", 40), ("web", 15))
PATCH_TIMEZONES = ("Europe/Madrid", "Europe/Berlin", "Europe/London", "America/New_York", "Asia/Singapore")
# UTC hour -> relative traffic: quiet at night, peaks around lunch and the evening.
HOURLY = (2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 11, 12, 11, 10, 10, 11, 12, 13, 13, 12, 9, 6, 3)
PATCH_SHARE = 0.05  # behavioural events that carry a profile patch (a tz from the app, an ltv from the warehouse)
APP_SHARE = 0.3  # app_opened among behavioural events; the rest are page_viewed
OTHERS_PER_CUSTOMER = 2.0  # customers in no journey per journey customer who can send behavioural events


def stream_events(
    customers: int, behavioural_share: float, seed: int = 7, others_per_customer: float = OTHERS_PER_CUSTOMER
) -> list[dict[str, Any]]:
    """A whole event stream: example_events for `customers` customers (without synth's deliberately bad events,
    so nothing is a dead letter) interleaved, in `at` order (ties by id), with behavioural events (page_viewed,
    app_opened) so that `behavioural_share` of all events are behavioural.

    Behavioural events go to the journey customers of the schema that declares them (not to the airline's
    travellers) and to `others_per_customer` times as many customers who are in no journey; each customer has a
    heavy-tailed activity level, as in real analytics streams. They fall in the journeys' time range, more by day
    than by night; about 5% carry a small valid profile patch (tz, ltv or segment). Ids unique; same arguments,
    same stream.
    """
    if not 0.0 <= behavioural_share < 1.0:
        raise ValueError("behavioural_share must be in [0, 1)")
    journey = example_events(customers, seed, bad_rate=0.0)
    wanted = round(len(journey) * behavioural_share / (1.0 - behavioural_share))
    if wanted == 0 or not journey:
        return journey
    schemas = examples_project().schemas().values()
    schema = next(s for s in schemas if {"page_viewed", "app_opened"} <= {e.name for e in s.events})
    declared = {event.name for event in schema.events}
    profile = {f.name: f.type for f in schema.profile}
    # The patches must fit the schema the engine validates them against; fail loudly here if it changes.
    assert profile["tz"].name == "string" and profile["ltv"].name == "number" and profile["segment"].name == "enum"
    segments = profile["segment"].members
    first: dict[str, str] = {}
    for event in journey:
        first.setdefault(event["customer_id"], event["type"])
    ids = [cid for cid, kind in first.items() if kind in declared]
    top = max(int(cid[1:]) for cid in first) if first else 0
    width = max(7, len(str(top + 1 + round(len(ids) * others_per_customer))))
    ids += [f"c{number:0{width}d}" for number in range(top + 1, top + 1 + round(len(ids) * others_per_customer))]

    rng = random.Random(f"stream-{seed}")
    rnd = rng.random
    # Activity per customer: Pareto, so a few customers browse a lot and most a little.
    cum_weights = list(itertools.accumulate(min(rng.paretovariate(1.2), 50.0) for _ in ids))
    begin, end = _epoch(journey[0]["at"]), _epoch(journey[-1]["at"])
    days = max(int((end - begin) // DAY), 1)
    hours = list(itertools.accumulate(HOURLY))
    paths = [path for path, _ in PAGES]
    path_weights = list(itertools.accumulate(weight for _, weight in PAGES))
    platforms = [name for name, _ in PLATFORMS]
    platform_weights = list(itertools.accumulate(weight for _, weight in PLATFORMS))
    day0 = int(begin // DAY) * DAY
    drawn: list[tuple[int, dict[str, Any]]] = []
    for cid in rng.choices(ids, cum_weights=cum_weights, k=wanted):
        at = day0 + int(rnd() * days) * DAY + bisect(hours, rnd() * hours[-1]) * 3600 + int(rnd() * 3600)
        at = min(max(at, int(begin)), int(end))
        event: dict[str, Any]
        if rnd() < APP_SHARE:
            platform = platforms[bisect(platform_weights, rnd() * platform_weights[-1])]
            event = {"id": "", "type": "app_opened", "customer_id": cid, "at": "", "data": {"platform": platform}}
        else:
            path = paths[bisect(path_weights, rnd() * path_weights[-1])]
            if "{" in path:
                path = path.format(category=PAGE_CATEGORIES[int(rnd() * len(PAGE_CATEGORIES))], id=int(rnd() * 5000))
            data: dict[str, Any] = {"path": path}
            if rnd() < 0.35:  # an optional field is often simply absent, sometimes null
                data["referrer"] = REFERRERS[int(rnd() * len(REFERRERS))] if rnd() < 0.9 else None
            event = {"id": "", "type": "page_viewed", "customer_id": cid, "at": "", "data": data}
        if rnd() < PATCH_SHARE:
            pick = rnd()
            if pick < 0.4:
                event["profile"] = {"tz": PATCH_TIMEZONES[int(rnd() * len(PATCH_TIMEZONES))]}
            elif pick < 0.8:
                event["profile"] = {"ltv": round(rnd() * 6000, 2)}
            else:
                event["profile"] = {"segment": segments[int(rnd() * len(segments))]}
        drawn.append((at, event))
    drawn.sort(key=lambda pair: pair[0])
    digits = max(7, len(str(len(drawn))))
    day_text: dict[int, str] = {}
    for index, (at, event) in enumerate(drawn):
        event["id"] = f"b{seed}-{index:0{digits}d}"
        event["at"] = _iso(at, day_text)
    behavioural = [event for _, event in drawn]
    return list(heapq.merge(journey, behavioural, key=lambda event: (event["at"], event["id"])))


def _iso(seconds: int, days: dict[int, str]) -> str:
    """stamp() with the date part cached per day: strftime per event would dominate a stream of a million."""
    day, rest = divmod(seconds, DAY)
    date = days.get(day)
    if date is None:
        date = days[day] = time.strftime("%Y-%m-%d", time.gmtime(day * DAY))
    return f"{date}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}Z"


def last_time(events: list[dict[str, Any]], extra_days: int = 120) -> str:
    """An `advance` horizon past every timer the stream can set."""
    return stamp(max(_epoch(e["at"]) for e in events if isinstance(e.get("at"), str)) + extra_days * DAY)


def _epoch(text: str) -> float:
    from journeydsl.runtime.timeparse import parse_rfc3339

    try:
        return parse_rfc3339(text)
    except ValueError:
        return float(START)


def iter_chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- meters


def status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's resident high-water mark of this process (Linux >= 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


@dataclass
class Meter:
    """`with Meter() as m: work()` then m.wall, m.cpu (seconds) and m.peak_mb (resident memory the block added)."""

    wall: float = 0.0
    cpu: float = 0.0
    peak_mb: float | None = None
    _rss0: int | None = None
    _exact: bool = False
    _cpu0: float = 0.0
    _wall0: float = 0.0

    def __enter__(self) -> Meter:
        gc.collect()
        # What exists now (the pre-decoded input, the bundle) is the benchmark's, not the engine's: freeze it so
        # the collector's full passes during the run traverse only what the run creates, as in a streaming run.
        gc.freeze()
        self._exact = _reset_peak()
        self._rss0 = status_kb("VmRSS") if self._exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self._cpu0 = time.process_time()
        self._wall0 = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.wall = time.perf_counter() - self._wall0
        self.cpu = time.process_time() - self._cpu0
        gc.unfreeze()
        peak = status_kb("VmHWM") if self._exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if peak is not None and self._rss0 is not None:
            self.peak_mb = max(peak - self._rss0, 0) / 1024

    def rate(self, count: int) -> float:
        return count / self.wall if self.wall > 0 else float("inf")

    def memory(self) -> str:
        if self.peak_mb is None:
            return "peak n/a"
        return f"peak +{self.peak_mb:,.0f} MB" + ("" if self._exact else " (high-water mark, not reset)")


def isolated(work: Callable[[Meter], T]) -> tuple[T, Meter]:
    """Run `work(meter)` in a forked child and return its result and meter.

    Each measurement then starts from the same parent heap: memory freed by an earlier run (which CPython keeps
    in its arenas) cannot hide the next run's growth, and one run's garbage does not slow the next. `work` opens
    the meter itself (`with meter: ...`) around the part it times. Falls back to running in-process without fork.
    """
    if not hasattr(os, "fork"):
        meter = Meter()
        return work(meter), meter
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, send back, leave without running the parent's cleanup
        status = 0
        try:
            meter = Meter()
            payload = pickle.dumps((work(meter), meter))
        except BaseException as err:  # noqa: BLE001 - reported in the parent as a failed benchmark
            payload = pickle.dumps(RuntimeError(f"{type(err).__name__}: {err}"))
            status = 1
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result = pickle.loads(data)
    if isinstance(result, Exception):
        raise result
    value, meter = result
    return value, meter


def in_turns(rounds: int, *runs: Callable[[], tuple[T, Meter]]) -> list[tuple[T, Meter] | RuntimeError]:
    """Each run `rounds` times, taking turns round by round; per run, the result whose meter took the least CPU.

    The shared machine's speed drifts by tens of percent over a minute: runs that take turns meet the drift
    alike, so the ratios between them stay fair. A run that fails (RuntimeError from `isolated`) gives its error.
    """
    best: list[tuple[T, Meter] | RuntimeError | None] = [None] * len(runs)
    for _ in range(max(1, rounds)):
        for index, run in enumerate(runs):
            if isinstance(best[index], RuntimeError):
                continue
            try:
                result = run()
            except RuntimeError as err:
                best[index] = err
                continue
            kept = best[index]
            if kept is None or (not isinstance(kept, RuntimeError) and result[1].cpu < kept[1].cpu):
                best[index] = result
    return [found for found in best if found is not None]


def row(label: str, count: int, meter: Meter, unit: str = "events/s", note: str = "") -> float:
    """Print one figure line; returns the rate per CPU second, which the ratios use.

    The ratios compare CPU rates because the benchmark machines are shared: other jobs on the same cores stretch
    wall time far more than the work this process does. Both rates are printed."""
    rate = meter.rate(count)
    cpu_rate = count / meter.cpu if meter.cpu > 0 else float("inf")
    print(
        f"  {label:<44} {cpu_rate:>10,.0f} {unit} CPU ({rate:>10,.0f} wall)  {meter.memory():<14} {note}".rstrip(),
        flush=True,
    )
    return cpu_rate


def verdict(name: str, ratio: float, target: float, text: str) -> None:
    ok = "MET" if ratio >= target else "NOT MET"
    print(f"  ratio {name}: {ratio:.2f} ({text}, CPU time; target >= {target:g}: {ok})", flush=True)


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# Rounds of `in_turns` for the benchmarks whose ratios carry a target (JD_BENCH_ROUNDS=1 for a quick look).
ROUNDS = env_int("JD_BENCH_ROUNDS", 3)


def remove_sqlite_store(db: Path) -> None:
    """Delete a SQLite store's file and those kept beside it (SQLite's WAL and shared memory, the store's lock)."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
