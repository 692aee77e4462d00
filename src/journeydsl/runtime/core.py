"""The step core: the journey semantics for ONE customer, with no store, no clock and no stream around it.

`step(state, event_or_timer, core, clock)` is the whole contract: the customer's state before, one event (or the
customer's due timers), and the stream's clock; the state after (changed in place and returned), the records in
order, the customer's next due time and the transitions taken. `journeydsl run` (engine.Engine), `serve`, the
scenario runner and the Flink job all drive this one core, so they give byte-identical records. What lies around
it is the driver's: which customer an input belongs to, seen event ids, the stream clock, the order timers of
different customers fire in (due time, then customer id), commits.

Per customer the state is one small JSON-able dict:
    {"p": profile, "i": {instance slot: instance}, "c": {"journey|channel": [send times]}}
and an instance is a list laid out in `state.py` (journey, version, key, entry number, active,
step, entered at, timer, record sequence, current event, variant, variants, goals, since).
The slot is the journey id, or "journey|key" for keyed journeys; an ended instance stays in its
slot (for `reentry` and late goals) until the next entry replaces it.

Time is event time only: `now` is the event's `at` or a timer's due time, never the wall clock, so
the same input gives the same records (and the same idempotency keys) on every run.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from journeydsl.runtime import state as S
from journeydsl.runtime.expr import ExprError, PlanError, Scope, truthy
from journeydsl.runtime.plan import CHOOSE, END, EXPERIMENT, GOTO, SLEEP, WAIT, Goal, Plan, Policy, Step
from journeydsl.runtime.state import next_due as next_due  # re-exported: engine and Flink job import it
from journeydsl.runtime.store import Transition
from journeydsl.runtime.templates import RenderError, Templates, split_subject
from journeydsl.runtime.timeparse import (
    TimeError,
    format_time,
    in_range,
    parse_rfc3339,
    quiet_end,
    zone,
)
from journeydsl.runtime.validate import Validator, is_number

STEP_LIMIT: Final = 1000  # steps one instance may take within one event before the engine stops it
EMIT_LIMIT: Final = 1000  # emitted events one input event may cause (the checker forbids emit loops)
OFFER_LIMIT: Final = 1000  # sends of one customer that may wait for a contact policy's settle time at once

Customer = dict[str, Any]
# What `Core.check` makes of a valid event: (customer id, event type, the event's context, its profile patch)
Checked = tuple[str, str, dict[str, Any], dict[str, Any] | None]


@dataclass(slots=True)
class Event:
    """A customer event (SPEC 8.1); `at` is RFC 3339 text."""

    id: str
    type: str
    customer_id: str
    at: str
    data: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "customer_id": self.customer_id,
            "at": self.at,
            "data": dict(self.data),
        }
        if self.profile is not None:
            event["profile"] = dict(self.profile)
        return event


@dataclass(frozen=True, slots=True)
class Timer:
    """The input that fires a customer's timers due at or before `due` (epoch seconds)."""

    customer_id: str
    due: float


@dataclass(slots=True)
class StepResult:
    state: Customer  # the customer's state after the step (the same dict, changed in place)
    records: list[dict[str, Any]]
    next_due: float | None  # the customer's earliest pending timer, None when it has none
    transitions: list[Transition]
    profile_changed: bool
    dead: str | None = None  # why the event was refused (a dead letter: the state is as before), or None


class EngineError(Exception):
    """The bundle cannot be run (malformed plan, unknown store)."""


def assign_bucket(journey: str, experiment: str, customer_id: str) -> int:
    """The experiment bucket 0-99: sha256 of "journey\\nexperiment\\ncustomer", first 8 bytes, mod 100."""
    digest = hashlib.sha256(f"{journey}\n{experiment}\n{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def new_customer() -> Customer:
    return {"p": {}, "i": {}, "c": {}}


def _policies(latest: Iterable[Plan]) -> dict[str, Policy]:
    """The contact policy of each schema, from the latest plans of its journeys: they must agree (a bundle built
    from one project does), or which one a send obeys would depend on the journey."""
    found: dict[str, tuple[Policy | None, list[str]]] = {}
    differ: set[str] = set()
    for plan in latest:
        if plan.schema_name is None:
            continue
        seen = found.get(plan.schema_name)
        if seen is None:
            found[plan.schema_name] = (plan.own_policy, [plan.journey])
            continue
        seen[1].append(plan.journey)
        if (seen[0].raw if seen[0] is not None else None) != (
            plan.own_policy.raw if plan.own_policy is not None else None
        ):
            differ.add(plan.schema_name)
    if differ:
        named = "; ".join(f"schema {name}: {', '.join(sorted(found[name][1]))}" for name in sorted(differ))
        raise EngineError(
            f"the latest plans of one schema carry different contact policies ({named}): build the journeys of a "
            "schema together so that they share one policy"
        )
    return {name: policy for name, (policy, _) in found.items() if policy is not None}


def step(
    state: Customer | None, item: Mapping[str, Any] | Event | Timer, core: Core, clock: float | None
) -> StepResult:
    """One event, or one customer's due timers, through the core.

    `state`: the customer's state (None: a customer not seen before); `item`: an event as decoded JSON (or an
    Event), or a Timer; `clock`: the stream's clock (the latest event time reached), the moment a timer that fell
    due earlier fires at. Seen event ids, the stream clock and the order of customers are the caller's. An event
    that is refused (not valid, or one the core fails on) gives `dead` and leaves the state as it was."""
    customer = state if state is not None else new_customer()
    out: list[dict[str, Any]] = []
    core.profile_changed = False
    dead: str | None = None
    if isinstance(item, Timer):
        core.fire(item.customer_id, customer, item.due, clock, out)
    else:
        before = len(core.dead_letters)
        checked = core.check(item)
        if checked is None:
            dead = str(core.dead_letters.pop()["reason"]) if len(core.dead_letters) > before else "refused"
        else:
            cid, event_type, context, patch = checked
            dead = core.handle_event(cid, customer, event_type, context, patch, out)
            del core.dead_letters[before:]  # emit loops: the event's own records say enough to a step's caller
    transitions = core.take_transitions()
    return StepResult(customer, out, next_due(customer), transitions, core.profile_changed, dead)


class Core:
    """The compiled plans of a bundle and the semantics that run them, one customer at a time."""

    def __init__(
        self,
        bundle: Any,
        recorded_plans: Mapping[tuple[str, int], dict[str, Any]] | None = None,
        force: Mapping[str, str] | None = None,
        step_limit: int = STEP_LIMIT,
        keep_transitions: bool = True,
    ) -> None:
        """bundle: a loaded Bundle (its `plans`, `index` and `templates`); recorded_plans: the plans a store ran
        before (the step names of versions this bundle no longer carries, for migrations)."""
        self.step_limit = step_limit
        self.keep_transitions = keep_transitions
        self.force: dict[str, str] = dict(force or {})
        self.force_by_customer: dict[str, dict[str, str]] = {}
        self.dead_letters: list[dict[str, Any]] = []
        self.profile_changed = False
        try:
            self.plans: dict[tuple[str, int], Plan] = {
                (str(j), int(v)): Plan(raw) for (j, v), raw in sorted(bundle.plans.items())
            }
        except PlanError as err:
            raise EngineError(f"the bundle holds a plan the runtime cannot run: {err}") from err
        latest: dict[str, int] = dict((bundle.index or {}).get("latest") or {})
        for journey, version in self.plans:
            if journey not in latest or (journey, latest[journey]) not in self.plans:
                latest[journey] = max(version, latest.get(journey, 0))
        self.latest: dict[str, Plan] = {
            j: self.plans[(j, v)] for j, v in sorted(latest.items()) if (j, v) in self.plans
        }
        self.policies: dict[str, Policy] = _policies(self.latest.values())
        for plan in self.plans.values():
            policy = self.policies.get(plan.schema_name) if plan.schema_name is not None else None
            plan.policy = policy
            plan.rank = policy.rank(plan.journey, plan.experience) if policy is not None else 0
        self.entries: dict[str, list[Plan]] = {}
        for plan in self.latest.values():
            self.entries.setdefault(plan.entry_event, []).append(plan)
        # Event types any version reacts to; other (declared) types only merge their profile patch.
        self.listened: frozenset[str] = frozenset({*self.entries, *(t for p in self.plans.values() for t in p.listens)})
        self.validator = Validator(self.plans.values())
        self._types: dict[str, str] = {name: name for name in self.validator.events}
        # An instance keeps its current event for `event.*`: only the declared fields, never what else came along.
        self._fields: dict[str, tuple[str, ...]] = {
            name: tuple(rule[0] for rule in rules) for name, rules in self.validator.events.items()
        }
        self.templates = Templates(getattr(bundle, "templates", {}) or {})
        self._emits: deque[tuple[str, Customer, str, dict[str, Any], float, str, str]] = deque()
        self._trans: list[Transition] = []
        self._sets: list[tuple[str, Any]] = []  # (field, old value) of each `set` since the last `_save`
        # Single-entry caches: consecutive records mostly share one time and one instance, and sends of one event
        # mostly ask the same quiet-hours question.
        self._at_cached = -1.0  # the time `_at_text` formatted last ...
        self._at_cached_text = ""  # ... and its RFC 3339 text
        self._id_cached: S.Instance | None = None  # the instance `_instance_id` named last ...
        self._id_cached_text = ""  # ... and its id
        self._quiet_question: tuple[float, tuple[int, int], Any] | None = None
        self._quiet_answer: float | None = None
        # (journey, old version) -> the latest plan that migrates instances of that version, and the old version's
        # step names (from its plan here, or from the plan the store recorded when it ran it).
        self._migrating: dict[tuple[str, int], Plan] = {
            (plan.journey, old): plan for plan in self.latest.values() for old in plan.migrations if old < plan.version
        }
        recorded = recorded_plans or {}
        self._old_steps: dict[tuple[str, int], list[str]] = {}
        for key in self._migrating:
            if key in self.plans:
                self._old_steps[key] = [step.name for step in self.plans[key].steps]
            elif key in recorded:
                self._old_steps[key] = [str(step.get("name")) for step in recorded[key].get("steps") or []]

    def set_force(self, customer_id: str, variants: Mapping[str, str]) -> None:
        """Pin experiment variants for one customer (scenario tests)."""
        self.force_by_customer[customer_id] = dict(variants)

    def take_transitions(self) -> list[Transition]:
        taken = self._trans
        if taken:
            self._trans = []
        return taken

    def migrates(self, inst: S.Instance) -> bool:
        """Whether a migration of this bundle moves the instance on (so its version may be missing here)."""
        return self._migration_for(inst) is not None

    # ------------------------------------------------------------------ the two inputs

    def handle_event(
        self,
        cid: str,
        customer: Customer,
        event_type: str,
        context: dict[str, Any],
        patch: dict[str, Any] | None,
        out: list[dict[str, Any]],
    ) -> str | None:
        """One checked event for its customer: None when handled, or why it failed (the customer is then put back
        as it was and the event's records are dropped: a dead letter)."""
        saved = _save(customer, bool(patch))
        self._sets.clear()
        done, trans_done = len(out), len(self._trans)
        try:
            if patch:
                customer["p"].update(patch)
                self.profile_changed = True
            if event_type in self.listened:
                self._handle(cid, customer, event_type, context, context["at"], None, out)
                self._drain_emits(out)
        except Exception as err:  # noqa: BLE001 - a poison event must not stop the stream (SECURITY.md)
            self._undo(customer, saved, out, done, trans_done)
            return f"the engine could not process this event ({type(err).__name__}: {err})"
        return None

    def fire(self, cid: str, customer: Customer, upto: float, floor: float | None, out: list[dict[str, Any]]) -> None:
        """Fire the customer's timers due at or before `upto`, earliest first (ties by slot), each at its due time,
        or at `floor` (the stream's clock) when it fell due before it. A timer that sets another one due by `upto`
        fires that too. The sends waiting under a contact policy are decided at their settle time, after the
        instance timers due at that moment (whose sends then take part)."""
        instances = customer["i"]
        while True:
            slot = ""
            due = 0.0
            found: S.Instance | None = None
            for name, candidate in instances.items():
                timer = candidate[S.TIMER]
                if timer is None or not candidate[S.ACTIVE] or timer > upto:
                    continue
                if found is None or timer < due or (timer == due and name < slot):
                    found, slot, due = candidate, name, timer
            offers = customer["c"].get(S.OFFERS)
            if offers:
                settles = upto
                schema: str | None = None
                for offer in offers:
                    when = offer[S.OFFER_DUE]
                    if when < settles or (when == settles and (schema is None or offer[S.OFFER_SCHEMA] < schema)):
                        settles, schema = when, offer[S.OFFER_SCHEMA]
                if schema is not None and (found is None or settles < due):
                    self._decide(customer, schema, settles, out)
                    continue
            if found is None:
                return
            inst = found
            inst[S.TIMER] = None
            now = due if floor is None or due >= floor else floor
            if self._migrating and (inst[S.JOURNEY], inst[S.VERSION]) in self._migrating:
                if self._migrate(cid, customer, slot, inst, now, out):
                    continue  # the new step's own timer (re-planned by `_migrate`) decides what happens next
            plan = self.plans.get((inst[S.JOURNEY], inst[S.VERSION]))
            if plan is None:
                self._orphan(cid, inst, now, out)
                continue
            step = plan.steps[inst[S.STEP]]
            if step.timer_to is None:
                continue
            saved = _save(customer, False)
            self._sets.clear()
            done, trans_done = len(out), len(self._trans)
            try:
                self._run(cid, customer, slot, inst, plan, step.timer_to, step.name, now, "timer", out)
                self._drain_emits(out)
            except Exception as err:  # noqa: BLE001 - the instance cannot go on; the stream must (SECURITY.md)
                self._undo(customer, saved, out, done, trans_done)
                reason = f"the engine failed at this timer ({type(err).__name__}: {err})"
                self._fail(cid, inst, step.name, now, reason, out)

    def _decide(self, customer: Customer, schema: str, settles: float, out: list[dict[str, Any]]) -> None:
        """Decide together every send of `schema` waiting under its contact policy and made at or before
        `settles`: per channel, in `_offer_order`, each takes a slot of the shared cap if one is free over the
        window before it (later sends included); otherwise it is suppressed (reason `policy`) or delayed to when a
        slot frees, naming the journey that holds the slot (`held_by`). The order is a function of the offers
        alone, so the winner never depends on the order their events came in."""
        caps = customer["c"]
        taken: list[S.Offer] = []
        rest: list[S.Offer] = []
        for offer in caps[S.OFFERS]:
            if offer[S.OFFER_SCHEMA] == schema and offer[S.OFFER_AT] <= settles:
                taken.append(offer)
            else:
                rest.append(offer)
        if rest:
            caps[S.OFFERS] = rest
        else:
            del caps[S.OFFERS]
        taken.sort(key=_offer_order)
        policy = self.policies.get(schema)
        earliest = min(offer[S.OFFER_AT] for offer in taken)
        pruned: set[str] = set()
        for offer in taken:
            record: dict[str, Any] = offer[S.OFFER_RECORD]
            channel: str = offer[S.OFFER_CHANNEL]
            cap = policy.caps.get(channel) if policy is not None else None
            if policy is None or cap is None:  # a bundle without that policy now: the send goes out as made
                out.append(record)
                continue
            limit, per = cap
            slot = policy.slots[channel]
            sends: list[list[Any]] = caps.get(slot) or []
            if slot not in pruned:  # what no send decided from now on counts (later ones lie after `earliest`)
                pruned.add(slot)
                sends = [pair for pair in sends if pair[0] > earliest - per]
            at: float = offer[S.OFFER_AT]
            journey: str = offer[S.OFFER_JOURNEY]
            counted = [pair for pair in sends if pair[0] > at - per]
            if len(counted) < limit:
                caps[slot] = _booked(sends, at, journey)
                out.append(record)
                continue
            holder = counted[-1][1] if counted else None  # the latest counted send took the last slot
            later = self._slot_frees(record, customer["p"], policy, counted, limit, per) if policy.delay else None
            own = offer[S.OFFER_CAP]
            own_times = caps.get(own) if own is not None else None
            if later is not None:
                record["status"] = "delayed"
                record["at"] = self._at_text(later)
                record["held_by"] = holder
                caps[slot] = _booked(sends, later, journey)
            else:
                record["status"] = "suppressed"
                for name in ("subject", "body", "cost"):
                    record.pop(name, None)
                record["reason"] = "policy"
                record["held_by"] = holder
                caps[slot] = sends
            if own is not None and own_times and at in own_times:  # the journey's own cap counted it when it ran
                index = own_times.index(at)
                kept = own_times[:index] + own_times[index + 1 :]
                caps[own] = kept + [later] if later is not None else kept
            out.append(record)

    def _slot_frees(
        self,
        record: dict[str, Any],
        profile: dict[str, Any],
        policy: Policy,
        counted: list[list[Any]],
        limit: int,
        per: float,
    ) -> float | None:
        """When a send blocked by `counted` (the shared sends in its window, in time order) may go out: once the
        oldest sends that keep it from a slot leave the window, then past the quiet hours of its journey and of
        the policy (the later end). None when no slot ever frees (a cap of 0) or the time lies past the year
        9999."""
        if limit <= 0:
            return None
        when: float = counted[len(counted) - limit][0] + per
        plan = self.plans.get((record["journey"], record["version"]))
        try:
            later = when
            for quiet in (plan.quiet if plan is not None else None, policy.quiet):
                if quiet is not None:
                    ends = quiet_end(when, quiet[0], quiet[1], zone(profile.get("tz")))
                    if ends is not None and ends > later:
                        later = ends
            format_time(later)
        except TimeError:
            return None
        return later

    def end_orphan(self, cid: str, inst: S.Instance, step: str, now: float, reason: str) -> dict[str, Any]:
        """End an instance on a version the bundle lacks (Engine's allow_orphans): its `end` record."""
        record = self._record("end", cid, inst, step, now)
        record["outcome"] = "orphaned"
        record["reason"] = reason
        self._stop(inst)
        return record

    def as_handled(
        self, cid: str, event_type: str, context: dict[str, Any], patch: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The event as the engine read it, for the store's history: its declared fields only (timestamps as
        epoch seconds), so it replays to the same records and always encodes."""
        data = {name: value for name, value in context.items() if name != "id" and name != "type" and name != "at"}
        handled: dict[str, Any] = {
            "id": context["id"],
            "type": event_type,
            "customer_id": cid,
            "at": self._at_text(context["at"]),
            "data": data,
        }
        if patch:
            handled["profile"] = patch
        return handled

    def _undo(
        self, customer: dict[str, Any], saved: _Saved, out: list[dict[str, Any]], done: int, trans_done: int
    ) -> None:
        """Put a customer back as `_save` found it and drop what the failed work produced."""
        profile, instances, copies, caps = saved
        for inst, copy in copies:
            inst[:] = copy
        if profile is not None:
            customer["p"] = profile
        else:  # only `set` actions changed it: undo them, latest first
            changed = customer["p"]
            sets = self._sets
            for index in range(len(sets) - 1, -1, -1):  # `reversed` of a list field stops mypyc (internal error)
                name, old = sets[index]
                if old is _ABSENT:
                    changed.pop(name, None)
                else:
                    changed[name] = old
        self._sets.clear()
        customer["i"] = instances
        customer["c"] = caps
        del out[done:]
        self._emits.clear()
        del self._trans[trans_done:]
        self._id_cached = None

    def _dead(self, event: Any, reason: str) -> None:
        self.dead_letters.append({"reason": reason, "event": event})

    def check(self, raw: Mapping[str, Any] | Event) -> tuple[str, str, dict[str, Any], dict[str, Any] | None] | None:
        """Validate against the schema; (customer, type, event context, profile patch) or None (dead letter)."""
        # `type(x) is dict` first: decoded JSON is always a dict, and the Mapping check is an ABC check (slow).
        # A dict from here on: the compiled build then uses dict operations, not generic method calls.
        if type(raw) is dict:
            event: dict[str, Any] = raw
        elif isinstance(raw, Event):
            event = raw.as_dict()
        elif isinstance(raw, Mapping):
            event = dict(raw)
        else:
            self._dead(raw, "an event must be a JSON object")
            return None
        event_id = event.get("id")
        event_type = event.get("type")
        customer_id = event.get("customer_id")
        at = event.get("at")
        # One test for the common case (everything present and well-typed); `_header_problem` says what is wrong,
        # checking in a fixed order so that an event with several problems always gets the same reason.
        canonical = self._types.get(event_type) if isinstance(event_type, str) else None
        if not (
            canonical is not None
            and isinstance(event_id, str)
            and event_id
            and isinstance(customer_id, str)
            and customer_id
            and isinstance(at, str)
            and "\x00" not in event_id  # no SQL store holds a NUL in text: refused alike on every store
            and "\x00" not in customer_id
        ):
            self._dead(event, _header_problem(event_id, event_type, customer_id, at))
            return None
        try:
            when = parse_rfc3339(at)
        except TimeError as err:
            self._dead(event, str(err))
            return None
        event_type = canonical  # one shared string per type: instances keep the event, so this saves memory
        data = event.get("data")
        if data is None:
            data = {}
        elif type(data) is not dict and not isinstance(data, Mapping):
            self._dead(event, "`data` must be a JSON object")
            return None
        context = {name: data[name] for name in self._fields[event_type] if name in data}
        reason = self.validator.data(event_type, context)
        if reason is not None:
            self._dead(event, reason)
            return None
        patch = event.get("profile")
        if patch is not None:
            if type(patch) is not dict and not isinstance(patch, Mapping):
                self._dead(event, "`profile` must be a JSON object")
                return None
            patch = dict(patch)
            reason = self.validator.profile_patch(patch)
            if reason is not None:
                self._dead(event, reason)
                return None
        context["id"] = event_id
        context["type"] = event_type
        context["at"] = when
        return customer_id, event_type, context, patch

    def _handle(
        self,
        cid: str,
        customer: dict[str, Any],
        event_type: str,
        event: dict[str, Any],
        now: float,
        exclude: str | None,
        out: list[dict[str, Any]],
    ) -> None:
        """One event for one customer: exits, waits and goals of existing instances, then entries."""
        profile = customer["p"]
        instances = customer["i"]
        # No copy of the items: nothing in this loop adds or removes a slot (entries come after it, emitted
        # events are queued until the input event is done).
        for slot, inst in instances.items():
            if inst[S.JOURNEY] == exclude:
                continue
            if self._migrating and inst[S.ACTIVE] and (inst[S.JOURNEY], inst[S.VERSION]) in self._migrating:
                self._migrate(cid, customer, slot, inst, now, out)
            plan = self.plans.get((inst[S.JOURNEY], inst[S.VERSION]))
            if plan is None:
                if inst[S.ACTIVE]:
                    self._orphan(cid, inst, now, out)
                continue
            if event_type not in plan.listens or now < inst[S.ENTERED]:
                continue  # an event from before this instance began does not concern it (late events, decisions.md)
            key_field = plan.key_field
            if key_field is not None and inst[S.KEY] is not None:
                carried = event.get(key_field)  # an event without the key field (or with null) reaches them all
                if carried is not None and _key_text(carried) != inst[S.KEY]:
                    continue
            goals = plan.goals.get(event_type)  # most events count no goal: then no call
            if inst[S.ACTIVE]:
                exits = plan.exits.get(event_type)
                if exits and self._exit(cid, profile, inst, plan, exits, event_type, event, now, out):
                    if goals:
                        self._goals(cid, profile, inst, plan, goals, event, now, out)
                    continue
                step = plan.steps[inst[S.STEP]]
                arms = step.wait_on.get(event_type) if step.kind == WAIT else None
                if arms and now >= inst[S.SINCE]:  # a late event from before the wait began does not end it
                    scope = Scope(profile, event, inst, now)
                    for guard, target in arms:
                        if guard is None or self._test(guard, scope, cid, inst, step.name, now, out):
                            inst[S.EVENT] = event
                            inst[S.TIMER] = None
                            self._run(cid, customer, slot, inst, plan, target, step.name, now, event_type, out)
                            break
            if goals:
                self._goals(cid, profile, inst, plan, goals, event, now, out)
        for plan in self.entries.get(event_type, ()):
            if plan.journey != exclude:
                self._enter(cid, customer, plan, event_type, event, now, out)

    def _exit(
        self,
        cid: str,
        profile: dict[str, Any],
        inst: S.Instance,
        plan: Plan,
        exits: list[Any],
        event_type: str,
        event: dict[str, Any],
        now: float,
        out: list[dict[str, Any]],
    ) -> bool:
        step_name = plan.steps[inst[S.STEP]].name
        scope = Scope(profile, event, inst, now)
        for where in exits:
            if where is None or self._test(where, scope, cid, inst, step_name, now, out):
                record = self._record("exit", cid, inst, step_name, now)
                record["outcome"] = event_type
                out.append(record)
                self._stop(inst)
                return True
        return False

    def _goals(
        self,
        cid: str,
        profile: dict[str, Any],
        inst: S.Instance,
        plan: Plan,
        goals: list[Goal],
        event: dict[str, Any],
        now: float,
        out: list[dict[str, Any]],
    ) -> None:
        """Count `goals` (the plan's goals on this event's type) that this event meets."""
        step_name = plan.steps[inst[S.STEP]].name
        counted = inst[S.GOALS] or []
        scope = Scope(profile, event, inst, now)
        for name, where, within, value in goals:
            if name in counted or (within is not None and now - inst[S.ENTERED] > within):
                continue
            if where is not None and not self._test(where, scope, cid, inst, step_name, now, out):
                continue
            amount = None
            if value is not None:
                amount = self._eval(value, scope, cid, inst, step_name, now, out)
                if not is_number(amount):
                    amount = None
            counted = [*counted, name]
            inst[S.GOALS] = counted
            record = self._record("goal", cid, inst, step_name, now)
            record["goal"] = name
            record["value"] = amount
            out.append(record)

    def _enter(
        self,
        cid: str,
        customer: dict[str, Any],
        plan: Plan,
        event_type: str,
        event: dict[str, Any],
        now: float,
        out: list[dict[str, Any]],
    ) -> None:
        scope = Scope(customer["p"], event, None, now)
        key: str | None = None
        try:
            if plan.entry_where is not None and not truthy(plan.entry_where(scope)):
                return
            if plan.audience is not None and not truthy(plan.audience(scope)):
                return
            if plan.entry_key is not None:
                key = _key_text(plan.entry_key(scope))
        except ExprError as err:
            out.append(self._entry_error(cid, plan, event, now, f"entry condition failed: {err}"))
            return
        slot = plan.journey if key is None else f"{plan.journey}|{key}"
        instances = customer["i"]
        old = instances.get(slot)
        if old is not None:
            if old[S.ACTIVE] or plan.reentry == "never":
                return
            if plan.reentry == "after" and now - old[S.ENTERED] < plan.reentry_after:
                return
        number = old[S.NUMBER] + 1 if old is not None else 1
        inst = S.new_instance(plan.journey, plan.version, key, number, event)
        instances[slot] = inst
        record = self._record("enter", cid, inst, plan.steps[plan.entry_step].name, now)
        record["event"] = event_type
        out.append(record)
        self._run(cid, customer, slot, inst, plan, plan.entry_step, None, now, event_type, out)

    def _migration_for(self, inst: S.Instance) -> tuple[Plan, int] | None:
        """The plan and step an instance moves to under a `migrate from` of its journey's latest version."""
        key = (inst[S.JOURNEY], inst[S.VERSION])
        plan = self._migrating.get(key)
        names = self._old_steps.get(key)
        step = inst[S.STEP]
        if plan is None or names is None or step is None or not 0 <= step < len(names):
            return None
        target = plan.migrations[inst[S.VERSION]][0].get(names[step])
        return None if target is None else (plan, target)

    def _migrate(
        self, cid: str, customer: dict[str, Any], slot: str, inst: S.Instance, now: float, out: list[dict[str, Any]]
    ) -> bool:
        """Move an instance onto the new version's step its migration names, with a `migrate` record; False when
        no migration applies (a kept step, or a step the migration does not name).

        A waiting target keeps the time the instance began waiting (`since`): its timer is re-planned by the new
        step's rule from then, and fires at once when that moment has passed. Any other target runs from the
        migration's moment, as a step the instance has just reached (decisions.md, "Migrations")."""
        found = self._migration_for(inst)
        if found is None:
            return False
        plan, target = found
        old_version = inst[S.VERSION]
        old_step = self._old_steps[(inst[S.JOURNEY], old_version)][inst[S.STEP]]
        record = self._record("migrate", cid, inst, old_step, now)
        record["from_version"] = old_version
        record["to_version"] = plan.version
        record["to_step"] = plan.steps[target].name
        out.append(record)
        inst[S.VERSION] = plan.version
        inst[S.TIMER] = None
        step = plan.steps[target]
        if step.kind != WAIT and step.kind != SLEEP:
            self._run(cid, customer, slot, inst, plan, target, old_step, now, "migrate", out)
            self._drain_emits(out)
            return True
        inst[S.STEP] = target
        due = self._due(step, inst[S.SINCE], Scope(customer["p"], inst[S.EVENT], inst, now), cid, inst, now, out)
        if due is None:
            return True
        if due <= now and step.timer_to is not None:
            self._run(cid, customer, slot, inst, plan, step.timer_to, step.name, now, "timer", out)
            self._drain_emits(out)
        elif in_range(due):
            self._set_timer(cid, slot, inst, float(due))
        return True

    def _due(
        self, step: Step, since: float, scope: Scope, cid: str, inst: S.Instance, now: float, out: list[dict[str, Any]]
    ) -> Any:
        """When a waiting step's timer fires for an instance waiting on it since `since`, or None (no timer)."""
        if step.timer_after is not None:
            return since + step.timer_after
        if step.timer_at is not None:
            due = self._eval(step.timer_at, scope, cid, inst, step.name, now, out)
            return due if is_number(due) else None
        return since if step.kind == SLEEP else None

    def _set_timer(self, cid: str, slot: str, inst: S.Instance, due: float) -> None:
        # One float object for the instance and the store's index: the compiled build would box `due` once per
        # use, and an active instance's bytes are a target (docs/performance.md).
        shared: Any = due
        inst[S.TIMER] = shared

    def _run(
        self,
        cid: str,
        customer: dict[str, Any],
        slot: str,
        inst: S.Instance,
        plan: Plan,
        step_id: int,
        came_from: str | None,
        now: float,
        via: str | None,
        out: list[dict[str, Any]],
    ) -> None:
        """Run from `step_id` until a wait, a sleep or an end (or the step limit)."""
        steps = plan.steps
        trans = self._trans if self.keep_transitions else None
        profile = customer["p"]
        ident = self._instance_id(cid, inst)
        # One scope for the whole run: the profile (a dict changed in place), the instance's current event
        # and `now` stay the same until the run stops.
        scope = Scope(profile, inst[S.EVENT], inst, now)
        step_limit = self.step_limit
        taken = 0
        while True:
            step = steps[step_id]
            if trans is not None:
                trans.append((plan.journey, plan.version, cid, ident, came_from, step.name, now, via))
            inst[S.STEP] = step_id
            taken += 1
            if taken > step_limit:
                self._fail(cid, inst, step.name, now, f"step limit of {self.step_limit} reached within one event", out)
                return
            if step.actions:
                self._actions(cid, customer, inst, plan, step, scope, now, out)
            kind = step.kind
            if kind == GOTO:
                target = step.to
            elif kind == WAIT or kind == SLEEP:
                inst[S.SINCE] = now
                due = self._due(step, now, scope, cid, inst, now, out)
                if due is not None:
                    if not in_range(due):
                        reason = f"the timer of this step falls outside the years 1..9999 ({due!r} epoch seconds)"
                        self._fail(cid, inst, step.name, now, reason, out)
                        return
                    self._set_timer(cid, slot, inst, float(due))
                return
            elif kind == END:
                record = self._record("end", cid, inst, step.name, now)
                record["outcome"] = step.outcome
                out.append(record)
                self._stop(inst)
                return
            elif kind == CHOOSE:
                target = step.otherwise
                for condition, branch in step.branches:
                    if self._test(condition, scope, cid, inst, step.name, now, out):
                        target = branch
                        break
                if target is None:
                    reason = "no `when` of the choose is true and it has no `otherwise`"
                    self._fail(cid, inst, step.name, now, reason, out)
                    return
            elif kind == EXPERIMENT:
                target = self._assign(cid, inst, plan, step)
            else:  # pragma: no cover - Plan refuses unknown flows
                raise EngineError(f"unknown flow kind {kind}")
            came_from = step.name
            via = None
            step_id = target  # type: ignore[assignment]

    def _assign(self, cid: str, inst: S.Instance, plan: Plan, step: Step) -> int:
        name = step.experiment or ""
        chosen = None
        if self.force or self.force_by_customer:  # scenario tests pin variants; runs never do
            pinned = self.force_by_customer.get(cid)
            forced = (pinned.get(name) if pinned else None) or self.force.get(name)
            if forced is not None:
                chosen = next((v for v in step.variants if v[0] == forced), None)
        if chosen is None:
            chosen = step.by_bucket[assign_bucket(plan.journey, name, cid)]
        variants = inst[S.VARIANTS]
        # A new dict, never changed in place: `_save` keeps the old one by reference.
        inst[S.VARIANTS] = {**variants, name: chosen[0]} if variants else {name: chosen[0]}
        inst[S.VARIANT] = chosen[0]
        return chosen[2]

    def _actions(
        self,
        cid: str,
        customer: dict[str, Any],
        inst: S.Instance,
        plan: Plan,
        step: Step,
        scope: Scope,
        now: float,
        out: list[dict[str, Any]],
    ) -> None:
        for kind, name, extra, args in step.actions:
            try:
                data = {arg: fn(scope) for arg, fn in args} if args else {}
                if kind == "send":
                    self._send(cid, customer, inst, plan, step, name, extra, data, now, out)
                elif kind == "set":
                    value = extra(scope)
                    # Formatted before the profile changes: a time outside years 1..9999 is an error, not a value.
                    shown = format_time(value) if name in plan.timestamp_fields and is_number(value) else value
                    profile = customer["p"]
                    self._sets.append((name, profile.get(name, _ABSENT)))  # for `_undo`
                    profile[name] = value
                    self.profile_changed = True
                    record = self._record("set", cid, inst, step.name, now)
                    record["field"] = name
                    record["value"] = shown
                    out.append(record)
                elif kind == "emit":
                    record = self._record("emit", cid, inst, step.name, now)
                    record["event"] = name
                    record["data"] = data
                    out.append(record)
                    self._emits.append((cid, customer, name, data, now, plan.journey, record["key"]))
                else:
                    record = self._record("call", cid, inst, step.name, now)
                    record["name"] = name
                    record["data"] = data
                    out.append(record)
            except (ExprError, TimeError) as err:
                out.append(self._error(cid, inst, step.name, now, f"{kind} {name}: {err}"))

    def _send(
        self,
        cid: str,
        customer: dict[str, Any],
        inst: S.Instance,
        plan: Plan,
        step: Step,
        channel: str,
        template: str,
        data: dict[str, Any],
        now: float,
        out: list[dict[str, Any]],
    ) -> None:
        profile = customer["p"]
        cost, requires, cap, cap_slot = plan.send_rules(channel)
        status = "sent"
        reason = None
        at = now
        if requires is not None and profile.get(requires) is not True:
            status, reason = "suppressed", "consent"
        elif cap is not None:
            limit, window = cap
            sent = customer["c"].get(cap_slot)
            times = [t for t in sent if t > now - window] if sent else []
            customer["c"][cap_slot] = times
            if len(times) >= limit:
                status, reason = "suppressed", "cap"
        policy = plan.policy
        if status == "sent":
            if plan.quiet is not None:
                ends = self._quiet_end(now, plan.quiet, profile)
                if ends is not None:
                    status, at = "delayed", ends
            if policy is not None and policy.quiet is not None:  # the schema's quiet hours: the later end wins
                ends = self._quiet_end(now, policy.quiet, profile)
                if ends is not None and ends > at:
                    status, at = "delayed", ends
        shared = status != "suppressed" and policy is not None and channel in policy.caps
        offers: list[S.Offer] | None = customer["c"].get(S.OFFERS) if shared else None
        if offers is not None and len(offers) >= OFFER_LIMIT:
            reason = f"more than {OFFER_LIMIT} sends of this customer wait for the contact policy's settle time"
            record = self._error(cid, inst, step.name, now, reason)
            record["channel"] = channel
            record["template"] = template
            out.append(record)
            return
        body = None
        if status != "suppressed":
            try:
                body = self.templates.render(channel, template, data, profile, inst[S.EVENT])
            except RenderError as err:
                record = self._error(cid, inst, step.name, now, str(err))
                record["channel"] = channel
                record["template"] = template
                out.append(record)
                return
            if cap is not None:  # a new list of the exact size: `append` would over-allocate it in every customer
                sent = customer["c"].get(cap_slot)
                customer["c"][cap_slot] = sent + [at] if sent else [at]
        # `_record`'s fields built in one literal with the send's own (sends are most records): adding five keys to
        # `_record`'s dict makes it grow, which measured slower in the compiled build (docs/performance.md).
        seq = inst[S.SEQ]
        inst[S.SEQ] = seq + 1
        ident = self._instance_id(cid, inst)
        name = step.name
        record = {
            "kind": "send",
            "journey": inst[S.JOURNEY],
            "version": inst[S.VERSION],
            "customer_id": cid,
            "instance": ident,
            "step": name,
            "at": self._at_text(at),
            "key": f"{ident}:{name}:{seq}",
            "channel": channel,
            "template": template,
            "status": status,
            "data": data,
        }
        if status == "suppressed":
            record["reason"] = reason
        else:
            subject, text = split_subject(body) if body is not None else (None, "")
            if subject is not None:  # an email template's first line: its subject, apart from its text
                record["subject"] = subject
            record["body"] = text
            record["cost"] = cost
        if shared and policy is not None:
            # Not out yet: the send waits `settle` of event time for the sends it competes with (`_decide`).
            offer = [at + policy.settle, at, plan.rank, inst[S.JOURNEY], policy.schema, channel, None, record]
            if cap is not None:
                offer[S.OFFER_CAP] = cap_slot
            customer["c"][S.OFFERS] = offers + [offer] if offers else [offer]  # a new list: `_undo` keeps the old
            return
        out.append(record)

    def _quiet_end(self, now: float, quiet: tuple[int, int], profile: dict[str, Any]) -> float | None:
        """When the quiet hours `quiet` that `now` lies in end in the customer's zone, or None."""
        question = (now, quiet, profile.get("tz"))
        if question != self._quiet_question:  # sends of one event mostly ask the same: answer once
            self._quiet_answer = quiet_end(now, quiet[0], quiet[1], zone(question[2]))
            self._quiet_question = question  # after the answer: quiet_end may raise (past the year 9999)
        return self._quiet_answer

    def _drain_emits(self, out: list[dict[str, Any]]) -> None:
        emits = self._emits
        handled = 0
        while emits:
            cid, customer, event_type, data, now, source, key = emits.popleft()
            handled += 1
            if handled > EMIT_LIMIT:
                self._dead(
                    {"type": event_type, "customer_id": cid, "source": source},
                    f"more than {EMIT_LIMIT} emitted events within one input event: an emit loop",
                )
                emits.clear()
                return
            context = dict(data)
            context["id"] = f"emit:{key}"
            context["type"] = event_type
            context["at"] = now
            if event_type in self.listened:
                self._handle(cid, customer, event_type, context, now, source, out)

    def _record(self, kind: str, cid: str, inst: S.Instance, step: str, now: float) -> dict[str, Any]:
        """The fields every record has; the caller adds the kind's own (faster than keyword arguments)."""
        seq = inst[S.SEQ]
        inst[S.SEQ] = seq + 1
        ident = self._instance_id(cid, inst)
        return {
            "kind": kind,
            "journey": inst[S.JOURNEY],
            "version": inst[S.VERSION],
            "customer_id": cid,
            "instance": ident,
            "step": step,
            "at": self._at_text(now),
            "key": f"{ident}:{step}:{seq}",
        }

    def _instance_id(self, cid: str, inst: S.Instance) -> str:
        if inst is not self._id_cached:
            self._id_cached = inst
            self._id_cached_text = S.instance_id(cid, inst)
        return self._id_cached_text

    def _at_text(self, when: float) -> str:
        if when != self._at_cached:
            self._at_cached = when
            self._at_cached_text = format_time(when)
        return self._at_cached_text

    def _error(self, cid: str, inst: S.Instance, step: str, now: float, reason: str) -> dict[str, Any]:
        record = self._record("error", cid, inst, step, now)
        record["reason"] = reason
        return record

    def _entry_error(self, cid: str, plan: Plan, event: dict[str, Any], now: float, reason: str) -> dict[str, Any]:
        return {
            "kind": "error",
            "journey": plan.journey,
            "version": plan.version,
            "customer_id": cid,
            "instance": None,
            "step": None,
            "at": format_time(now),
            "key": f"{S.key_part(cid)}/{plan.journey}:entry:{S.key_part(event['id'])}",
            "reason": reason,
        }

    def _stop(self, inst: S.Instance) -> None:
        inst[S.ACTIVE] = 0
        inst[S.TIMER] = None
        inst[S.EVENT] = None  # the current event is only needed while the instance runs

    def _fail(self, cid: str, inst: S.Instance, step: str, now: float, reason: str, out: list[dict[str, Any]]) -> None:
        """An instance that cannot go on: an `error` record, and the instance stops."""
        out.append(self._error(cid, inst, step, now, reason))
        self._stop(inst)

    def _orphan(self, cid: str, inst: S.Instance, now: float, out: list[dict[str, Any]]) -> None:
        reason = f"version {inst[S.VERSION]} of {inst[S.JOURNEY]} is not in this bundle; instance stopped"
        self._fail(cid, inst, "", now, reason, out)

    def _eval(
        self, fn: Any, scope: Scope, cid: str, inst: S.Instance, step: str, now: float, out: list[dict[str, Any]]
    ) -> Any:
        try:
            return fn(scope)
        except ExprError as err:
            out.append(self._error(cid, inst, step, now, str(err)))
            return None

    def _test(
        self, fn: Any, scope: Scope, cid: str, inst: S.Instance, step: str, now: float, out: list[dict[str, Any]]
    ) -> bool:
        return truthy(self._eval(fn, scope, cid, inst, step, now, out))


# A customer as `_save` keeps it: a copy of its profile when a patch will change it (otherwise only `set` actions
# do, and the engine notes each one's old value), its instance slots and cap counts (copies), and each instance with
# a copy of its slots. Nothing below them is changed in place by the engine (variants, goals, events and cap lists
# are replaced, not mutated), so these shallow copies are enough to undo a failed event.
_Saved = tuple[dict[str, Any] | None, dict[str, Any], list[tuple[S.Instance, S.Instance]], dict[str, Any]]
_ABSENT: Final = object()  # a profile field that a `set` added


def _save(customer: dict[str, Any], profile: bool) -> _Saved:
    instances: dict[str, Any] = customer["i"]
    return (
        dict(customer["p"]) if profile else None,
        dict(instances),
        [(inst, inst[:]) for inst in instances.values()],
        dict(customer["c"]),
    )


def _offer_order(offer: S.Offer) -> tuple[str, int, float, str, str, int]:
    """The order sends waiting under a contact policy are decided in: by channel, then priority, send time,
    journey, instance and the record's number in it (the order one step made its sends in). All are fixed when
    the send was made, so no processing order shows."""
    record = offer[S.OFFER_RECORD]
    key: str = record["key"]
    return (
        offer[S.OFFER_CHANNEL],
        offer[S.OFFER_RANK],
        offer[S.OFFER_AT],
        offer[S.OFFER_JOURNEY],
        str(record["instance"]),
        int(key[key.rfind(":") + 1 :]),
    )


def _booked(sends: list[list[Any]], at: float, journey: str) -> list[list[Any]]:
    """`sends` with [at, journey] added after every send at or before `at` (a new list: in time order, so the
    latest counted send is the last one)."""
    index = len(sends)
    while index > 0 and sends[index - 1][0] > at:
        index -= 1
    return sends[:index] + [[at, journey]] + sends[index:]


def _header_problem(event_id: Any, event_type: Any, customer_id: Any, at: Any) -> str:
    """Why an event's id, type, customer or time is unusable (the first problem, in a fixed order)."""
    if not isinstance(event_id, str) or not event_id:
        return "missing or empty `id` (a string)"
    if not isinstance(event_type, str) or not event_type:
        return "missing or empty `type` (a string)"
    if not isinstance(customer_id, str) or not customer_id:
        return "missing or empty `customer_id` (a string)"
    if "\x00" in event_id or "\x00" in customer_id:
        return "`id` and `customer_id` may not hold the NUL character (\\u0000)"
    if not isinstance(at, str):
        return "missing `at` (an RFC 3339 timestamp)"
    try:
        parse_rfc3339(at)
    except TimeError as err:
        return str(err)
    return f"unknown event type {event_type!r}"


def _key_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
