"""The engine: a driver of the step core (core.py) over a store, for a stream of events (SPEC section 8).

The core knows what one event or one timer does to one customer; the engine knows the stream around it: which
customer an event belongs to (loaded from the store on demand), seen event ids, the stream's clock (the latest
event time reached: the timer watermark), the order in which customers' timers fire (due time, then customer id,
from the store's index by due time), dead letters, `--until` and `--max-skew`, and the checks a bundle must pass
against the store before it runs (no orphaned instances, no rollback).

Before an event at time T every timer due at or before T fires first, whichever customer it belongs to, so the
same input gives the same records (and the same idempotency keys) on every run and every store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from journeydsl.runtime import state as S
from journeydsl.runtime.core import (
    EMIT_LIMIT,
    STEP_LIMIT,
    Core,
    Customer,
    EngineError,
    Event,
    assign_bucket,
    new_customer,
    next_due,
)
from journeydsl.runtime.inflight import step_name
from journeydsl.runtime.plan import Plan
from journeydsl.runtime.rollout import latest_versions
from journeydsl.runtime.store import Store, StoreError
from journeydsl.runtime.stores import open_store
from journeydsl.runtime.timeparse import MAX_EPOCH, TimeError, format_time, parse_time

# The names this module had before the step core moved to core.py, for code that imports them from here; the
# step core itself (`step`, `Timer`, `StepResult`) is core.py's and the package's.
# Customers' firings per piece of a long advance (`Engine.advance_chunks`): big enough that a piece's commit and
# write cost little per record, small enough that a piece's records (a few per firing) take little memory.
ADVANCE_CHUNK = 256

__all__ = ["ADVANCE_CHUNK", "EMIT_LIMIT", "STEP_LIMIT", "Engine", "EngineError", "Event", "assign_bucket"]


class Engine:
    def __init__(
        self,
        bundle: Any,
        store: Store,
        force: Mapping[str, str] | None = None,
        step_limit: int = STEP_LIMIT,
        until: str | float | None = None,
        max_skew: float | None = None,
        allow_orphans: bool = False,
        allow_rollback: bool = False,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        """until: events dated after it are dead letters (`run --until`); max_skew: seconds an event may lie ahead
        of the stream's clock (the latest event time the store reached), or of `wall_clock()` when given (`serve`),
        before it is a dead letter.

        A bundle that lacks a version with instances in flight in the store is refused (EngineError) unless
        `allow_orphans`, which ends those instances at once with `end` records saying why; a bundle whose latest
        version of a journey is older than one the store already ran is refused unless `allow_rollback`."""
        self.bundle = bundle
        self.store = store
        try:
            self.until: float | None = None if until is None else parse_time(until)
        except TimeError as err:
            raise EngineError(f"until: {err}") from err
        if max_skew is not None and not 0 <= max_skew <= MAX_EPOCH:
            raise EngineError(f"max_skew must be a number of seconds >= 0, got {max_skew!r}")
        self.max_skew: float | None = max_skew
        self.wall_clock = wall_clock
        self.core = core = Core(
            bundle,
            recorded_plans=store.plans(),
            force=force,
            step_limit=step_limit,
            keep_transitions=store.keeps_transitions,
        )
        self.plans: dict[tuple[str, int], Plan] = core.plans
        self.latest: dict[str, Plan] = core.latest
        self.listened = core.listened
        self.validator = core.validator
        self.templates = core.templates
        self.dead_letters: list[dict[str, Any]] = core.dead_letters
        self.duplicates = 0  # events skipped because their id was seen before
        # No timer of the store is due before this time (the store's lower bound after the last firing, lowered by
        # every save since): an event dated before it fires no timer, without asking the store.
        self._due_floor = -math.inf
        # Stores read from disk are checked customer by customer as they load (the step each instance is on must
        # exist in its version); memory:// holds only what this process's engines wrote.
        self._check_loaded = store.durable
        self.orphaned: list[dict[str, Any]] = []  # the `end` records of instances ended at open (allow_orphans)
        self._refuse_other_steps()
        if not allow_rollback:
            self._refuse_rollback()
        self._settle_orphans(allow_orphans)
        store.record_plans({(j, v): raw for (j, v), raw in bundle.plans.items()})

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        bundle: Any,
        store: str | Store = "memory://",
        public_key: Any = None,
        force: Mapping[str, str] | None = None,
        batch: int | None = None,
        step_limit: int = STEP_LIMIT,
        until: str | float | None = None,
        max_skew: float | None = None,
        wait: float = 0.0,
        allow_orphans: bool = False,
        allow_rollback: bool = False,
        wall_clock: Callable[[], float] | None = None,
    ) -> Engine:
        """bundle: a path (file or folder), a {path: bytes} mapping, or a loaded Bundle. A store given by URL is
        owned by this engine (one process at a time): `wait` seconds for another owner to let go (`math.inf`:
        without bound), then StoreBusyError.

        Raises BundleError (tampered, unsigned with a key, unreadable), StoreError or EngineError."""
        if not hasattr(bundle, "plans"):
            from journeydsl.runtime.bundle import load_bundle

            bundle = load_bundle(str(bundle) if isinstance(bundle, Path) else bundle, public_key=public_key)
        opened = open_store(store, batch=batch, mode="write", wait=wait)
        try:
            return cls(
                bundle,
                opened,
                force=force,
                step_limit=step_limit,
                until=until,
                max_skew=max_skew,
                allow_orphans=allow_orphans,
                allow_rollback=allow_rollback,
                wall_clock=wall_clock,
            )
        except BaseException:
            if opened is not store:
                opened.close()
            raise

    def _refuse_other_steps(self) -> None:
        """A version the store ran with other steps than this bundle's: instances keep their step by position, so
        they would go on at the wrong step. This is a store of another build of the same version number."""
        for key, ran in sorted(self.store.plans().items()):
            plan = self.plans.get(key)
            if plan is None:
                continue
            ran_steps = [str(step.get("name")) for step in ran.get("steps") or [] if isinstance(step, dict)]
            if ran_steps and ran_steps != [step.name for step in plan.steps]:  # no steps recorded: nothing to compare
                raise EngineError(
                    f"the store ran version {key[1]} of {key[0]} with other steps ({', '.join(ran_steps)}) than "
                    f"this bundle's ({', '.join(step.name for step in plan.steps)}): the store does not belong to "
                    "this bundle (a changed journey needs a new version number)"
                )

    def _refuse_rollback(self) -> None:
        """A journey whose latest version here is older than one the store already ran: a rollback, which new
        entries would take, is only done on purpose (`allow_rollback`)."""
        ran = latest_versions(self.store.plans())
        older = [
            f"{journey} v{plan.version} (the store ran v{ran[journey]})"
            for journey, plan in self.latest.items()
            if journey in ran and plan.version < ran[journey]
        ]
        if older:
            raise EngineError(
                f"this bundle rolls back {', '.join(older)}: new entries would start on the older version; "
                "pass --allow-rollback (Engine.open(allow_rollback=True)) if that is what you want"
            )

    def _orphans(self) -> dict[tuple[str, int], list[tuple[str, Customer, S.Instance]]]:
        """The active instances on versions this bundle lacks and no migration moves: one pass over the store, only
        when its count of instances by version names such a version."""
        missing = {key for key, count in self.store.in_flight_versions().items() if count and key not in self.plans}
        found: dict[tuple[str, int], list[tuple[str, Customer, S.Instance]]] = {}
        if not missing:
            return found
        for cid, customer in self.store.scan():
            for inst in customer["i"].values():
                S.upgrade(inst)
                key = (inst[S.JOURNEY], inst[S.VERSION])
                if key in missing and inst[S.ACTIVE] and not self.core.migrates(inst):
                    found.setdefault(key, []).append((cid, customer, inst))
        return found

    def _settle_orphans(self, allow: bool) -> None:
        """Refuse (or, allowed, end) the instances in flight on versions this bundle lacks (a migrating one moves
        to the new version at its next event or timer instead)."""
        orphans = self._orphans()
        if not orphans:
            return
        if not allow:
            named = ", ".join(
                f"{journey} v{version} ({len(found)} in flight)"
                for (journey, version), found in sorted(orphans.items())
            )
            raise EngineError(
                f"this bundle lacks versions that instances in the store are on: {named}; build it with "
                "`--keep PREVIOUS.jbundle` to carry them, declare a migration, or end them on purpose with "
                "`journeydsl run --allow-orphans` (Engine allow_orphans=True)"
            )
        out: list[dict[str, Any]] = []
        now = self.store.clock if self.store.clock is not None else 0.0
        recorded = self.store.plans()
        for (journey, version), found in sorted(orphans.items()):
            for cid, customer, inst in found:
                reason = f"version {version} of {journey} is not in the bundle the runtime was opened with"
                name = step_name(recorded, journey, version, inst[S.STEP])
                out.append(self.core.end_orphan(cid, inst, name, now, reason))
                self._save(cid, customer, False)
        self._finish(out)
        self.orphaned = out

    def prefetch(self, events: Iterable[Any]) -> None:
        """A hint for the store (`Store.prefetch`): the next events, decoded. Of them, those `process` looks up (a
        type some journey listens to, or a profile patch) give the customers and ids to read ahead; the rest, most
        of a whole event stream, need neither. `type` is checked before the set lookup: a list is no set member,
        and `process` names what is wrong with it."""
        listened = self.listened
        looked_up = [
            event
            for event in events
            if type(event) is dict
            and ((type(kind := event.get("type")) is str and kind in listened) or event.get("profile") is not None)
        ]
        self.store.prefetch(
            [cid for event in looked_up if type(cid := event.get("customer_id")) is str],
            [eid for event in looked_up if type(eid := event.get("id")) is str],
        )

    def close(self) -> None:
        self.store.close()

    def set_force(self, customer_id: str, variants: Mapping[str, str]) -> None:
        """Pin experiment variants for one customer (scenario tests)."""
        self.core.set_force(customer_id, variants)

    # ------------------------------------------------------------------ inspection

    def profile(self, customer_id: str) -> dict[str, Any]:
        customer = self.store.load(customer_id)
        return dict(customer["p"]) if customer else {}

    def instances(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's instances (active and last ended), as readable dicts."""
        customer = self.store.load(customer_id)
        if not customer:
            return []
        found = []
        for inst in customer["i"].values():
            plan = self.plans.get((inst[S.JOURNEY], inst[S.VERSION]))
            step = plan.steps[inst[S.STEP]].name if plan and inst[S.STEP] is not None else None
            found.append(
                {
                    "id": S.instance_id(customer_id, inst),
                    "journey": inst[S.JOURNEY],
                    "version": inst[S.VERSION],
                    "key": inst[S.KEY],
                    "active": bool(inst[S.ACTIVE]),
                    "step": step,
                    "entered_at": format_time(inst[S.ENTERED]),
                    "variants": dict(inst[S.VARIANTS] or {}),
                    "goals": list(inst[S.GOALS] or ()),
                }
            )
        return found

    # ------------------------------------------------------------------ the two entry points

    def process(self, event: Mapping[str, Any] | Event) -> list[dict[str, Any]]:
        """Handle one event: fire the timers due up to its time, then the event itself.

        Returns the records produced, in order. A bad event goes to `dead_letters` and returns []."""
        core = self.core
        checked = core.check(event)
        if checked is None:
            return []
        customer_id, event_type, context, patch = checked
        now = context["at"]
        store = self.store
        # Checked before any timer fires: a dead letter advances nothing (one event dated 9999 would fire them all).
        if self.until is not None and now > self.until:
            self._dead(event, f"dated after the run's end (--until {format_time(self.until)})")
            return []
        if self.max_skew is not None:
            reference = self.wall_clock() if self.wall_clock is not None else store.clock
            if reference is not None and now > reference + self.max_skew:
                against = "the wall clock" if self.wall_clock is not None else "the stream's clock"
                self._dead(
                    event,
                    f"dated {format_time(now)}, more than {self.max_skew:g} s ahead of {against} "
                    f"{format_time(reference)} (--max-skew; a sparse replay needs a larger one)",
                )
                return []
        out: list[dict[str, Any]] = []
        if now >= self._due_floor:
            self._fire(now, out)
        elif store.clock is None or now > store.clock:  # no timer due: only the watermark moves (as in _fire)
            store.clock = now
        # An event no journey listens to and without a profile patch changes nothing: it is not kept in the
        # seen ids (a repeat of it has no effect to guard against) and creates no customer state. This is
        # most of a real event stream (page views, app opens), so it costs only the checks and the timers.
        if event_type in self.listened or patch:
            event_id = context["id"]
            if store.seen_before(event_id):
                self.duplicates += 1
                self._finish(out)
                return out
            customer = self._load(customer_id)
            known = customer is not None
            if customer is None:
                customer = new_customer()
            core.profile_changed = False
            reason = core.handle_event(customer_id, customer, event_type, context, patch, out)
            if reason is not None:
                self._dead(event, reason)
            else:
                self._save(customer_id, customer, core.profile_changed or not known)
                store.add_seen(event_id, now)  # only once handled: a dead letter is as if the event had not come
                if store.keeps_events:
                    store.log_event(core.as_handled(customer_id, event_type, context, patch))
        self._finish(out)
        return out

    def advance(self, until: str | float | int) -> list[dict[str, Any]]:
        """Fire every timer due up to `until` (RFC 3339 or epoch seconds), in due order."""
        try:
            when = parse_time(until)
        except TimeError as err:
            raise ValueError(str(err)) from err
        return self.fire_until(when)

    def advance_chunks(self, until: str | float | int, size: int = ADVANCE_CHUNK) -> Iterator[list[dict[str, Any]]]:
        """`advance` in pieces: the records of at most `size` customers' firings at a time, each piece its own unit
        of work (a durable store commits by its batch). The same records in the same order as `advance`, but a
        run's memory stays bounded however many customers wait for a timer (`run --until` past a big store's
        timers would otherwise hold every remaining record in one list and one transaction)."""
        try:
            when = parse_time(until)
        except TimeError as err:
            raise ValueError(str(err)) from err
        return self.fire_chunks(when, size=size)

    def fire_until(self, until: float) -> list[dict[str, Any]]:
        """`advance` to epoch seconds `until`."""
        out: list[dict[str, Any]] = []
        self._fire(until, out)
        self._finish(out)
        return out

    def fire_chunks(self, until: float, size: int = ADVANCE_CHUNK) -> Iterator[list[dict[str, Any]]]:
        """`fire_until` in pieces of at most `size` customers' firings (see `advance_chunks`); yields each piece's
        records, and nothing for a piece that gave none. While timers due by `until` are left, the stream's clock
        stays where it was: it moves to `until` with the last piece."""
        if size < 1:
            raise ValueError(f"a chunk must hold at least one firing, not {size}")
        while True:
            out: list[dict[str, Any]] = []
            done = self._fire(until, out, size)
            self._finish(out)
            if out:
                yield out
            if done:
                return

    @property
    def due_floor(self) -> float:
        """No timer of the store is due before this time: an event dated earlier fires none (the test `process`
        makes before firing)."""
        return self._due_floor

    def _fire(self, until: float, out: list[dict[str, Any]], limit: int | None = None) -> bool:
        """Fire the timers due up to `until`, customer by customer in (due time, customer id) order, then move the
        stream's clock to `until`; with a `limit`, stop after that many customers' firings. True when nothing due
        by `until` is left (the clock moved)."""
        store = self.store
        floor = store.clock
        core = self.core
        fired = 0
        while True:
            if limit is not None and fired >= limit:
                self._due_floor = store.peek_due()
                return False
            due = store.pop_due(until)
            if due is None:
                break
            fired += 1
            cid = due[1]
            customer = self._load(cid)
            if customer is None:
                continue
            core.profile_changed = False
            core.fire(cid, customer, due[0], floor, out)
            store.save(cid, customer, next_due(customer), core.profile_changed)
        if store.clock is None or until > store.clock:
            store.clock = until
        self._due_floor = store.peek_due()
        return True

    def _save(self, cid: str, customer: Customer, profile: bool) -> None:
        due = next_due(customer)
        self.store.save(cid, customer, due, profile)
        if due is not None and due < self._due_floor:
            self._due_floor = due

    def _load(self, cid: str) -> Customer | None:
        customer = self.store.load(cid)
        if customer is not None and self._check_loaded:
            self._check_customer(cid, customer)
        return customer

    def _check_customer(self, cid: str, customer: Customer) -> None:
        """A customer read from disk: instances of an older layout are brought up to date, and each must be on a
        step its version has, or the store is not this bundle's."""
        plans = self.plans
        for inst in customer["i"].values():
            S.upgrade(inst)
            plan = plans.get((inst[S.JOURNEY], inst[S.VERSION]))
            step = inst[S.STEP]
            if plan is not None and step is not None and not 0 <= step < len(plan.steps):
                raise StoreError(
                    f"the store holds instance {S.instance_id(cid, inst)} on step {step}, which version "
                    f"{plan.version} of {plan.journey} does not have ({len(plan.steps)} steps): the store does "
                    "not belong to this bundle"
                )

    def _finish(self, out: list[dict[str, Any]]) -> None:
        store = self.store
        if out:
            store.log_actions(out)
        transitions = self.core.take_transitions()
        if transitions:
            store.log_transitions(transitions)
        store.end_unit()

    def _dead(self, event: Any, reason: str) -> None:
        self.dead_letters.append({"reason": reason, "event": event})
