"""The journeydsl job on Flink: JSON lines in, action records (JSON lines) out, keyed by customer.

The pipeline (docs/flink-job.md):

    source of lines -> check (the core's event check; bad lines to the dead-letter side output)
      -> event-time watermarks (bounded out-of-orderness) -> key_by customer_id
      -> the step function: one customer's state, clock, seen ids and timer, driven through `runtime.core.step`

Nothing here knows journey semantics: `CustomerSteps` is the per-customer driver of tests/runtime/test_step_core.py
(a customer's own timers due at or before its event fire first, then the event; duplicates by event id), with one
addition: the customer's clock, which a timer set in the past fires at, as `run` fires it at its stream clock.
`StepFunction` only keeps that in Flink's keyed state and the timer in Flink's timer service. So the records
equal `journeydsl run --max-skew none`'s, key by key (docs/flink-job.md says where a keyed job cannot).

The source is a function of the environment (`Source`): `file_source` reads JSONL files (one file is read by one
reader, in order, so each customer's events keep their file order); a cluster job passes a folder or a Kafka topic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pyflink.common import Duration, Types, WatermarkStrategy  # type: ignore[import-untyped]
from pyflink.common.time import Time  # type: ignore[import-untyped]
from pyflink.common.watermark_strategy import TimestampAssigner  # type: ignore[import-untyped]
from pyflink.datastream import (  # type: ignore[import-untyped]
    KeyedProcessFunction,
    OutputTag,
    ProcessFunction,
    RuntimeContext,
)
from pyflink.datastream.connectors.file_system import FileSource, StreamFormat  # type: ignore[import-untyped]
from pyflink.datastream.state import (  # type: ignore[import-untyped]
    MapStateDescriptor,
    StateTtlConfig,
    ValueStateDescriptor,
)

from journeydsl.runtime.bundle import load_public_key, read_source, verify_files
from journeydsl.runtime.core import Core, Timer, new_customer, next_due, step
from journeydsl.runtime.jsonio import DecodeError, dumps, loads
from journeydsl.runtime.timeparse import format_time, parse_rfc3339

# Key groups: the unit Flink moves between tasks when a job is rescaled. Fixed for the life of the job's state (a
# savepoint restores only under the same value) and the upper bound of its parallelism; 128 is Flink's own default
# for parallelism up to 128, with each key group a small share of the customers at any parallelism below it.
MAX_PARALLELISM: Final = 128
# How late (in event time) an event may arrive after a later one and still be taken before the watermark passes its
# time: the watermark trails the latest event time seen by this much. A day, as `run`'s default --max-skew: the
# synthetic stream and replays of sorted logs are never that far out of order. A later event is still processed (a
# keyed function drops nothing), but a timer the watermark already fired stays fired, as in `run`.
DEFAULT_BOUND: Final = 86400.0
# Seen event ids are kept this long (Flink's state TTL counts processing time, the wall clock of the task managers):
# a producer's retry after that is processed again. Thirty days, as the durable stores' `seen_retention`.
DEFAULT_SEEN_RETENTION: Final = 30 * 86400.0
# Live mode: a source split that has sent nothing for this long stops holding the watermark back.
DEFAULT_IDLE_TIMEOUT: Final = 60.0

# Why an input was refused, as a JSON object ({"reason": ..., "event": ...} or {"reason": ..., "raw": line}).
DEAD_LETTERS: Final = OutputTag("dead-letters", Types.STRING())
# What `check` hands to the keyed step: (customer id, event time in ms, the event's JSON line).
CHECKED_EVENT: Final = Types.TUPLE([Types.STRING(), Types.LONG(), Types.STRING()])

Source = Callable[[Any], Any]  # StreamExecutionEnvironment -> DataStream of str (one JSON event per line)


@dataclass(frozen=True)
class JobSpec:
    """What one job runs: the bundle (its files, shipped inside the job so every task manager verifies the same
    bytes without reading a path of the client's machine) and the job's time rules."""

    bundle: Mapping[str, bytes]
    public_key: bytes | None = None  # raw Ed25519 key: a bundle not signed by it is refused by every task
    until: float | None = None  # no timer fires past this (epoch s); events dated after it are dead letters
    bound: float = DEFAULT_BOUND  # watermark bound for out-of-order events (s)
    seen_retention: float = DEFAULT_SEEN_RETENTION  # seen event ids, in processing time (s)
    live: bool = False  # live input: timers also fire on the wall clock; idle source splits release the watermark
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    name: str = "journeydsl"  # operator names and uids (stable uids let a savepoint restore into a new build)

    def __post_init__(self) -> None:
        for label, value in (("bound", self.bound), ("seen_retention", self.seen_retention)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{label} must be a number of seconds >= 0, not {value!r}")
        if not (math.isfinite(self.idle_timeout) and self.idle_timeout > 0):
            raise ValueError(f"idle_timeout must be a number of seconds > 0, not {self.idle_timeout!r}")
        if self.until is not None and not math.isfinite(self.until):
            raise ValueError(f"until must be a finite time (epoch s) or None, not {self.until!r}")
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"name must be letters, digits, '-' or '_' (it names operators), not {self.name!r}")

    @classmethod
    def load(cls, bundle: str | Path, public_key: str | bytes | None = None, **options: Any) -> JobSpec:
        """Read and verify the bundle here, once, so a refused bundle is a clear BundleError before any job starts
        (each task verifies it again in `open`)."""
        files = read_source(bundle)
        raw_key = load_public_key(public_key) if public_key is not None else None
        verify_files(files, raw_key)
        return cls(bundle=files, public_key=raw_key, **options)

    def core(self) -> Core:
        return Core(verify_files(self.bundle, self.public_key), keep_transitions=False)


def dead_letter(reason: str, event: Any = None, raw: str | None = None) -> str:
    """A dead letter as `run --dead-letter` writes one, without the line number (a stream has none)."""
    entry: dict[str, Any] = {"reason": reason}
    if raw is None:
        entry["event"] = event
        try:
            return dumps(entry).decode()
        except (TypeError, ValueError):  # nested deeper than the encoder writes: keep the text instead
            del entry["event"]
            raw = dumps(str(event)).decode()
    entry["raw"] = raw
    return dumps(entry).decode()


@dataclass(slots=True)
class CustomerStepOutcome:
    """One input through `CustomerSteps`: the customer's state after it (None: keep no state) and clock, the
    records as JSON lines, dead letters, the event id to remember as seen, and whether it was a duplicate."""

    state: dict[str, Any] | None
    clock: float | None
    records: list[str]
    dead: list[str]
    seen: str | None = None
    duplicate: bool = False

    @property
    def due(self) -> float | None:
        return next_due(self.state) if self.state is not None else None


class CustomerSteps:
    """The per-customer driver over `step`, with no Flink in it (so it is tested, and reasoned about, alone)."""

    def __init__(self, spec: JobSpec) -> None:
        self.core = spec.core()
        self.until = spec.until

    def check(self, line: str) -> tuple[str, float, str] | str | None:
        """A line of input -> (customer id, event time, the line), a dead letter, or None for a blank line.

        The same check `run` makes before anything else (so a refused event fires no timer and moves no
        watermark), and `run --until`'s rule: an event dated after the end is a dead letter."""
        if not line.strip():
            return None
        try:
            event = loads(line)
        except DecodeError as err:
            return dead_letter(f"not JSON: {err}", raw=line)
        core = self.core
        checked = core.check(event)
        if checked is None:
            reason = str(core.dead_letters.pop()["reason"]) if core.dead_letters else "refused"
            core.dead_letters.clear()
            return dead_letter(reason, event)
        customer_id, _type, context, _patch = checked
        at = float(context["at"])
        if self.until is not None and at > self.until:
            return dead_letter(f"dated after the run's end (--until {format_time(self.until)})", event)
        return customer_id, at, line

    def on_event(
        self, state: dict[str, Any] | None, line: str, seen: Callable[[str], bool], clock: float | None = None
    ) -> CustomerStepOutcome:
        """The customer's timers due at or before the event's time, then the event (unless its id was seen).

        `clock`: the time of the customer's latest event so far, which a timer that fell due before it fires at
        (see `_fire`); the outcome carries the new one."""
        # The line passed `check` before the shuffle: its fields are there and well-typed.
        event = loads(line)
        customer_id = event["customer_id"]
        at = parse_rfc3339(event["at"])
        out: list[dict[str, Any]] = []
        state = self._fire(customer_id, state, clock, at, out)
        clock = at if clock is None or at > clock else clock
        event_id = event["id"]
        if seen(event_id):
            return CustomerStepOutcome(state, clock, _lines(out), [], duplicate=True)
        result = step(state, event, self.core, None)
        if result.dead is not None:
            return CustomerStepOutcome(state, clock, _lines(out), [dead_letter(result.dead, event)])
        out += result.records
        after: dict[str, Any] | None = result.state
        if state is None and after == new_customer():
            after = None  # an event nobody listens to leaves no state behind (most of a real stream)
        # As the engine: only an event that could change something is remembered (a repeat of the others is
        # harmless), so page views and the like cost no seen-id state.
        remember = event_id if (event["type"] in self.core.listened or event.get("profile")) else None
        return CustomerStepOutcome(after, clock, _lines(out), [], seen=remember)

    def on_timer(
        self, state: dict[str, Any] | None, customer_id: str, upto: float, clock: float | None = None
    ) -> CustomerStepOutcome:
        """The customer's timers due up to `upto`, never past the job's `until`."""
        if self.until is not None:
            upto = min(upto, self.until)
        out: list[dict[str, Any]] = []
        state = self._fire(customer_id, state, clock, upto, out)
        return CustomerStepOutcome(state, clock, _lines(out), [])

    def _fire(
        self,
        customer_id: str,
        state: dict[str, Any] | None,
        clock: float | None,
        upto: float,
        out: list[dict[str, Any]],
    ) -> dict[str, Any] | None:
        # One timer at a time, earliest first: a timer's step may set the next one, due before `upto` too.
        # A timer due before the customer's clock was set in the past (`at` an expression, by an event dated after
        # it): `run` fires it at its stream clock, which on input in time order is the time of the event that set
        # it, the customer's clock here. Any other timer fires at its due time.
        if state is None:
            return None
        while True:
            due = next_due(state)
            if due is None or due > upto:
                return state
            result = step(state, Timer(customer_id, due), self.core, clock)
            out += result.records
            state = result.state


def run_without_flink(spec: JobSpec, lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """The job's records and dead letters on `lines`, in this process, without Flink: what one reader and the
    keyed step give, every customer's remaining timers fired up to `spec.until` at the end. A reference for tests
    and benchmarks (a recovered job's output must equal it, key by key)."""
    steps = CustomerSteps(spec)
    states: dict[str, dict[str, Any]] = {}
    clocks: dict[str, float] = {}
    seen: dict[str, set[str]] = {}
    records: list[str] = []
    dead: list[str] = []
    for line in lines:
        checked = steps.check(line)
        if checked is None:
            continue
        if isinstance(checked, str):
            dead.append(checked)
            continue
        customer = checked[0]
        ids = seen.setdefault(customer, set())
        outcome = steps.on_event(states.get(customer), line, ids.__contains__, clocks.get(customer))
        if outcome.seen is not None:
            ids.add(outcome.seen)
        records += outcome.records
        dead += outcome.dead
        if outcome.state is None:
            states.pop(customer, None)
            clocks.pop(customer, None)
        else:
            states[customer] = outcome.state
            if outcome.clock is not None:
                clocks[customer] = outcome.clock
    end = math.inf if spec.until is None else spec.until
    for customer, state in states.items():
        records += steps.on_timer(state, customer, end, clocks.get(customer)).records
    return records, dead


def _lines(records: list[dict[str, Any]]) -> list[str]:
    return [dumps(record).decode() for record in records]


def timer_ms(due: float) -> int:
    """A due time (epoch s) as the Flink timer that fires it: the first millisecond at or after it."""
    return math.ceil(due * 1000)


class CheckEvents(ProcessFunction):  # type: ignore[misc]  # PyFlink ships no type hints
    """Lines -> (customer id, event time ms, line); refused lines to DEAD_LETTERS."""

    def __init__(self, spec: JobSpec) -> None:
        self._spec = spec
        self._steps: CustomerSteps | None = None

    def open(self, runtime_context: RuntimeContext) -> None:
        self._steps = CustomerSteps(self._spec)  # the bundle, verified once per task

    def process_element(self, value: str, ctx: Any) -> Iterator[Any]:
        assert self._steps is not None
        checked = self._steps.check(value)
        if checked is None:
            return
        if isinstance(checked, str):
            yield DEAD_LETTERS, checked
            return
        customer_id, at, line = checked
        yield customer_id, math.floor(at * 1000), line


class EventTime(TimestampAssigner):  # type: ignore[misc]
    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        return int(value[1])


def customer_key(value: Any) -> str:
    return str(value[0])


class StepFunction(KeyedProcessFunction):  # type: ignore[misc]
    """One customer per key: its state (the stores' customer JSON), its clock (the time of its latest event), its
    seen event ids, and ONE timer at its next due time (event time; in live mode also the same instant on the wall
    clock).

    The registered timer is not stored: it is always the one the stored state asks for (`_wanted`), because every
    change of the state goes through `_keep`, which moves the timer with it. Each call into keyed state crosses
    from Python into the JVM, so the function reads and writes only what it must."""

    def __init__(self, spec: JobSpec) -> None:
        self._spec = spec
        self._steps: CustomerSteps | None = None
        self._state: Any = None
        self._clock: Any = None
        self._seen: Any = None

    def open(self, runtime_context: RuntimeContext) -> None:
        self._steps = CustomerSteps(self._spec)
        self._state = runtime_context.get_state(ValueStateDescriptor("customer", Types.STRING()))
        self._clock = runtime_context.get_state(ValueStateDescriptor("clock", Types.DOUBLE()))
        seen = MapStateDescriptor("seen", Types.STRING(), Types.BOOLEAN())
        ttl = (
            StateTtlConfig.new_builder(Time.milliseconds(int(self._spec.seen_retention * 1000)))
            .set_update_type(StateTtlConfig.UpdateType.OnCreateAndWrite)
            .set_state_visibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
            .build()
        )
        seen.enable_time_to_live(ttl)
        self._seen = runtime_context.get_map_state(seen)

    def process_element(self, value: Any, ctx: Any) -> Iterator[Any]:
        assert self._steps is not None
        text, state = self._load()
        registered = self._wanted(state)  # before the step, which changes `state` in place
        clock = self._clock.value() if state is not None else None
        outcome = self._steps.on_event(state, value[2], self._seen.contains, clock)
        if outcome.seen is not None:
            self._seen.put(outcome.seen, True)
        yield from self._keep(outcome, ctx, text, clock, registered)

    def on_timer(self, timestamp: int, ctx: Any) -> Iterator[Any]:
        assert self._steps is not None
        text, state = self._load()
        registered = self._wanted(state)
        if registered == timestamp:
            # Fired. In live mode its twin on the other clock may still be pending: it goes too.
            self._delete(ctx, timestamp)
            registered = None
        if state is None:
            return
        clock = self._clock.value()
        # Half a millisecond of slack: the timer is the due time rounded up to a millisecond.
        key = str(ctx.get_current_key())
        outcome = self._steps.on_timer(state, key, (timestamp + 0.5) / 1000, clock)
        yield from self._keep(outcome, ctx, text, clock, registered)

    def _load(self) -> tuple[str | None, dict[str, Any] | None]:
        text = self._state.value()
        return text, (None if text is None else dict(loads(text)))

    def _wanted(self, state: dict[str, Any] | None) -> int | None:
        """The timer `state` needs. One due after the job's end never fires, so it is not registered: at the end
        of a bounded input the watermark jumps to the end of time, and it would be handed back again and again."""
        due = next_due(state) if state is not None else None
        until = self._spec.until
        return None if due is None or (until is not None and due > until) else timer_ms(due)

    def _delete(self, ctx: Any, ms: int) -> None:
        timers = ctx.timer_service()
        timers.delete_event_time_timer(ms)
        if self._spec.live:
            timers.delete_processing_time_timer(ms)

    def _keep(
        self, outcome: CustomerStepOutcome, ctx: Any, text: str | None, clock: float | None, registered: int | None
    ) -> Iterator[Any]:
        if outcome.state is None:
            if text is not None:
                self._state.clear()
                self._clock.clear()
        else:
            after = dumps(outcome.state).decode()
            if after != text:
                self._state.update(after)
            if outcome.clock is not None and outcome.clock != clock:
                self._clock.update(outcome.clock)
        wanted = self._wanted(outcome.state)
        if wanted != registered:
            if registered is not None:
                self._delete(ctx, registered)
            if wanted is not None:
                timers = ctx.timer_service()
                timers.register_event_time_timer(wanted)
                if self._spec.live:
                    # Live input may stall: the watermark then stops, and only the wall clock reaches the due time.
                    timers.register_processing_time_timer(wanted)
        yield from outcome.records
        for letter in outcome.dead:
            yield DEAD_LETTERS, letter


def file_source(*paths: str, monitor_every: float | None = None) -> Source:
    """JSONL files (or folders of them) as a Source; `monitor_every` (s) keeps watching for new files (live)."""

    def make(env: Any) -> Any:
        builder = FileSource.for_record_stream_format(StreamFormat.text_line_format(), *paths)
        if monitor_every is not None:
            builder.monitor_continuously(Duration.of_millis(max(1, int(monitor_every * 1000))))
        else:
            builder.process_static_file_set()
        return env.from_source(builder.build(), WatermarkStrategy.no_watermarks(), "events")

    return make


@dataclass(frozen=True)
class JobStreams:
    """The job's two outputs: records (JSON lines, `str`) and dead letters (JSON objects as `str`)."""

    records: Any
    dead_letters: Any


def watermarks(spec: JobSpec) -> Any:
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(int(spec.bound * 1000)))
    strategy = strategy.with_timestamp_assigner(EventTime())
    if spec.live:
        strategy = strategy.with_idleness(Duration.of_millis(int(spec.idle_timeout * 1000)))
    return strategy


def build_job(env: Any, source: Source, spec: JobSpec) -> JobStreams:
    """Add the job to `env` (several jobs may share one environment, each with its own `spec.name`)."""
    env.set_max_parallelism(MAX_PARALLELISM)
    name = spec.name
    lines = source(env)
    # The check runs chained to the source (same parallelism, forward): each reader's lines stay in their order.
    checked = lines.process(CheckEvents(spec), output_type=CHECKED_EVENT).name(f"{name}: check").uid(f"{name}-check")
    timed = checked.assign_timestamps_and_watermarks(watermarks(spec)).name(f"{name}: event time")
    records = (
        timed.key_by(customer_key, key_type=Types.STRING())
        .process(StepFunction(spec), output_type=Types.STRING())
        .name(f"{name}: step")
        .uid(f"{name}-step")
    )
    dead = checked.get_side_output(DEAD_LETTERS).union(records.get_side_output(DEAD_LETTERS))
    return JobStreams(records, dead)
