"""Engine benchmark: `Engine.process` over pre-decoded events against a hand-written loop for the same journey.

The hand-written loop (`SolarLoop`) implements SPEC 3.2's solar_onboarding directly in Python: a dict lookup of
the customer, dispatch on (step, event type) through a table, guards as lambdas, the same records (same keys,
same bodies, consent, the email cap, UTC quiet hours, the experiment split, the goal, timers on a heap). It is
the practical limit for CPython on this journey; before timing, both runs are compared record by record on a
prefix of the stream, so the ratio compares the same work.

Also measured: the engine on the example journeys' workload (journeydsl.testing.synth over journeys/), which
has no hand-written twin. `--profile` runs that workload under pyinstrument and prints the hot spots.

Target (issue 6): Engine >= 30% of the hand-written loop's events/s.

Run: `python -m bench engine` or `python -m bench.engine [--customers N] [--profile]`.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bench.workload import (
    DAY,
    ROUNDS,
    Meter,
    env_int,
    example_events,
    examples_bundle,
    in_turns,
    isolated,
    last_time,
    row,
    solar_bundle,
    solar_events,
    verdict,
)
from journeydsl.runtime import Engine, MemoryStore
from journeydsl.runtime.bundle import Bundle
from journeydsl.runtime.templates import split_subject
from journeydsl.runtime.timeparse import format_time, quiet_end

JOURNEY = "solar_onboarding"
VERSION = 3
QUIET = (21 * 60, 8 * 60)
CAP_LIMIT, CAP_WINDOW = 3, 7 * DAY
COST = {"email": 0.002, "sms": 0.04}
CONSENT = {"email": "consent_email", "sms": "consent_sms"}
GOAL_WITHIN = 30 * DAY
REENTRY_AFTER = 90 * DAY
EXITS = frozenset({"unsubscribed", "contract_cancelled"})
WAIT_STEPS = frozenset({"await_signature", "last_call"})
EXIT = "exit"  # `_target`'s answer for an exit (not a step name)

# Instance slots of the hand-written loop (a list, like the engine's, so the comparison is about the code).
NUMBER, ACTIVE, STEP, ENTERED, TIMER, SEQ, EVENT, VARIANT, GOAL = range(9)


def _body_formats(bundle: Bundle) -> dict[tuple[str, str], str]:
    """The journey's templates as str.format patterns: the hand loop renders without Jinja (its limit)."""
    formats = {}
    for channel, name in (
        ("email", "welcome"),
        ("email", "offer_full"),
        ("email", "offer_small"),
        ("email", "nudge_friendly"),
        ("email", "review_request"),
        ("sms", "nudge_urgent"),
    ):
        text = bundle.template(channel, name) or ""
        text = text.replace('{{ profile.first_name or "there" }}', "{name}").replace("{{ roof }}", "{roof}")
        if "{{" in text:
            raise RuntimeError(f"the hand-written loop cannot render {channel}/{name}: {text!r}")
        if text.endswith("\n"):  # Jinja drops one trailing newline (keep_trailing_newline=False)
            text = text[:-1]
        formats[(channel, name)] = text
    return formats


class SolarLoop:
    """solar_onboarding by hand: process(event) -> records, advance(epoch) -> records."""

    def __init__(self, bundle: Bundle, keep_log: bool = True) -> None:
        self.keep_log = keep_log  # like MemoryStore(keep_log=...): timing runs keep neither records nor transitions
        self.customers: dict[str, list[Any]] = {}  # cid -> [profile, instance or None, email send times]
        self.seen: set[str] = set()
        self.heap: list[tuple[float, str, int]] = []
        self.log: list[dict[str, Any]] = []
        self.transitions: list[tuple[Any, ...]] = []
        self.formats = _body_formats(bundle)
        self.entry_ok: Callable[..., bool] = lambda p, e: p.get("segment") != "churned"
        self.roof_full: Callable[..., bool] = lambda p, e: (e.get("roof_area_m2") or 0) >= 40
        self.roof_small: Callable[..., bool] = lambda p, e: (e.get("roof_area_m2") or 0) >= 15
        # (step, event type) -> target step: the dispatch table of the two waits.
        self.arms = {
            ("await_signature", "contract_signed"): "install",
            ("await_signature", "quote_requested"): "size_roof",
            ("last_call", "contract_signed"): "install",
        }
        self.timer_to = {"await_signature": "nudge", "last_call": "lost", "install": "review"}

    # ---------------------------------------------------------------- entry points

    def process(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        now = datetime.fromisoformat(raw["at"]).timestamp()
        out: list[dict[str, Any]] = []
        self._fire(now, out)
        event_id = raw["id"]
        if event_id in self.seen:
            self._keep(out)
            return out
        self.seen.add(event_id)
        cid = raw["customer_id"]
        kind = raw["type"]
        customer = self.customers.get(cid)
        if customer is None:
            customer = self.customers[cid] = [{}, None, []]
        patch = raw.get("profile")
        if patch:
            customer[0].update(patch)
        event = dict(raw.get("data") or {})
        event["id"], event["type"], event["at"] = event_id, kind, now
        inst = customer[1]
        if inst is not None:
            self._existing(cid, customer, inst, kind, event, now, out)
        if kind == "quote_requested":
            self._enter(cid, customer, event, now, out)
        self._keep(out)
        return out

    def advance(self, until: float) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._fire(until, out)
        self._keep(out)
        return out

    def _keep(self, out: list[dict[str, Any]]) -> None:
        if self.keep_log:
            self.log.extend(out)
        else:
            self.transitions.clear()

    # ---------------------------------------------------------------- semantics

    def _existing(
        self,
        cid: str,
        customer: list[Any],
        inst: list[Any],
        kind: str,
        event: dict[str, Any],
        now: float,
        out: list[dict[str, Any]],
    ) -> None:
        if inst[ACTIVE]:
            target = self._target(cid, customer, inst, kind, event, now)
            if target == EXIT:
                out.append(self._record("exit", cid, inst, inst[STEP], now, outcome=kind))
                self._stop(inst)
                return
            if target is not None:
                inst[EVENT] = event
                inst[TIMER] = None
                self._run(cid, customer, inst, target, inst[STEP], now, kind, out)
        self._goal(cid, inst, kind, event, now, out)

    def _target(
        self, cid: str, customer: list[Any], inst: list[Any], kind: str, event: dict[str, Any], now: float
    ) -> str | None:
        """Where an event takes an active instance: the step to run from, EXIT, or None (no transition)."""
        if kind in EXITS:
            return EXIT
        return self.arms.get((inst[STEP], kind))

    def _timeout_target(self, cid: str, inst: list[Any]) -> str | None:
        """The step a due timer runs from."""
        return self.timer_to[inst[STEP]]

    def _goal(
        self, cid: str, inst: list[Any], kind: str, event: dict[str, Any], now: float, out: list[dict[str, Any]]
    ) -> None:
        if kind == "contract_signed" and inst[GOAL] is None and now - inst[ENTERED] <= GOAL_WITHIN:
            inst[GOAL] = "signed"
            out.append(self._record("goal", cid, inst, inst[STEP], now, goal="signed", value=event.get("amount")))

    def _enter(
        self, cid: str, customer: list[Any], event: dict[str, Any], now: float, out: list[dict[str, Any]]
    ) -> None:
        if not self.entry_ok(customer[0], event):
            return
        old = customer[1]
        if old is not None and (old[ACTIVE] or now - old[ENTERED] < REENTRY_AFTER):
            return
        self._start(cid, customer, event, now, out)

    def _start(
        self, cid: str, customer: list[Any], event: dict[str, Any], now: float, out: list[dict[str, Any]]
    ) -> None:
        old = customer[1]
        number = old[NUMBER] + 1 if old is not None else 1
        inst = [number, 1, None, now, None, 0, event, None, None]
        customer[1] = inst
        out.append(self._record("enter", cid, inst, "welcome", now, event="quote_requested"))
        self._run(cid, customer, inst, "welcome", None, now, "quote_requested", out)

    def _fire(self, until: float, out: list[dict[str, Any]]) -> None:
        heap = self.heap
        while heap and heap[0][0] <= until:
            due, cid, number = heapq.heappop(heap)
            customer = self.customers[cid]
            inst = customer[1]
            if inst[NUMBER] != number or not inst[ACTIVE] or inst[TIMER] != due:
                continue
            inst[TIMER] = None
            target = self._timeout_target(cid, inst)
            if target is not None:
                self._run(cid, customer, inst, target, inst[STEP], due, "timer", out)

    def _run(
        self,
        cid: str,
        customer: list[Any],
        inst: list[Any],
        step: str,
        came_from: str | None,
        now: float,
        via: str | None,
        out: list[dict[str, Any]],
    ) -> None:
        profile = customer[0]
        ident = f"{cid}/{JOURNEY}/{inst[NUMBER]}"
        while True:
            self.transitions.append((JOURNEY, VERSION, cid, ident, came_from, step, now, via))
            inst[STEP] = step
            event = inst[EVENT]
            came_from, via = step, None
            if step == "welcome":
                self._send(cid, customer, inst, step, "email", "welcome", {"roof": event.get("roof_area_m2")}, now, out)
                profile["segment"] = "active"
                out.append(self._record("set", cid, inst, step, now, field="segment", value="active"))
                step = "size_roof"
            elif step == "size_roof":
                if self.roof_full(profile, event):
                    step = "offer_full"
                elif self.roof_small(profile, event):
                    step = "offer_small"
                else:
                    step = "advisor_call"
            elif step == "offer_full" or step == "offer_small":
                self._send(cid, customer, inst, step, "email", step, {}, now, out)
                step = "await_signature"
            elif step == "advisor_call":
                out.append(self._record("call", cid, inst, step, now, name="crm_task", data={"kind": "advisor_call"}))
                step = "await_signature"
            elif step in WAIT_STEPS or step == "install":
                if step == "install":
                    out.append(
                        self._record(
                            "emit",
                            cid,
                            inst,
                            step,
                            now,
                            event="install_scheduled",
                            data={"amount": event.get("amount")},
                        )
                    )
                due = now + (7 * DAY if step == "await_signature" else 14 * DAY if step == "last_call" else 30 * DAY)
                inst[TIMER] = due
                heapq.heappush(self.heap, (due, cid, inst[NUMBER]))
                return
            elif step == "nudge":
                digest = hashlib.sha256(f"{JOURNEY}\nnudge_copy\n{cid}".encode()).digest()
                bucket = int.from_bytes(digest[:8], "big") % 100
                inst[VARIANT] = "friendly" if bucket < 50 else "urgent" if bucket < 90 else "control"
                step = "nudge_friendly" if bucket < 50 else "nudge_urgent" if bucket < 90 else "lost"
            elif step == "nudge_friendly":
                self._send(cid, customer, inst, step, "email", "nudge_friendly", {}, now, out)
                step = "last_call"
            elif step == "nudge_urgent":
                self._send(cid, customer, inst, step, "sms", "nudge_urgent", {}, now, out)
                step = "last_call"
            elif step == "review":
                self._send(cid, customer, inst, step, "email", "review_request", {}, now, out)
                step = "done"
            else:  # done, lost
                out.append(self._record("end", cid, inst, step, now, outcome="converted" if step == "done" else "lost"))
                self._stop(inst)
                return

    def _send(
        self,
        cid: str,
        customer: list[Any],
        inst: list[Any],
        step: str,
        channel: str,
        template: str,
        data: dict[str, Any],
        now: float,
        out: list[dict[str, Any]],
    ) -> None:
        profile = customer[0]
        status, reason, at = "sent", None, now
        if profile.get(CONSENT[channel]) is not True:
            status, reason = "suppressed", "consent"
        elif channel == "email":
            times = [t for t in customer[2] if t > now - CAP_WINDOW]
            customer[2] = times
            if len(times) >= CAP_LIMIT:
                status, reason = "suppressed", "cap"
        if status == "sent":
            ends = quiet_end(now, QUIET[0], QUIET[1], _UTC)
            if ends is not None:
                status, at = "delayed", ends
        fields: dict[str, Any] = {"channel": channel, "template": template, "status": status, "data": data}
        if reason is not None:
            fields["reason"] = reason
        else:
            body = self.formats[(channel, template)].format(
                name=profile.get("first_name") or "there", roof=data.get("roof")
            )
            subject, body = split_subject(body)  # an email's subject line goes apart from its text
            if subject is not None:
                fields["subject"] = subject
            fields["body"] = body
            fields["cost"] = COST[channel]
            if channel == "email":
                customer[2].append(at)
        out.append(self._record("send", cid, inst, step, at, **fields))

    def _record(self, kind: str, cid: str, inst: list[Any], step: str, now: float, **fields: Any) -> dict[str, Any]:
        seq = inst[SEQ]
        inst[SEQ] = seq + 1
        ident = f"{cid}/{JOURNEY}/{inst[NUMBER]}"
        record = {
            "kind": kind,
            "journey": JOURNEY,
            "version": VERSION,
            "customer_id": cid,
            "instance": ident,
            "step": step,
            "at": format_time(now),
            "key": f"{ident}:{step}:{seq}",
        }
        record.update(fields)
        return record

    @staticmethod
    def _stop(inst: list[Any]) -> None:
        inst[ACTIVE] = 0
        inst[TIMER] = None
        inst[EVENT] = None


def _utc() -> Any:
    from datetime import UTC

    return UTC


_UTC = _utc()


# --------------------------------------------------------------------------- runs


def run_engine(bundle: Bundle, events: list[dict[str, Any]], until: str) -> tuple[int, Meter]:
    """Records produced and the meter of `Engine.process` over every event, then `advance`, in a fresh process.

    The store keeps no record log (a run delivers records and drops them), so memory is the customers' state."""

    def work(meter: Meter) -> int:
        engine = Engine.open(bundle, store=MemoryStore(keep_log=False))
        process = engine.process
        records = 0
        with meter:
            for event in events:
                records += len(process(event))
            records += len(engine.advance(until))
        return records

    return isolated(work)


def run_loop(
    bundle: Bundle, events: list[dict[str, Any]], until: str, make: Callable[[], SolarLoop] | None = None
) -> tuple[int, Meter]:
    """Records and meter of a hand-written loop (SolarLoop, or what `make` builds, keeping no log) over the events."""

    def work(meter: Meter) -> int:
        loop = make() if make is not None else SolarLoop(bundle, keep_log=False)
        process = loop.process
        records = 0
        with meter:
            for event in events:
                records += len(process(event))
            records += len(loop.advance(datetime.fromisoformat(until).timestamp()))
        return records

    return isolated(work)


def same_records(bundle: Bundle, events: list[dict[str, Any]], until: str, loop: SolarLoop | None = None) -> str | None:
    """None when the engine and the hand-written loop (SolarLoop, or `loop`, keeping its log) give identical
    records; otherwise the first difference."""
    engine = Engine.open(bundle, store=MemoryStore())
    loop = loop if loop is not None else SolarLoop(bundle)
    theirs: list[dict[str, Any]] = []
    for event in events:
        theirs += engine.process(event)
        loop.process(event)
    theirs += engine.advance(until)
    loop.advance(datetime.fromisoformat(until).timestamp())
    ours = loop.log
    for index, (a, b) in enumerate(zip(theirs, ours, strict=False)):
        if a != b:
            return f"record {index}: engine {a} != hand loop {b}"
    if len(theirs) != len(ours):
        return f"engine gave {len(theirs)} records, the hand loop {len(ours)}"
    return None


def profile_examples(bundle: Bundle, events: list[dict[str, Any]], until: str, top: int) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError as err:
        print(f"  profile skipped: pyinstrument is not installed ({err}); pip install -e '.[bench]'")
        return
    engine = Engine.open(bundle, store=MemoryStore())
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for event in events:
        engine.process(event)
    engine.advance(until)
    profiler.stop()
    session = profiler.last_session
    assert session is not None
    print(f"  pyinstrument: {session.duration:.2f} s sampled over {len(events):,} events")
    print(profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)[:12000])
    _self_time_table(session, top)


def _self_time_table(session: Any, top: int) -> None:
    """Flat hot-spot lists: inclusive time per function (once per call path) and self time per function.

    pyinstrument puts a function's own time in a synthetic `[self]` child; it is counted for the parent here."""
    inclusive: dict[str, float] = {}
    own: dict[str, float] = {}
    root = session.root_frame()
    if root is None:
        return
    whole = root.time or 1.0

    def name_of(frame: Any) -> str:
        return f"{frame.function} ({frame.file_path_short}:{frame.line_no})"

    def visit(frame: Any, parent: str | None, open_names: frozenset[str]) -> None:
        if frame.function.startswith("[") and parent is not None:  # [self] and other synthetic frames
            own[parent] = own.get(parent, 0.0) + frame.time
            return
        name = name_of(frame)
        if name not in open_names:
            inclusive[name] = inclusive.get(name, 0.0) + frame.time
        own[name] = own.get(name, 0.0) + frame.time - sum(child.time for child in frame.children)
        for child in frame.children:
            visit(child, name, open_names | {name})

    visit(root, None, frozenset())
    for title, table in (("inclusive", inclusive), ("self", own)):
        print(f"  top {top} functions by {title} time (share of {whole:.2f} s sampled):")
        for name, seconds in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"    {seconds * 1000:8.0f} ms {seconds / whole:6.1%}  {name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=env_int("JD_BENCH_ENGINE_CUSTOMERS", 50_000))
    parser.add_argument("--example-customers", type=int, default=20_000)
    parser.add_argument("--check", type=int, default=20_000, help="customers compared record by record")
    parser.add_argument("--profile", action="store_true", help="profile the examples workload with pyinstrument")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv if argv is not None else [])

    bundle = solar_bundle()
    check = solar_events(args.check, seed=11)
    problem = same_records(bundle, check, last_time(check))
    if problem:
        print(f"  WARNING: the hand-written loop is not equivalent to the engine: {problem}")
    else:
        print(f"  equivalence: engine and hand-written loop give identical records on {len(check):,} events")

    events = solar_events(args.customers)
    until = last_time(events)
    print(f"solar_onboarding: {len(events):,} pre-decoded events, {args.customers:,} customers")
    print(f"  (best of {ROUNDS} rounds, the two runs taking turns)")
    loop_run, engine_run = in_turns(
        ROUNDS, lambda: run_loop(bundle, events, until), lambda: run_engine(bundle, events, until)
    )
    if isinstance(loop_run, RuntimeError) or isinstance(engine_run, RuntimeError):
        print(f"  failed while running: {loop_run if isinstance(loop_run, RuntimeError) else engine_run}")
        return
    records, meter = loop_run
    loop_rate = row("hand-written loop (the practical limit)", len(events), meter, note=f"{records:,} records")
    records, meter = engine_run
    engine_rate = row("Engine.process, memory://", len(events), meter, note=f"{records:,} records")
    verdict("engine / hand-written loop", engine_rate / loop_rate, 0.30, "events/s, same workload")

    examples = examples_bundle()
    many = example_events(args.example_customers)
    until = last_time(many)
    print(
        f"example journeys: {len(many):,} pre-decoded events, {args.example_customers:,} customers, "
        f"{len(examples.plans)} journeys (no hand-written twin)"
    )
    records, meter = run_engine(examples, many, until)
    row("Engine.process, memory://", len(many), meter, note=f"{records:,} records")
    if args.profile:
        profile_examples(examples, many, until, args.top)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
