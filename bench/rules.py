"""Rules-engine baselines: the same guards and transitions through rule-engine and durable-rules.

solar_onboarding (SPEC 3.2) is written once below as a state machine (`TABLE`): the states are its waits
(await_signature, last_call, install's 30-day sleep) plus `idle`; each transition has an event type, a guard
and the actions of the steps it runs through (choose and experiment become mutually exclusive guards, so a
rules engine that fires every match still takes one transition). One runner (`run_table`) keeps per-customer
state, the seen ids and the timers (event time, a heap; a timeout is posted as an event of type `timeout`) and
asks a selector which transition fires:
- lambdas: Python closures, tried in order (the hand-written floor for this table);
- rule-engine: one `rule_engine.Rule` per transition, `Rule.matches` tried in order;
- durable-rules: a `statechart` with one state per wait; the runner `post`s each event and reads back the
  transition its consequent took.
The baselines do less than the engine: their records are small dicts, no templates, consent, caps, quiet hours
or goals. So the ratios below understate the engine's lead. The engine runs the same events (`Engine.process`).

Targets (issue 6): the engine at least 5x durable-rules and 1.5x rule-engine on the same workload.
Each engine that does not install is skipped with the reason (`pip install -e '.[bench]'`).

Run: `python -m bench rules` or `python -m bench.rules [--customers N] [--durable-customers N]`.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.engine import run_engine
from bench.workload import DAY, Meter, env_int, isolated, last_time, row, solar_bundle, solar_events, verdict

JOURNEY = "solar_onboarding"
SHARD = 500  # customers per durable-rules chart (see durable_selector)
NEVER = 10.0**12  # `since` for a customer who never entered: any reentry window has passed
TIMERS = {"await_signature": 7 * DAY, "last_call": 14 * DAY, "install": 30 * DAY}
ENTRY = 'segment != "churned" and since >= 7776000'  # the entry `where` and `reentry after 90d`


@dataclass(frozen=True)
class Transition:
    source: str
    event: str
    guard: str  # rule-engine syntax, over the flat context below; "" = always
    target: str
    actions: tuple[str, ...]


def _offers(source: str, event: str, prefix: str, first: tuple[str, ...]) -> list[Transition]:
    """The `size_roof` choose as three exclusive transitions."""
    return [
        Transition(source, event, f"{prefix}roof_area_m2 >= 40", "await_signature", (*first, "send offer_full")),
        Transition(
            source,
            event,
            f"{prefix}roof_area_m2 >= 15 and roof_area_m2 < 40",
            "await_signature",
            (*first, "send offer_small"),
        ),
        Transition(source, event, f"{prefix}roof_area_m2 < 15", "await_signature", (*first, "call crm_task")),
    ]


ENTER = ("enter", "send welcome", "set segment")
EXITS = [
    Transition(state, kind, "", "idle", ("exit",))
    for state in TIMERS
    for kind in ("unsubscribed", "contract_cancelled")
]
TABLE: list[Transition] = [
    *_offers("idle", "quote_requested", f"{ENTRY} and ", ENTER),
    *EXITS,
    Transition("await_signature", "contract_signed", "", "install", ("emit install_scheduled",)),
    *_offers("await_signature", "quote_requested", "", ()),
    Transition("await_signature", "timeout", "bucket < 50", "last_call", ("send nudge_friendly",)),
    Transition("await_signature", "timeout", "bucket >= 50 and bucket < 90", "last_call", ("send nudge_urgent",)),
    Transition("await_signature", "timeout", "bucket >= 90", "idle", ("end lost",)),
    Transition("last_call", "contract_signed", "", "install", ("emit install_scheduled",)),
    Transition("last_call", "timeout", "", "idle", ("end lost",)),
    Transition("install", "timeout", "", "idle", ("send review_request", "end converted")),
]

Selector = Callable[[str, str, dict[str, Any]], int | None]  # (customer, state, context) -> index in TABLE


def _bucket(cid: str) -> int:
    digest = hashlib.sha256(f"{JOURNEY}\nnudge_copy\n{cid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def run_table(events: list[dict[str, Any]], until: str, select: Selector) -> int:
    """Drive TABLE over the events with `select` choosing transitions; returns the number of records."""
    states: dict[str, list[Any]] = {}  # cid -> [state, entered, timer due, profile]
    seen: set[str] = set()
    heap: list[tuple[float, str]] = []
    out: list[dict[str, Any]] = []

    def take(cid: str, st: list[Any], context: dict[str, Any], now: float) -> None:
        index = select(cid, st[0], context)
        if index is None:
            return
        move = TABLE[index]
        at = _format(now)
        for action in move.actions:
            out.append({"kind": action, "journey": JOURNEY, "customer_id": cid, "at": at})
            if action == "enter":
                st[1] = now
            elif action == "set segment":
                st[3]["segment"] = "active"
        st[0] = move.target
        st[2] = None
        wait = TIMERS.get(move.target)
        if wait is not None:
            st[2] = now + wait
            heapq.heappush(heap, (st[2], cid))

    def fire(until_epoch: float) -> None:
        while heap and heap[0][0] <= until_epoch:
            due, cid = heapq.heappop(heap)
            st = states[cid]
            if st[2] == due:
                take(cid, st, {"type": "timeout", "bucket": _bucket(cid)}, due)

    for raw in events:
        now = datetime.fromisoformat(raw["at"]).timestamp()
        fire(now)
        if raw["id"] in seen:
            continue
        seen.add(raw["id"])
        cid = raw["customer_id"]
        st = states.get(cid)
        if st is None:
            st = states[cid] = ["idle", None, None, {}]
        if raw.get("profile"):
            st[3].update(raw["profile"])
        context = dict(raw.get("data") or {})
        context["type"] = raw["type"]
        context["segment"] = st[3].get("segment")
        context["since"] = NEVER if st[1] is None else now - st[1]
        take(cid, st, context, now)
    fire(datetime.fromisoformat(until).timestamp())
    return len(out)


_FORMATTED: dict[float, str] = {}


def _format(epoch: float) -> str:
    text = _FORMATTED.get(epoch)
    if text is None:
        text = _FORMATTED[epoch] = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


def _by_state() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for index, move in enumerate(TABLE):
        found.setdefault(move.source, []).append(index)
    return found


# --------------------------------------------------------------------------- selectors


def lambda_selector() -> Selector:
    """The guards as Python closures (what the table means, written by hand)."""
    ops: dict[str, Callable[[Any, Any], bool]] = {
        ">=": lambda a, b: a is not None and a >= b,
        "<": lambda a, b: a is not None and a < b,
        "!=": lambda a, b: a != b,
    }

    def compile_guard(move: Transition) -> Callable[[dict[str, Any]], bool]:
        tests: list[tuple[str, Callable[[Any, Any], bool], Any]] = []
        for part in filter(None, move.guard.split(" and ")):
            name, op, value = part.split(" ", 2)
            tests.append((name, ops[op], value.strip('"') if value.startswith('"') else float(value)))
        kind = move.event
        return lambda c: c["type"] == kind and all(fn(c.get(name), value) for name, fn, value in tests)

    guards = [compile_guard(move) for move in TABLE]
    by_state = _by_state()

    def select(cid: str, state: str, context: dict[str, Any]) -> int | None:
        for index in by_state.get(state, ()):
            if guards[index](context):
                return index
        return None

    return select


def rule_engine_selector() -> Selector:
    import rule_engine

    context = rule_engine.Context(default_value=None)
    rules = []
    for move in TABLE:
        text = f'type == "{move.event}"' + (f" and {move.guard}" if move.guard else "")
        rules.append(rule_engine.Rule(text, context=context))
    by_state = _by_state()

    def select(cid: str, state: str, values: dict[str, Any]) -> int | None:
        for index in by_state.get(state, ()):
            if rules[index].matches(values):
                return index
        return None

    return select


def durable_selector(customers: int) -> Selector:
    """durable-rules statecharts over TABLE; each post runs the consequent of the transition that fires.

    One chart per SHARD customers: a single durable-rules ruleset fails with MemoryError past about a thousand
    sessions (customers) here, so customers are split over charts as a partitioned deployment would split them.
    """
    from durable import engine as durable_engine
    from durable.lang import m, post, state, statechart, to, when_all

    fired: list[int] = []
    ops: dict[str, Callable[[Any, Any], Any]] = {
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "!=": lambda a, b: a != b,
    }

    def condition(move: Transition) -> Any:
        cond = m.type == move.event
        for part in filter(None, move.guard.split(" and ")):
            name, op, value = part.split(" ", 2)
            cond = cond & ops[op](getattr(m, name), value.strip('"') if value.startswith('"') else float(value))
        return cond

    def consequent(index: int) -> Callable[[Any], None]:
        def action(c: Any) -> None:
            fired.append(index)

        return action

    by_state = _by_state()
    charts = -(-customers // SHARD)
    for chart in range(charts):
        with statechart(f"solar_bench_{chart}"):
            # durable-rules starts a chart in the one state no transition leads to: `start`, a copy of `idle`.
            for name, source in (("start", "idle"), ("idle", "idle"), *((t, t) for t in TIMERS)):
                with state(name):
                    for index in by_state.get(source, ()):
                        to(TABLE[index].target)(when_all(condition(TABLE[index]))(consequent(index)))
    shard_of: dict[str, str] = {}
    counter = 0

    def select(cid: str, _state: str, values: dict[str, Any]) -> int | None:
        nonlocal counter
        counter += 1
        chart = shard_of.get(cid)
        if chart is None:
            chart = shard_of[cid] = f"solar_bench_{len(shard_of) // SHARD}"
        message = {key: value for key, value in values.items() if value is not None}
        message["sid"] = cid
        message["id"] = counter
        fired.clear()
        try:
            post(chart, message)
        except durable_engine.MessageNotHandledException:
            return None
        return fired[-1] if fired else None

    return select


def measure(events: list[dict[str, Any]], until: str, make: Callable[[], Selector]) -> tuple[int, Meter]:
    def work(meter: Meter) -> int:
        select = make()  # built (and the rules compiled) before the clock starts
        with meter:
            return run_table(events, until, select)

    return isolated(work)


def _importable(module: str) -> str | None:
    try:
        __import__(module)
    except Exception as err:  # noqa: BLE001 - a broken install is a skip with its reason, not a crash
        return f"{type(err).__name__}: {err}"
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rules", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=env_int("JD_BENCH_RULES_CUSTOMERS", 30_000))
    parser.add_argument(
        "--durable-customers",
        type=int,
        default=2_000,
        help="durable-rules is slow and takes about 290 MB per chart of 500 customers here: it gets "
        "a prefix of the customers (rates compare per event)",
    )
    args = parser.parse_args(argv if argv is not None else [])
    bundle = solar_bundle()
    events = solar_events(args.customers, seed=13)
    until = last_time(events)
    print(
        f"solar_onboarding as a {len(TABLE)}-transition table: {len(events):,} pre-decoded events, "
        f"{args.customers:,} customers"
    )
    records, meter = run_engine(bundle, events, until)
    engine_rate = row("journeydsl Engine.process (full semantics)", len(events), meter, note=f"{records:,} records")
    records, meter = measure(events, until, lambda_selector)
    row("table + Python lambdas (hand-written floor)", len(events), meter, note=f"{records:,} records")

    reason = _importable("rule_engine")
    if reason:
        print(f"  rule-engine: skipped, it does not import ({reason})")
    else:
        try:
            records, meter = measure(events, until, rule_engine_selector)
        except RuntimeError as err:
            print(f"  rule-engine: skipped, it failed while running ({err})")
        else:
            rate = row("table + rule-engine Rule.matches", len(events), meter, note=f"{records:,} records")
            verdict("engine / rule-engine", engine_rate / rate, 1.5, "events/s, same events")

    reason = _importable("durable.lang")
    if reason:
        print(f"  durable-rules: skipped, it does not import ({reason})")
        return
    few = [e for e in events if int(e["customer_id"][1:]) < args.durable_customers]
    try:
        records, meter = measure(few, last_time(few), lambda: durable_selector(args.durable_customers))
    except RuntimeError as err:  # raised in the child (e.g. MemoryError inside durable-rules): a skip, with why
        print(f"  durable-rules: skipped, it failed while running ({err})")
        return
    rate = row(f"table + durable-rules statechart ({len(few):,} ev)", len(few), meter, note=f"{records:,} records")
    verdict("engine / durable-rules", engine_rate / rate, 5.0, "events/s, same kind of events")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
