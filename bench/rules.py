"""Rules-engine baselines: the same guards and transitions through rule-engine and durable-rules.

solar_onboarding (SPEC 3.2) is written once below as a state machine (`TABLE`): the states are its waits
(await_signature, last_call, install's 30-day sleep) plus `idle`; each transition has an event type, a guard
and the actions of the steps it runs through (choose and experiment become mutually exclusive guards, so a
rules engine that fires every match still takes one transition). A selector says which transition fires:
- lambdas: Python closures, tried in order (the hand-written floor for this table);
- rule-engine: one `rule_engine.Rule` per transition, `Rule.matches` tried in order;
- durable-rules: a `statechart` with one state per wait; each event is `post`ed and the transition its
  consequent took is read back.
Two runners ask the selector, for every event of a customer with an active instance, every entry event, and
every timeout (posted as an event of type `timeout`):
- `TableLoop`: bench/engine.py's hand-written loop, which produces exactly the engine's records (bodies,
  consent, the cap, quiet hours, the goal; checked record by record before timing), with each transition chosen
  by the selector. Same events, same records: the targets are judged on this one.
- `run_table`: a lighter runner whose records are small dicts (no templates, consent, caps, quiet hours or
  goals). Its ratio is printed for reference: it understates the engine's lead, since the baseline does less.
The engine runs the same events (`Engine.process`).

Targets (issue 6): the engine at least 5x durable-rules and 1.5x rule-engine on the same workload.
Each engine that does not install is skipped with the reason (`pip install -e '.[bench]'`).

Run: `python -m bench rules` or `python -m bench.rules [--customers N] [--durable-customers N] [--check N]`.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.engine import ACTIVE, ENTERED, EXIT, STEP, SolarLoop, run_engine, run_loop, same_records
from bench.workload import (
    DAY,
    ROUNDS,
    Meter,
    env_int,
    in_turns,
    isolated,
    last_time,
    row,
    solar_bundle,
    solar_events,
    verdict,
)
from journeydsl.runtime.bundle import Bundle

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


# --------------------------------------------------------------------------- the same records


# The step each non-entry transition of TABLE starts running at, in the hand-written loop.
FIRST_STEP = {
    ("await_signature", "contract_signed"): "install",
    ("last_call", "contract_signed"): "install",
    ("await_signature", "quote_requested"): "size_roof",
    ("await_signature", "timeout"): "nudge",
    ("last_call", "timeout"): "lost",
    ("install", "timeout"): "review",
}


class TableLoop(SolarLoop):
    """The hand-written loop of bench/engine.py (the engine's exact records: bodies, consent, the cap, quiet hours,
    the goal) with every transition chosen by `select` over TABLE, with the same contexts as `run_table`.

    The loop then runs the chosen transition's steps with its own code, which decides the `size_roof` choose and
    the experiment again (a comparison and a sha256, about a microsecond): the rules pick, the loop produces."""

    def __init__(self, bundle: Bundle, select: Selector, keep_log: bool = True) -> None:
        super().__init__(bundle, keep_log=keep_log)
        self.select = select

    def _context(self, customer: list[Any], kind: str, event: dict[str, Any], now: float) -> dict[str, Any]:
        context = dict(event)
        context["type"] = kind
        context["segment"] = customer[0].get("segment")
        old = customer[1]
        context["since"] = NEVER if old is None else now - old[ENTERED]
        return context

    def _target(
        self, cid: str, customer: list[Any], inst: list[Any], kind: str, event: dict[str, Any], now: float
    ) -> str | None:
        index = self.select(cid, inst[STEP], self._context(customer, kind, event, now))
        if index is None:
            return None
        move = TABLE[index]
        return EXIT if move.actions == ("exit",) else FIRST_STEP[(move.source, kind)]

    def _enter(
        self, cid: str, customer: list[Any], event: dict[str, Any], now: float, out: list[dict[str, Any]]
    ) -> None:
        old = customer[1]
        if old is not None and old[ACTIVE]:
            return  # not `idle`: the instance's own transitions were asked in _existing
        if self.select(cid, "idle", self._context(customer, "quote_requested", event, now)) is None:
            return
        self._start(cid, customer, event, now, out)

    def _timeout_target(self, cid: str, inst: list[Any]) -> str | None:
        state = inst[STEP]
        if self.select(cid, state, {"type": "timeout", "bucket": _bucket(cid)}) is None:
            return None
        return FIRST_STEP[(state, "timeout")]


def run_table_loop(events: list[dict[str, Any]], until: str, make: Callable[[], Selector]) -> tuple[int, Meter]:
    """Records and meter of TableLoop with the selector `make` builds (in the child), keeping no log."""
    bundle = solar_bundle()
    return run_loop(bundle, events, until, make=lambda: TableLoop(bundle, make(), keep_log=False))


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
    parser.add_argument("--check", type=int, default=5_000, help="customers compared record by record")
    args = parser.parse_args(argv if argv is not None else [])
    bundle = solar_bundle()
    check = solar_events(args.check, seed=11)
    problem = same_records(bundle, check, last_time(check), loop=TableLoop(bundle, lambda_selector()))
    if problem:
        print(f"  WARNING: the table-driven loop does not give the engine's records: {problem}")
    else:
        print(f"  equivalence: the table-driven loop gives the engine's records on {len(check):,} events")
    events = solar_events(args.customers, seed=13)
    until = last_time(events)
    print(
        f"solar_onboarding as a {len(TABLE)}-transition table: {len(events):,} pre-decoded events, "
        f"{args.customers:,} customers"
    )
    # The engine and the table-driven runs take turns, best of ROUNDS each (durable-rules, slow, runs once).
    rule_engine = _importable("rule_engine")
    runs: dict[str, Callable[[], tuple[int, Meter]]] = {
        "engine": lambda: run_engine(bundle, events, until),
        "lambdas": lambda: run_table_loop(events, until, lambda_selector),
        "lambdas, light": lambda: measure(events, until, lambda_selector),
    }
    if not rule_engine:
        runs["rule-engine"] = lambda: run_table_loop(events, until, _rules)
        runs["rule-engine, light"] = lambda: measure(events, until, _rules)
    print(f"  (best of {ROUNDS} rounds, the runs taking turns)")
    results = dict(zip(runs, in_turns(ROUNDS, *runs.values()), strict=True))
    engine_rate = _row("journeydsl Engine.process (full semantics)", events, results["engine"])
    if engine_rate is None:
        return

    print("  the same records (bench/engine.py's hand-written loop, each transition chosen through the table):")
    _row("table + Python lambdas", events, results["lambdas"])
    if rule_engine:
        print(f"  rule-engine: skipped, it does not import ({rule_engine})")
    else:
        rate = _row("table + rule-engine Rule.matches", events, results["rule-engine"])
        if rate:
            verdict("engine / rule-engine", engine_rate / rate, 1.5, "events/s, same events, same records")
    durable = _importable("durable.lang")
    if durable:
        print(f"  durable-rules: skipped, it does not import ({durable})")
    else:
        # durable-rules is slow and holds ~290 MB per chart: a prefix of the customers (rates compare per event)
        few = [e for e in events if int(e["customer_id"][1:]) < args.durable_customers]
        label = f"table + durable-rules statechart ({len(few):,} ev)"
        shards = args.durable_customers
        (result,) = in_turns(1, lambda: run_table_loop(few, last_time(few), lambda: durable_selector(shards)))
        rate = _row(label, few, result)
        if rate:
            verdict("engine / durable-rules", engine_rate / rate, 5.0, "events/s, same kind of events, same records")

    print("  lighter records (the table runner's own: 4 fields, no bodies, consent, cap, quiet hours or goal):")
    _row("table + Python lambdas, light", events, results["lambdas, light"])
    if not rule_engine:
        light = _row("table + rule-engine, light", events, results["rule-engine, light"])
        if light:
            print(f"  ratio engine / rule-engine with the lighter records: {engine_rate / light:.2f} (reference)")


def _rules() -> Selector:
    return rule_engine_selector()


def _row(label: str, events: list[dict[str, Any]], result: tuple[int, Meter] | RuntimeError) -> float | None:
    """The row of one run, or None (with the reason printed) when the library failed while running."""
    if isinstance(result, RuntimeError):  # raised in the child (e.g. MemoryError inside durable-rules): why
        print(f"  {label}: skipped, it failed while running ({result})")
        return None
    records, meter = result
    return row(label, len(events), meter, note=f"{records:,} records")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
