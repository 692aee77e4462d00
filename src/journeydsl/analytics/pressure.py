"""Contact pressure (issue 19): how many messages one customer gets on each channel, per day and per week, when
every journey runs together; which journeys send them; what consent, caps and the contact policy held back.

Two halves:

- figures from records (`pressure_of`): pure, over any run's records (the runtime's record dicts). A message
  is a `send` record whose status is `sent` or `delayed` (a delayed one goes out at its `at`); its day is the UTC
  date of `at`, its week the ISO week of that date. The distributions are over the (customer, day) and
  (customer, week) pairs that got at least one message on the channel: pairs with none are not zeros in them.
- the simulation (`simulate`): run every journey of a bundle together on a memory:// engine over events (a JSONL
  file read by `file_events`, or a synthetic stream), advance the clock past the last event (see `horizon_of`),
  and take the figures of what came out. Checking and compiling the journeys first is `journeydsl.api.pressure`'s
  (this layer sits below the front end).

Percentiles are nearest-rank: the p-th of n sorted values is the one at rank ceil(p * n / 100), counting from 1.
It is always a count that occurred, never an interpolation between two, so "p90 2" reads "90% of the pairs got
at most 2 messages".
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journeydsl.analytics.plan_ir import duration
from journeydsl.runtime.timeparse import TimeError, format_time, parse_time

if TYPE_CHECKING:
    from journeydsl.runtime.bundle import Bundle

PERCENTILES: tuple[int, ...] = (50, 90, 99)
OUT_STATUSES: frozenset[str] = frozenset({"sent", "delayed"})  # a send with either status reaches the customer
DEAD_KEPT = 10  # dead letters kept (with line and reason) for the report; the rest are only counted


class PressureError(Exception):
    """The simulation could not run (no events, none that could be run, a bad `until`), or a record is not one."""


# --------------------------------------------------------------------------- figures from records


def nearest_rank(ordered: Sequence[int], percentile: int) -> int:
    """The `percentile`-th (1..100) of values sorted ascending, nearest-rank; 0 for no values."""
    if not ordered:
        return 0
    rank = max(1, -(-percentile * len(ordered) // 100))  # integer ceil: 0.9 * 10 must not become rank 10.000001
    return ordered[rank - 1]


@dataclass(frozen=True)
class Distribution:
    """Messages per (customer, period) pair, over the pairs with at least one message."""

    pairs: int
    p50: int
    p90: int
    p99: int
    max: int

    @classmethod
    def of(cls, counts: Iterable[int]) -> Distribution:
        ordered = sorted(counts)
        p50, p90, p99 = (nearest_rank(ordered, p) for p in PERCENTILES)
        return cls(len(ordered), p50, p90, p99, ordered[-1] if ordered else 0)


@dataclass(frozen=True)
class PolicyCapFigure:
    """A contact policy's cap on a channel across journeys (`cap email 3 per 7d across journeys`)."""

    schema: str | None
    max: int
    per_s: int

    @property
    def text(self) -> str:
        return f"{self.max} per {duration(self.per_s)}"


@dataclass(frozen=True)
class JourneyShare:
    """One journey's part of a channel's messages, and what it did not get out."""

    journey: str
    messages: int  # sent + delayed
    delayed: int
    share: float | None  # of the channel's messages; None when the channel has none
    suppressed: Mapping[str, int]  # reason (consent, cap, policy, ...) -> sends
    held_by: Mapping[str, int]  # policy suppressions: the journey that took the slot -> sends
    delayed_by: Mapping[str, int]  # policy delays: the journey that took the slot -> sends


@dataclass(frozen=True)
class ChannelPressure:
    channel: str
    messages: int
    customers: int  # customers reached (at least one message)
    per_day: Distribution  # over (customer, UTC day) pairs
    per_week: Distribution  # over (customer, ISO week) pairs
    suppressed: int
    journeys: tuple[JourneyShare, ...]  # most messages first
    shared_caps: tuple[PolicyCapFigure, ...] = ()


@dataclass(frozen=True)
class DeadLetter:
    line: int
    column: int | None
    reason: str

    def located(self, file: str | None) -> str:
        """`FILE:LINE:COL: reason` (an editor jumps there); `line N: reason` for a stream without a file."""
        where = f"{file}:{self.line}" if file is not None else f"line {self.line}"
        return where + (f":{self.column}" if self.column is not None else "") + f": {self.reason}"


@dataclass(frozen=True)
class RunInfo:
    """How the records were made, when the report comes from a simulation."""

    source: str  # the events file, or the synthetic stream's parameters
    file: str | None  # the events file (None: a synthetic stream)
    events: int  # events read (blank lines not counted)
    dead: int
    first_event: str | None
    last_event: str | None
    until: str | None  # the clock the run was advanced to after the last event
    horizon: str  # why that far
    dead_letters: tuple[DeadLetter, ...] = ()  # the first DEAD_KEPT


@dataclass(frozen=True)
class PressureReport:
    channels: tuple[ChannelPressure, ...]
    sends: int  # send records read, whatever their status
    messages: int
    suppressed: int
    customers: int  # customers reached on any channel
    run: RunInfo | None = None


@dataclass
class _Tally:
    messages: int = 0
    delayed: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    held_by: Counter[str] = field(default_factory=Counter)
    delayed_by: Counter[str] = field(default_factory=Counter)


@dataclass
class _Channel:
    per_day: Counter[tuple[str, int]] = field(default_factory=Counter)
    per_week: Counter[tuple[str, tuple[int, int]]] = field(default_factory=Counter)
    journeys: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))


_EPOCH = dt.date(1970, 1, 1)


def _week(day: int, cache: dict[int, tuple[int, int]]) -> tuple[int, int]:
    found = cache.get(day)
    if found is None:
        year, week, _ = (_EPOCH + dt.timedelta(days=day)).isocalendar()
        found = cache[day] = (year, week)
    return found


def _text(record: Mapping[str, Any], name: str, number: int) -> str:
    value = record.get(name)
    if not isinstance(value, str):
        raise PressureError(f"record {number}: a send record needs `{name}` as a string, got {value!r}")
    return value


def pressure_of(
    records: Iterable[Mapping[str, Any]],
    shared_caps: Mapping[str, Sequence[PolicyCapFigure]] | None = None,
    run: RunInfo | None = None,
) -> PressureReport:
    """The figures of a run's records (every kind may be given: only `send` records count).

    shared_caps: channel -> the policy caps on it, shown beside the figures. Raises PressureError for a send record
    without a journey, customer, channel, status or a valid `at`."""
    channels: dict[str, _Channel] = defaultdict(_Channel)
    weeks: dict[int, tuple[int, int]] = {}
    reached: set[str] = set()
    sends = 0
    for number, record in enumerate(records, start=1):
        if record.get("kind") != "send":
            continue
        sends += 1
        channel = channels[_text(record, "channel", number)]
        tally = channel.journeys[_text(record, "journey", number)]
        status = _text(record, "status", number)
        held = record.get("held_by")
        if status not in OUT_STATUSES:
            reason = str(record.get("reason") or status)
            tally.suppressed[reason] += 1
            if reason == "policy" and isinstance(held, str):
                tally.held_by[held] += 1
            continue
        customer = _text(record, "customer_id", number)
        try:
            day = math.floor(parse_time(_text(record, "at", number)) // 86400)
        except TimeError as err:
            raise PressureError(f"record {number}: `at`: {err}") from err
        tally.messages += 1
        if status == "delayed":
            tally.delayed += 1
            if isinstance(held, str):  # a quiet-hours delay holds no slot of anyone's
                tally.delayed_by[held] += 1
        channel.per_day[(customer, day)] += 1
        channel.per_week[(customer, _week(day, weeks))] += 1
        reached.add(customer)
    caps = shared_caps or {}
    out = [_channel_figures(name, channels[name], tuple(caps.get(name, ()))) for name in sorted(channels)]
    for name in sorted(set(caps) - set(channels)):  # a capped channel nothing sent on: the cap is still context
        out.append(_channel_figures(name, _Channel(), tuple(caps[name])))
    out.sort(key=lambda c: c.channel)
    return PressureReport(
        channels=tuple(out),
        sends=sends,
        messages=sum(c.messages for c in out),
        suppressed=sum(c.suppressed for c in out),
        customers=len(reached),
        run=run,
    )


def _channel_figures(name: str, channel: _Channel, caps: tuple[PolicyCapFigure, ...]) -> ChannelPressure:
    messages = sum(t.messages for t in channel.journeys.values())
    journeys = [
        JourneyShare(
            journey=journey,
            messages=tally.messages,
            delayed=tally.delayed,
            share=tally.messages / messages if messages else None,
            suppressed=dict(sorted(tally.suppressed.items())),
            held_by=dict(sorted(tally.held_by.items())),
            delayed_by=dict(sorted(tally.delayed_by.items())),
        )
        for journey, tally in channel.journeys.items()
    ]
    journeys.sort(key=lambda j: (-j.messages, j.journey))
    return ChannelPressure(
        channel=name,
        messages=messages,
        customers=len({customer for customer, _ in channel.per_day}),
        per_day=Distribution.of(channel.per_day.values()),
        per_week=Distribution.of(channel.per_week.values()),
        suppressed=sum(sum(j.suppressed.values()) for j in journeys),
        journeys=tuple(journeys),
        shared_caps=caps,
    )


def shared_caps_of(plans: Iterable[Mapping[str, Any]]) -> dict[str, list[PolicyCapFigure]]:
    """channel -> the contact-policy caps on it, from plans (plan.json dicts); one per schema that has one."""
    found: dict[str, dict[str | None, PolicyCapFigure]] = defaultdict(dict)
    for plan in plans:
        schema = plan.get("schema") or {}
        policy = schema.get("policy")
        if not policy:
            continue
        for channel, cap in policy.get("caps", {}).items():
            found[channel].setdefault(schema.get("name"), PolicyCapFigure(schema.get("name"), cap["max"], cap["per_s"]))
    return {channel: list(by_schema.values()) for channel, by_schema in sorted(found.items())}


# --------------------------------------------------------------------------- JSON and text


def _distribution_json(d: Distribution) -> dict[str, int]:
    return {"pairs": d.pairs, "p50": d.p50, "p90": d.p90, "p99": d.p99, "max": d.max}


def to_json(report: PressureReport) -> dict[str, Any]:
    """The report as plain JSON values (`--format json`); shares as fractions, times in RFC 3339."""
    out: dict[str, Any] = {
        "percentiles": "nearest-rank over (customer, period) pairs with at least one message",
        "sends": report.sends,
        "messages": report.messages,
        "suppressed": report.suppressed,
        "customers": report.customers,
        "channels": [
            {
                "channel": c.channel,
                "messages": c.messages,
                "customers": c.customers,
                "per_day": _distribution_json(c.per_day),
                "per_week": _distribution_json(c.per_week),
                "suppressed": c.suppressed,
                "shared_caps": [{"schema": s.schema, "max": s.max, "per_s": s.per_s} for s in c.shared_caps],
                "journeys": [
                    {
                        "journey": j.journey,
                        "messages": j.messages,
                        "delayed": j.delayed,
                        "share": j.share,
                        "suppressed": dict(j.suppressed),
                        "held_by": dict(j.held_by),
                        "delayed_by": dict(j.delayed_by),
                    }
                    for j in c.journeys
                ],
            }
            for c in report.channels
        ],
    }
    if report.run is not None:
        run = report.run
        out["run"] = {
            "source": run.source,
            "file": run.file,
            "events": run.events,
            "dead": run.dead,
            "first_event": run.first_event,
            "last_event": run.last_event,
            "until": run.until,
            "horizon": run.horizon,
            "dead_letters": [{"line": d.line, "column": d.column, "reason": d.reason} for d in run.dead_letters],
        }
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counts.items()) or "-"


def _distribution_text(label: str, d: Distribution) -> str:
    return f"  {label:<9} p50 {d.p50}  p90 {d.p90}  p99 {d.p99}  max {d.max}  ({d.pairs:,} pairs)"


def render_text(report: PressureReport) -> str:
    """The report for a terminal: a header on the run, then one block per channel."""
    lines: list[str] = []
    if report.run is not None:
        run = report.run
        lines.append(f"events    {run.events:,} from {run.source} ({run.dead:,} dead letters)")
        if run.first_event is not None:
            lines.append(f"span      {run.first_event} .. {run.last_event}")
        lines.append(f"run until {run.until or '-'} ({run.horizon})")
    lines.append(
        f"messages  {report.messages:,} to {report.customers:,} customers; {report.suppressed:,} sends suppressed"
    )
    lines.append("per customer: nearest-rank percentiles over the (customer, UTC day) and (customer, ISO week)")
    lines.append("pairs with at least one message")
    for channel in report.channels:
        lines += ["", f"{channel.channel}: {channel.messages:,} messages to {channel.customers:,} customers"]
        for cap in channel.shared_caps:
            lines.append(f"  policy    {cap.text} across journeys" + (f" (schema {cap.schema})" if cap.schema else ""))
        lines.append(_distribution_text("per day", channel.per_day))
        lines.append(_distribution_text("per week", channel.per_week))
        if not channel.journeys:
            continue
        width = max(7, *(len(j.journey) for j in channel.journeys))
        lines.append(f"  {'journey':<{width}}  {'messages':>8}  {'share':>6}  suppressed")
        for j in channel.journeys:
            lines.append(f"  {j.journey:<{width}}  {j.messages:>8,}  {_pct(j.share):>6}  {_counts(j.suppressed)}")
            if j.held_by:
                lines.append(f"  {'':<{width}}    policy suppressed, slot held by: {_counts(j.held_by)}")
            if j.delayed_by:
                lines.append(f"  {'':<{width}}    policy delayed, slot held by: {_counts(j.delayed_by)}")
    if report.run is not None and report.run.dead_letters:
        lines += ["", "dead letters (first ones):"]
        lines += [f"  {dead.located(report.run.file)}" for dead in report.run.dead_letters]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the simulation


def horizon_of(plans: Iterable[Mapping[str, Any]]) -> tuple[int, str]:
    """How far past the last event the run goes, in seconds, and why: the longest timer a step sets (`wait 3d ->`,
    a wait's `after`) plus the longest policy settle, so every timer set up to the last event fires and every send
    it makes is decided. A timer set by a timer is not waited for (a journey that loops would never end); `at`
    timers are not bounded by the plans (give --until for those)."""
    timer, settle = 0, 0
    for plan in plans:
        policy = (plan.get("schema") or {}).get("policy")
        if policy and policy.get("caps"):
            settle = max(settle, int(policy.get("settle_s", 0)))
        for step in plan.get("steps", ()):
            flow = step.get("flow") or {}
            if flow.get("kind") == "sleep":
                timer = max(timer, int(flow["after_s"]))
            elif flow.get("kind") == "wait" and isinstance(flow.get("timeout"), dict):
                timer = max(timer, int(flow["timeout"].get("after_s", 0)))
    why = f"the last event + {duration(timer)}, the longest timer"
    if settle:
        why += f", + {duration(settle)}, the longest policy settle"
    return timer + settle, why


Numbered = tuple[int, Any]  # (line number, the event dict, or a DeadLetter for a line that is not JSON)


def file_events(path: Path) -> Iterator[Numbered]:
    """The events of a JSONL file with their line numbers; a line that is not JSON comes as a DeadLetter with its
    column. Raises PressureError when the file cannot be read."""
    from journeydsl.runtime.jsonio import DecodeError, loads

    try:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    yield number, loads(line)
                except DecodeError as err:
                    if line.strip():  # blank lines are allowed, as in `run`
                        column = getattr(err, "colno", None)
                        message = getattr(err, "msg", str(err))
                        yield number, DeadLetter(number, column, f"not JSON: {message}")
    except OSError as err:
        raise PressureError(f"cannot read {path}: {err.strerror or err}") from err


def simulate(
    bundle: Bundle, events: Iterable[Numbered], source: str, until: str | None = None, file: str | None = None
) -> PressureReport:
    """Run every journey of `bundle` together on memory:// over `events`, then advance the clock to `until`
    (default: the last event + `horizon_of` the plans), and take the figures of the records.

    Events dated after `until` are dead letters, as in `run --until`; no skew limit applies (a sample may be
    sparse). Raises PressureError when no event could be run."""
    from journeydsl.runtime import Engine, MemoryStore

    end = None
    if until is not None:
        try:
            end = parse_time(until)
        except TimeError as err:
            raise PressureError(f"--until: {err}") from err
    engine = Engine(bundle, MemoryStore(keep_log=False), until=end)
    records: list[dict[str, Any]] = []
    dead: list[DeadLetter] = []
    dead_count = read = 0
    first: float | None = None
    last: float | None = None

    def bury(letter: DeadLetter) -> None:
        nonlocal dead_count
        dead_count += 1
        if len(dead) < DEAD_KEPT:
            dead.append(letter)

    for number, event in events:
        read += 1
        if isinstance(event, DeadLetter):
            bury(event)
            continue
        records += [r for r in engine.process(event) if r["kind"] == "send"]  # only sends count: keep no others
        if engine.dead_letters:
            for letter in engine.dead_letters:
                bury(DeadLetter(number, None, str(letter["reason"])))
            engine.dead_letters.clear()
            continue
        at = parse_time(event["at"])  # the engine accepted it: `at` is a valid time
        first = at if first is None or at < first else first
        last = at if last is None or at > last else last
    if read == 0:
        raise PressureError(f"{source} holds no events")
    if last is None:
        shown = "".join(f"\n  {d.located(file)}" for d in dead)
        more = f"\n  ... and {dead_count - len(dead):,} more" if dead_count > len(dead) else ""
        raise PressureError(f"no event of {source} could be run: {dead_count:,} dead letter(s){shown}{more}")
    plans = list(bundle.plans.values())
    if end is None:
        seconds, horizon = horizon_of(plans)
        end = last + seconds
    else:
        horizon = "--until"
    for piece in engine.advance_chunks(end):  # only the sends are kept: the other records go piece by piece
        records += [r for r in piece if r["kind"] == "send"]
    info = RunInfo(
        source=source,
        file=file,
        events=read,
        dead=dead_count,
        first_event=format_time(first) if first is not None else None,
        last_event=format_time(last),
        until=format_time(end),
        horizon=horizon,
        dead_letters=tuple(dead),
    )
    return pressure_of(records, shared_caps_of(plans), info)
