"""A deterministic, realistic synthetic event stream for a journey project.

The stream feeds demos (`make demo`), the runtime benchmark and soak tests. It is read off the
journeys themselves: each customer gets a profile that fits the schema, an entry event for one or
two journeys of one schema, then follow-up events found by walking each journey as a customer
might (`wait` arms inside their timeouts, timeouts, exits, goals) at plausible times, minutes to
weeks later. A few percent of extra events are deliberately bad (an unknown type, a field of the
wrong type) so the dead-letter list has something to do.

    generate_events(project_or_paths, customers=1000, seed=7, start="2026-01-01T00:00:00Z")
    python -m journeydsl.testing.synth journeys/ --customers 1000 --seed 7 -o events.jsonl

Same inputs, same stream: one `random.Random(seed)`, journeys and fields in source order, never
a set or dict iteration that depends on hashing. Output is sorted by `at`, ties by `id`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, TextIO

from journeydsl.diagnostics import errors_in
from journeydsl.ir import (
    Choose,
    End,
    Experiment,
    FieldDef,
    Flow,
    Goto,
    Journey,
    Name,
    Schema,
    SetProfile,
    Sleep,
    Span,
    TypeRef,
    Wait,
    flow_targets,
)
from journeydsl.project import Project, load_project

Event = dict[str, Any]
Timed = tuple[float, Event]

DEFAULT_START = "2026-01-01T00:00:00Z"
DEFAULT_BAD_RATE = 0.02
ENTRY_SPREAD_DAYS = 30  # entries are spread over this many days after `start`
_LOG_MIN_GAP = math.log(600)  # without a timeout, follow-ups come 10 minutes ...
_LOG_GAP_SPAN = math.log(3 * 86400) - _LOG_MIN_GAP  # ... to three days after the previous event
_MAX_WALK_STEPS = 60  # steps followed per journey and customer (loops through waits end here)
_MAX_FOLLOW_UPS = 6  # events per journey and customer after the entry
_EXIT_SHARE = 0.04  # at a wait: the customer leaves (an exit event) ...
_TIMEOUT_SHARE = 0.45  # ... or does nothing until the timeout; otherwise an arm's event comes
_OFF_PATH_GOAL_SHARE = 0.15
_ADMIT_TRIES = 200  # draws of an entry event (and profile) until the journey's entry conditions admit it
UNKNOWN_TYPES = ("page_viewed_legacy", "app_opened_v0", "loyalty_points_synced")  # never in a schema

# ------------------------------------------------------------------------------------------ vocabulary
# Values that make the stream read like real data; chosen by field name, falling back on the type.

FIRST_NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivo", "Jana", "Kofi",
               "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera")  # fmt: skip
TIMEZONES = ("Europe/Madrid", "Europe/Berlin", "Europe/London", "America/New_York", "America/Chicago",
             "America/Los_Angeles", "Asia/Singapore", "Australia/Sydney")  # fmt: skip
INTERESTS = ("outdoor", "minimal", "classic", "running", "film", "podcasts", "city_trips", "garden", "tea",
             "shoes", "knitwear", "cycling", "yoga", "cooking")  # fmt: skip
AIRPORTS = ("MAD", "BCN", "LIS", "CPH", "OSL", "FRA", "MUC", "AMS", "CDG", "LHR", "JFK", "SIN")
CATEGORIES = ("Knitwear", "Shoes", "Outdoor", "Denim", "Belts", "Dresses", "Shirts", "Bags")
WORKOUT_KINDS = ("walk", "run", "bike", "yoga", "swim", "strength")
PROGRAMS = ("Walk Strong", "Couch to 5k", "Daily yoga", "Core in 10")
REASONS = ("port busy", "timeout", "no free port", "address mismatch")

NUMBER_RANGES: dict[str, tuple[float, float]] = {
    "amount": (15, 2500), "fare": (40, 900), "total": (8, 400), "ltv": (0, 6000), "monthly_fee": (20, 90),
    "budget": (40, 300), "balance": (-300, 200), "minutes": (3, 75), "daily_goal_min": (5, 45),
    "rating": (1, 5), "items": (1, 8), "days_inactive": (20, 240), "roof_area_m2": (6, 90),
    "speed_mbps": (100, 1000), "days": (1, 30), "streak_days": (0, 20), "coach_nudges": (0, 3),
    "rides_booked": (0, 6), "feedback_count": (0, 12), "checkin_lead": (3 * 3600, 48 * 3600),
}  # fmt: skip
INTEGER_FIELDS = ("rating", "items", "days_inactive", "minutes", "daily_goal_min", "days", "streak_days",
                  "coach_nudges", "rides_booked", "feedback_count", "speed_mbps", "roof_area_m2",
                  "checkin_lead")  # fmt: skip


# ------------------------------------------------------------------------------------------ models


@dataclass
class JourneyModel:
    """What one journey listens for, read once from the IR: its flows, exits and goals."""

    name: str
    schema: Schema
    entry: str
    key_field: str | None  # `key event.cart_id` -> "cart_id"
    entry_step: str | None
    flows: dict[str, Flow]  # step name -> its flow
    exits: tuple[str, ...] = ()  # exit event types
    goals: tuple[tuple[str, int], ...] = ()  # (goal event type, `within` in seconds)
    profile_used: tuple[str, ...] = ()  # profile fields the journey reads or sets
    admits: Admission | None = None  # the entry's `where` and the `audience`, as the engine evaluates them


class Admission:
    """Whether an entry event and a profile let a customer into a journey: its entry `where` and its `audience`.

    Both are compiled as the bundle compiles them and evaluated by the runtime's own closures, with the values
    as the engine sees them (timestamps as epoch seconds), so a drawn entry event enters the journey when it runs.
    """

    def __init__(self, checks: list[Any], timestamps: frozenset[str]) -> None:
        self.checks = checks
        self.timestamps = timestamps  # field names (profile and event) that hold timestamps

    @classmethod
    def of(cls, journey: Journey, schema: Schema) -> Admission | None:
        from journeydsl.compile.expr import serialize
        from journeydsl.runtime.expr import compile_expr

        conditions = [journey.entry.where if journey.entry else None, journey.audience]
        try:
            checks = [compile_expr(serialize(expr)) for expr in conditions if expr is not None]
        except Exception:  # noqa: BLE001 - an expression the checker would refuse: draw without it
            return None
        if not checks:
            return None
        fields_ = [*schema.profile, *(f for event in schema.events for f in event.fields)]
        return cls(checks, frozenset(f.name for f in fields_ if f.type.name == "timestamp"))

    def admits(self, profile: Mapping[str, Any], event: Event, at: float) -> bool:
        from journeydsl.runtime.expr import Scope, truthy

        context = {**self._seen(event["data"]), "id": event["id"], "type": event["type"], "at": at}
        scope = Scope(self._seen(profile), context, None, at)
        try:
            return all(truthy(check(scope)) for check in self.checks)
        except Exception:  # noqa: BLE001 - an expression error at run time (ExprError): not admitted
            return False

    def _seen(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: parse_start(value) if name in self.timestamps and isinstance(value, str) else value
            for name, value in values.items()
        }


@dataclass
class _Customer:
    """Per-customer state while its events are drawn: ids reused across its events (box_id, booking_ref)."""

    number: int
    ids: dict[str, str] = field(default_factory=dict)


def _key_field(journey: Journey) -> str | None:
    key = journey.entry.key if journey.entry else None
    if isinstance(key, Name) and len(key.path) == 2 and key.path[0] == "event":
        return key.path[1]
    return None


def _profile_names(node: Any) -> Iterator[str]:
    """Profile fields a piece of IR reads (`profile.F`) or sets (`set profile.F`)."""
    if isinstance(node, Name):
        if len(node.path) > 1 and node.path[0] == "profile":
            yield node.path[1]
        return
    if isinstance(node, SetProfile):
        yield node.field
    if isinstance(node, tuple):
        for item in node:
            yield from _profile_names(item)
    elif is_dataclass(node) and not isinstance(node, (Span, type)):
        for item in fields(node):
            yield from _profile_names(getattr(node, item.name))


def journey_model(journey: Journey, schema: Schema) -> JourneyModel | None:
    """The walkable shape of a journey; None for a journey with no entry (nothing would start it)."""
    if journey.entry is None:
        return None
    known = {event.name for event in schema.events}
    entry_step = journey.entry_step
    return JourneyModel(
        name=journey.name,
        schema=schema,
        entry=journey.entry.event,
        key_field=_key_field(journey),
        entry_step=entry_step.name if entry_step else None,
        flows={step.name: step.flow for step in journey.steps()},
        exits=tuple(exit_.event for exit_ in journey.exits if exit_.event in known),
        goals=tuple(
            (goal.event, goal.within.seconds if goal.within else 30 * 86400)
            for goal in journey.goals
            if goal.event in known
        ),
        profile_used=tuple(dict.fromkeys(_profile_names(journey))),
        admits=Admission.of(journey, schema),
    )


def models_of(source: Project | Iterable[Journey], schemas: Mapping[str, Schema] | None = None) -> list[JourneyModel]:
    """Journey models from a Project, or from journeys plus the schemas they use."""
    if isinstance(source, Project):
        pairs = [(journey, source.schema_for(journey)) for journey in source.journeys()]
    else:
        found = dict(schemas or {})
        pairs = [(journey, found.get(journey.uses or "")) for journey in source]
    models = [journey_model(journey, schema) for journey, schema in pairs if schema is not None]
    return sorted((m for m in models if m is not None), key=lambda m: m.name)


# ------------------------------------------------------------------------------------------ values


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAYS: dict[int, str] = {}


def _iso(seconds: float) -> str:
    """RFC 3339 in UTC; the date part is cached per day because strftime dominates otherwise."""
    day, rest = divmod(int(seconds), 86400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = (_EPOCH + dt.timedelta(days=day)).strftime("%Y-%m-%d")
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{date}T{hours:02d}:{minutes:02d}:{secs:02d}Z"


def parse_start(text: str) -> float:
    """Epoch seconds of an RFC 3339 time; a ValueError names the expected form."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise ValueError(f"--start must be an RFC 3339 time like {DEFAULT_START}, not {text!r}") from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


Maker = Callable[[_Customer, float], Any]  # (customer, event time) -> a value for one field


class _Makers:
    """One value maker per field, chosen once by the field's name and type; all draws use one seeded Random.

    Choosing the maker once (instead of dispatching on name and type at every draw) is what keeps
    300,000 events well under the benchmark's budget.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rnd = rng.random

    def fields(self, fields: Iterable[FieldDef], in_profile: bool) -> list[tuple[str, Maker]]:
        return [(f.name, self.field(f.name, f.type, in_profile)) for f in fields]

    def field(self, name: str, ref: TypeRef, in_profile: bool) -> Maker:
        base = self.base(name, ref, in_profile)
        if not ref.nullable or name.startswith("consent_"):
            return base
        rnd, missing = self.rnd, (0.2 if in_profile else 0.1)
        return lambda customer, now: None if rnd() < missing else base(customer, now)

    def pick(self, values: Sequence[Any]) -> Maker:
        rnd, size = self.rnd, len(values)
        return lambda customer, now: values[int(rnd() * size)]

    def base(self, name: str, ref: TypeRef, in_profile: bool) -> Maker:
        rnd = self.rnd
        kind = ref.name
        if kind in ("number", "duration"):
            return self.number(name)
        if kind == "string":
            return self.string(name)
        if kind == "bool":  # consents mostly given, integrations mostly succeed
            return lambda customer, now: rnd() < 0.85
        if kind == "timestamp":
            if in_profile:  # profile facts lie in the past: last purchase, last workout
                return lambda customer, now: _iso(now - (1 + 399 * rnd()) * 86400)
            # Event data timestamps are appointments: a departure, an arrival, a move date.
            extra = 3600.0 if "arrive" in name else 0.0
            return lambda customer, now: _iso(now + (2 + 19 * rnd()) * 86400 + extra * (1 + 9 * rnd()))
        if kind == "enum":
            return self.pick(ref.members) if ref.members else (lambda customer, now: None)
        if kind == "list":
            item = ref.item or TypeRef("string")
            sample, randint = self.rng.sample, self.rng.randint
            if item.name == "string":
                return lambda customer, now: sample(INTERESTS, randint(0, 3))
            inner = self.base(name, item, in_profile)
            return lambda customer, now: [inner(customer, now) for _ in range(randint(0, 3))]
        return lambda customer, now: None

    def number(self, name: str) -> Maker:
        rnd = self.rnd
        low, high = NUMBER_RANGES.get(name, (0, 100))
        span = high - low
        if name in INTEGER_FIELDS:
            first, count = int(low), int(high) - int(low) + 1
            return lambda customer, now: first + int(rnd() * count)
        if name in ("ltv", "amount", "fare"):  # money is skewed: many small, a few large
            return lambda customer, now: round(low + span * rnd() ** 2.5, 2)
        return lambda customer, now: round(low + span * rnd(), 2)

    def string(self, name: str) -> Maker:
        rnd = self.rnd
        if name.endswith(("_id", "_ref")) or name == "flight_no":
            return self.identifier(name)
        if name == "email":
            return lambda customer, now: f"customer{customer.number}@example.com"
        table: dict[str, Sequence[str]] = {
            "first_name": FIRST_NAMES, "name": FIRST_NAMES, "tz": TIMEZONES, "origin": AIRPORTS,
            "destination": AIRPORTS, "home_airport": AIRPORTS, "category": CATEGORIES, "kind": WORKOUT_KINDS,
            "program": PROGRAMS, "reason": REASONS,
        }  # fmt: skip
        if name in table:
            return self.pick(table[name])
        if name.endswith("_category"):
            return self.pick([c.lower() for c in CATEGORIES])
        if "zip" in name:
            return lambda customer, now: f"{1000 + int(rnd() * 99000):05d}"
        if name == "gate":
            return lambda customer, now: f"{'ABCDE'[int(rnd() * 5)]}{1 + int(rnd() * 40)}"
        if name == "terminal":
            return lambda customer, now: str(1 + int(rnd() * 3))
        if name == "seat":
            return lambda customer, now: f"{1 + int(rnd() * 38)}{'ABCDEF'[int(rnd() * 6)]}"
        return lambda customer, now: f"{name}-{1 + int(rnd() * 999)}"

    def identifier(self, name: str) -> Maker:
        """The same box, cart, booking or flight throughout one customer's events."""
        rnd = self.rnd
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        if name == "flight_no":
            fresh: Callable[[_Customer], str] = lambda customer: f"SK{100 + int(rnd() * 1900)}"  # noqa: E731
        elif name == "booking_ref":
            fresh = lambda customer: "".join(letters[int(rnd() * 32)] for _ in range(6))  # noqa: E731
        else:
            prefix = name.removesuffix("_id").removesuffix("_ref")
            fresh = lambda customer: f"{prefix}-{customer.number}-{1 + int(rnd() * 99)}"  # noqa: E731

        def make(customer: _Customer, now: float) -> str:
            value = customer.ids.get(name)
            if value is None:
                value = customer.ids[name] = fresh(customer)
            return value

        return make


def _fill(makers: list[tuple[str, Maker]], customer: _Customer, now: float) -> dict[str, Any]:
    return {name: make(customer, now) for name, make in makers}


# ------------------------------------------------------------------------------------------ the stream


class _Family:
    """The journeys of one schema, with the value makers of its profile and events built once."""

    def __init__(self, models: list[JourneyModel], makers: _Makers) -> None:
        self.models = models
        self.schema = models[0].schema
        # A profile holds every required field and the optional ones these journeys use: fitting the
        # schema without inventing facts (a roof area for a traveller) that no journey reads.
        used = {name for model in models for name in model.profile_used}
        chosen = [f for f in self.schema.profile if not f.type.nullable or f.name in used]
        self.profile = makers.fields(chosen, in_profile=True)
        self.events: dict[str, list[tuple[str, Maker]]] = {
            event.name: makers.fields(event.fields, in_profile=False) for event in self.schema.events
        }
        self.wrongable: dict[str, list[FieldDef]] = {
            event.name: [f for f in event.fields if f.type.name in ("number", "string", "bool")]
            for event in self.schema.events
        }


class _Generator:
    def __init__(self, models: Sequence[JourneyModel], seed: int, start: float, bad_rate: float) -> None:
        self.rng = random.Random(seed)
        self.rnd = self.rng.random
        self.start = start
        self.bad_rate = bad_rate
        makers = _Makers(self.rng)
        # Customers belong to one schema (an airline's travellers are not a retailer's shoppers);
        # bigger families of journeys get proportionally more customers.
        by_schema: dict[str, list[JourneyModel]] = {}
        for model in models:
            by_schema.setdefault(model.schema.name, []).append(model)
        self.families = [_Family(by_schema[name], makers) for name in sorted(by_schema)]
        total = sum(len(family.models) for family in self.families)
        running = 0.0
        self.family_edges: list[float] = []
        for family in self.families:
            running += len(family.models) / total
            self.family_edges.append(running)

    def _family(self) -> _Family:
        draw = self.rnd()
        for family, edge in zip(self.families, self.family_edges, strict=True):
            if draw < edge:
                return family
        return self.families[-1]

    def customer_events(self, number: int) -> list[tuple[float, Event]]:
        rnd = self.rnd
        family = self._family()
        models = family.models
        customer = _Customer(number)
        customer_id = f"c{number:07d}"
        chosen = [models[int(rnd() * len(models))]]
        if len(models) > 1 and rnd() < 0.35:
            second = models[int(rnd() * len(models))]
            if second is not chosen[0]:
                chosen.append(second)
        drawn: list[tuple[float, Event]] = []
        first_at = self.start + rnd() * ENTRY_SPREAD_DAYS * 86400
        profile = _fill(family.profile, customer, first_at)
        for index, model in enumerate(chosen):
            entered = first_at + index * (1 + 13 * rnd()) * 86400
            entry, profile = self._entry(family, model, customer_id, customer, entered, profile, first=index == 0)
            drawn.append((entered, entry))
            key = entry["data"].get(model.key_field) if model.key_field else None
            for at, event in self._walk(family, model, customer_id, customer, entered):
                if key is not None and model.key_field in event["data"]:
                    event["data"][model.key_field] = key
                drawn.append((at, event))
        drawn.sort(key=lambda pair: pair[0])
        # The profile patch rides on the customer's first event, so it is merged before anything happens.
        drawn[0][1]["profile"] = profile
        if self.bad_rate > 0:
            drawn.extend(self._bad_events(drawn, family, customer_id))
        return drawn

    def _entry(
        self,
        family: _Family,
        model: JourneyModel,
        customer_id: str,
        customer: _Customer,
        at: float,
        profile: dict[str, Any],
        first: bool,
    ) -> tuple[Event, dict[str, Any]]:
        """An entry event (and, for the first journey, a profile) that the journey's `where` and `audience` admit.

        Drawn again until they do, up to _ADMIT_TRIES times; a condition no drawn value meets (an exact zip code)
        leaves the last draw, which the engine then turns away like any event that does not qualify.
        """
        event = self._event(family, model.entry, customer_id, customer, at)
        admission = model.admits
        if admission is None:
            return event, profile
        for _ in range(_ADMIT_TRIES):
            if admission.admits(profile, {**event, "id": "e"}, at):
                break
            event = self._event(family, model.entry, customer_id, customer, at)
            if first:  # a later journey's entry must fit the profile the customer already has
                profile = _fill(family.profile, customer, at)
        return event, profile

    def _walk(
        self, family: _Family, model: JourneyModel, customer_id: str, customer: _Customer, entered: float
    ) -> list[Timed]:
        """Follow the journey as a customer might: at each `wait`, an arm's event, the timeout or an exit.

        Event times fall inside the wait's timeout (or hours to days without one), so the stream
        exercises both the event arms and the timers; `choose` and experiments are guessed at
        random, which only decides what the customer is likely to do next: the engine decides
        where the instance really goes.
        """
        rnd = self.rnd
        out: list[Timed] = []
        at = entered
        step = model.entry_step
        for _ in range(_MAX_WALK_STEPS):
            flow = model.flows.get(step) if step else None
            if flow is None or isinstance(flow, End) or len(out) >= _MAX_FOLLOW_UPS:
                break
            if isinstance(flow, Goto):
                step = flow.target.name
            elif isinstance(flow, Sleep):
                at += flow.duration.seconds
                step = flow.target.name
            elif isinstance(flow, (Choose, Experiment)):
                targets = flow_targets(flow)
                step = targets[int(rnd() * len(targets))].name
            elif isinstance(flow, Wait):
                timeout = flow.timeout
                limit = timeout.after.seconds if timeout and timeout.after else None
                draw = rnd()
                if draw < _EXIT_SHARE and model.exits:
                    at += self._gap(limit)
                    exit_type = model.exits[int(rnd() * len(model.exits))]
                    out.append((at, self._event(family, exit_type, customer_id, customer, at)))
                    break
                if draw < _EXIT_SHARE + _TIMEOUT_SHARE or not flow.arms:
                    if timeout is None:
                        break  # a customer who never acts; the checker warns about such waits
                    at += limit if limit is not None else 86400
                    step = timeout.target.name
                    continue
                arm = flow.arms[int(rnd() * len(flow.arms))]
                at += self._gap(limit)
                out.append((at, self._event(family, arm.event, customer_id, customer, at)))
                step = arm.target.name
        # Some goals happen off the journey's path (a purchase in the shop): now and then, one inside `within`.
        produced = {event["type"] for _, event in out}
        for goal_event, within in model.goals:
            if goal_event not in produced and rnd() < _OFF_PATH_GOAL_SHARE:
                when = entered + 600 + rnd() * within
                out.append((when, self._event(family, goal_event, customer_id, customer, when)))
        return out

    def _gap(self, limit: int | None) -> float:
        if limit is not None:  # inside the timeout, so the event arm wins
            return limit * (0.05 + 0.9 * self.rnd())
        # Log-uniform: most reactions come within hours, some after days.
        return math.exp(_LOG_MIN_GAP + self.rnd() * _LOG_GAP_SPAN)

    def _event(self, family: _Family, event_type: str, customer_id: str, customer: _Customer, at: float) -> Event:
        makers = family.events.get(event_type, [])
        # `id` and `at` are filled in once the whole stream is drawn; the keys are in SPEC 8.1 order.
        return {"id": "", "type": event_type, "customer_id": customer_id, "at": "", "data": _fill(makers, customer, at)}

    def _bad_events(
        self, drawn: list[tuple[float, Event]], family: _Family, customer_id: str
    ) -> list[tuple[float, Event]]:
        rnd = self.rnd
        bad: list[tuple[float, Event]] = []
        for at, event in list(drawn):
            if rnd() >= self.bad_rate:
                continue
            when = at + 1 + rnd() * 3600
            typed = family.wrongable.get(event["type"], [])
            if typed and rnd() < 0.5:
                target = typed[int(rnd() * len(typed))]
                wrong: Any = "not-a-number" if target.type.name == "number" else 42
                data = dict(event["data"], **{target.name: wrong})
                bad.append(
                    (when, {"id": "", "type": event["type"], "customer_id": customer_id, "at": "", "data": data})
                )
            else:
                kind = UNKNOWN_TYPES[int(rnd() * len(UNKNOWN_TYPES))]
                data = {"source": "legacy-sdk"}
                bad.append((when, {"id": "", "type": kind, "customer_id": customer_id, "at": "", "data": data}))
        return bad


def _as_project(source: Project | str | Path | Sequence[str | Path] | Iterable[Journey]) -> Project | list[Journey]:
    if isinstance(source, Project):
        return source
    if isinstance(source, (str, Path)):
        return load_project([source])
    items = list(source)
    if items and all(isinstance(item, (str, Path)) for item in items):
        return load_project(items)  # type: ignore[arg-type]
    return [item for item in items if isinstance(item, Journey)]


def generate_events(
    project_or_journeys: Project | str | Path | Sequence[str | Path] | Iterable[Journey],
    customers: int,
    seed: int,
    start: str = DEFAULT_START,
    *,
    schemas: Mapping[str, Schema] | None = None,
    bad_rate: float = DEFAULT_BAD_RATE,
) -> Iterator[Event]:
    """SPEC 8.1 event dicts for `customers` customers, sorted by `at` (ties by `id`), ids unique.

    `project_or_journeys`: a loaded Project, a path or paths to load, or Journey IR nodes together
    with `schemas` (name -> Schema). Raises ValueError for a bad `start` or when no journey has a
    schema to draw from.
    """
    source = _as_project(project_or_journeys)
    models = models_of(source, schemas)
    if not models:
        raise ValueError("no journey with an entry and a known schema to draw events from")
    generator = _Generator(models, seed, parse_start(start), bad_rate)
    drawn: list[tuple[int, Event]] = []
    for number in range(1, customers + 1):
        for at, event in generator.customer_events(number):
            drawn.append((int(at), event))
    # Ids follow the order the events were drawn in, so they are unique and stable for a seed;
    # zero-padded, so sorting the strings sorts the numbers.
    width = max(7, len(str(len(drawn))))
    for index, (at, event) in enumerate(drawn):
        event["id"] = f"e{seed}-{index:0{width}d}"
        event["at"] = _iso(at)
    drawn.sort(key=lambda pair: (pair[0], pair[1]["id"]))
    for _, event in drawn:
        yield event


# ------------------------------------------------------------------------------------------ CLI


def _dumper() -> Callable[[Event], str]:
    try:
        import orjson
    except ImportError:  # orjson is a dependency, but the generator must not need it
        return lambda event: json.dumps(event, separators=(",", ":"))
    return lambda event: orjson.dumps(event).decode()


def write_jsonl(events: Iterable[Event], out: TextIO) -> int:
    dump = _dumper()
    count = 0
    lines: list[str] = []
    for event in events:
        lines.append(dump(event))
        count += 1
        if len(lines) >= 10_000:
            out.write("\n".join(lines) + "\n")
            lines.clear()
    if lines:
        out.write("\n".join(lines) + "\n")
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m journeydsl.testing.synth",
        description="Write a deterministic synthetic event stream (JSON lines, SPEC 8.1) for the journeys in PATHS.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATHS", help="journey files or folders")
    parser.add_argument("--customers", type=int, default=1000, help="number of customers (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--start", default=DEFAULT_START, help=f"RFC 3339 time of the first entries ({DEFAULT_START})")
    parser.add_argument("--bad-rate", type=float, default=DEFAULT_BAD_RATE, help="share of extra bad events (0.02)")
    parser.add_argument("-o", "--output", help="output file (default: standard output)")
    args = parser.parse_args(argv)
    if args.customers < 0 or not 0 <= args.bad_rate < 1:
        parser.error("--customers must be >= 0 and --bad-rate in [0, 1)")
    try:
        parse_start(args.start)
    except ValueError as err:
        parser.error(str(err))
    project = load_project(args.paths)
    errors = errors_in(project.diagnostics)
    if errors:
        from journeydsl.diagnostics.render import render_text

        print(render_text(errors, project.sources), file=sys.stderr)
    if errors:
        print("synth: fix the journey files first (journeydsl check shows the details)", file=sys.stderr)
        return 1
    started = time.perf_counter()
    try:
        events = generate_events(project, args.customers, args.seed, args.start, bad_rate=args.bad_rate)
        if args.output:
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            with open(args.output, "w", encoding="utf-8") as out:
                count = write_jsonl(events, out)
        else:
            count = write_jsonl(events, sys.stdout)
    except ValueError as err:
        print(f"synth: {err}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    print(f"synth: {count} events for {args.customers} customers in {seconds:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
