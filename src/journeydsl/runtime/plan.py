"""A plan.json, loaded for execution: steps as slotted objects, expressions as closures, and the
dispatch tables (event type -> exit rules, goals, wait arms) built once when the engine opens.

The plan is read through the types of `plan_format.py` (the format the compiler writes and plan_schema.py checks
at load), so a field read here that the format does not have is a mypy error. Only the loading reads the dicts;
the engine's hot path reads the slots built here.
"""

from __future__ import annotations

from typing import Any, Final

from journeydsl.runtime import plan_format as pf
from journeydsl.runtime.expr import Fn, PlanError, compile_expr, compile_optional

# Flow kinds; `Final` so that the compiled build (docs/decisions.md) reads them as constants.
GOTO: Final = 0
SLEEP: Final = 1
WAIT: Final = 2
CHOOSE: Final = 3
EXPERIMENT: Final = 4
END: Final = 5
FLOW_KINDS = {"goto": GOTO, "sleep": SLEEP, "wait": WAIT, "choose": CHOOSE, "experiment": EXPERIMENT, "end": END}

# Actions: (kind, name, extra, args); name is the channel, field, event or call name; extra is the
# template of a send or the value closure of a set; args is [(name, closure), ...].
Action = tuple[str, str, Any, list[tuple[str, Fn]]]


class Step:
    __slots__ = (
        "id",
        "name",
        "stage",
        "actions",
        "kind",
        "to",
        "wait_on",
        "timer_after",
        "timer_at",
        "timer_to",
        "branches",
        "otherwise",
        "experiment",
        "variants",
        "by_bucket",
        "outcome",
    )

    def __init__(self, raw: pf.StepJson) -> None:
        self.id: int = int(raw["id"])
        self.name: str = str(raw["name"])
        self.stage: str | None = raw.get("stage")
        self.actions: list[Action] = [_action(action) for action in raw.get("actions", [])]
        flow = raw["flow"]
        kind = FLOW_KINDS.get(flow.get("kind"))
        if kind is None:
            raise PlanError(f"step {self.name}: unknown flow kind {flow.get('kind')!r}")
        self.kind = kind
        self.to: int | None = None
        self.wait_on: dict[str, list[tuple[Fn | None, int]]] = {}
        self.timer_after: float | None = None
        self.timer_at: Fn | None = None
        self.timer_to: int | None = None
        self.branches: list[tuple[Fn, int]] = []
        self.otherwise: int | None = None
        self.experiment: str | None = None
        self.variants: list[tuple[str, int, int]] = []  # (name, cumulative weight, target)
        self.by_bucket: list[tuple[str, int, int]] = []  # bucket 0-99 -> its variant
        self.outcome: str | None = None
        if flow["kind"] == "goto":
            self.to = int(flow["to"])
        elif flow["kind"] == "sleep":
            self.to = int(flow["to"])
            self.timer_after = float(flow["after_s"])
            self.timer_to = int(flow["to"])
        elif flow["kind"] == "wait":
            # Only `on` is read: its arms by event type, in the order they are tried (`order` is for readers of
            # the source order, the report's diagrams).
            for event_type, arms in (flow.get("on") or {}).items():
                self.wait_on[event_type] = [(compile_optional(arm[0]), int(arm[1])) for arm in arms]
            timeout = flow.get("timeout")
            if timeout:
                self.timer_to = int(timeout["to"])
                if "after_s" in timeout:
                    self.timer_after = float(timeout["after_s"])
                elif "at" in timeout:
                    self.timer_at = compile_expr(timeout["at"])
        elif flow["kind"] == "choose":
            self.branches = [(compile_expr(branch[0]), int(branch[1])) for branch in flow.get("branches", [])]
            self.otherwise = flow.get("otherwise")
        elif flow["kind"] == "experiment":
            self.experiment = str(flow["name"])
            total = 0
            for variant in flow.get("variants", []):
                total += int(variant["weight"])
                name = "control" if variant.get("control") and not variant.get("name") else str(variant["name"])
                self.variants.append((name, total, int(variant["to"])))
            if not self.variants:
                raise PlanError(f"step {self.name}: an experiment without variants")
            self.by_bucket = [next((v for v in self.variants if b < v[1]), self.variants[-1]) for b in range(100)]
        elif flow["kind"] == "end":
            self.outcome = flow.get("outcome")


def _args(raw: pf.Args | None) -> list[tuple[str, Fn]]:
    return [(str(name), compile_expr(expr)) for name, expr in (raw or {}).items()]


def _action(raw: pf.Action) -> Action:
    if raw["kind"] == "send":
        return ("send", str(raw["channel"]), str(raw["template"]), _args(raw.get("args")))
    if raw["kind"] == "set":
        return ("set", str(raw["field"]), compile_expr(raw["value"]), [])
    if raw["kind"] == "emit":
        return ("emit", str(raw["event"]), None, _args(raw.get("args")))
    if raw["kind"] == "call":
        return ("call", str(raw["name"]), None, _args(raw.get("args")))
    raise PlanError(f"unknown action kind {raw.get('kind')!r}")


Goal = tuple[str, Fn | None, float | None, Fn | None]  # (name, where, within seconds, value)


class Policy:
    """A schema's contact policy (issue 19), read once: the shared caps with their slot keys in the customer's
    cap counts (`@schema|channel`, apart from every journey's `journey|channel`), the priority as ranks, the quiet
    hours of every journey, and how long a send waits for its competitors (`settle`)."""

    __slots__ = ("schema", "raw", "caps", "slots", "kind", "ranks", "quiet", "settle", "delay")

    def __init__(self, schema: str, raw: pf.PolicyJson) -> None:
        self.schema = schema
        self.raw = raw  # compared across the journeys of the schema (one policy per schema)
        self.caps: dict[str, tuple[int, float]] = {
            channel: (int(cap["max"]), float(cap["per_s"])) for channel, cap in (raw.get("caps") or {}).items()
        }
        self.slots: dict[str, str] = {channel: f"@{schema}|{channel}" for channel in self.caps}
        priority = raw.get("priority")
        self.kind: str = str(priority["kind"]) if priority else "journeys"
        names = [str(name) for name in priority["names"]] if priority else []
        self.ranks: dict[str, int] = {}
        for number, name in enumerate(names):
            self.ranks.setdefault(name, number)  # a name listed twice keeps its first place
        quiet = raw.get("quiet")
        self.quiet: tuple[int, int] | None = (int(quiet["start_min"]), int(quiet["end_min"])) if quiet else None
        self.settle: float = float(raw.get("settle_s") or 0)
        self.delay: bool = raw.get("conflict") == "delay"

    def rank(self, journey: str, experience: str | None) -> int:
        """The place of a journey in the priority (of its experience, by `priority experiences`); every name not
        listed comes after all listed ones (ties go by send time, then journey name)."""
        name = experience if self.kind == "experiences" else journey
        rank = self.ranks.get(name) if name is not None else None
        return len(self.ranks) if rank is None else rank


class Plan:
    """One journey version, ready to run."""

    def __init__(self, raw: pf.PlanJson) -> None:
        try:
            self._load(raw)
        except (KeyError, TypeError, ValueError, IndexError) as err:
            if isinstance(err, PlanError):
                raise
            raise PlanError(f"malformed plan of {raw.get('journey')!r}: {type(err).__name__}: {err}") from err

    def _load(self, raw: pf.PlanJson) -> None:
        self.journey: str = str(raw["journey"])
        self.version: int = int(raw["version"])
        steps = sorted(raw["steps"], key=lambda s: int(s["id"]))
        self.steps: list[Step] = [Step(step) for step in steps]
        for index, step in enumerate(self.steps):
            if step.id != index:
                raise PlanError(f"{self.journey} v{self.version}: step ids are not 0..n-1")
        self.entry_step: int = int(raw.get("entry_step", 0))
        entry = raw["entry"]
        self.entry_event: str = str(entry["event"])
        self.entry_where = compile_optional(entry.get("where"))
        self.entry_key = compile_optional(entry.get("key"))
        key = entry.get("key")
        # `key event.cart_id`: events carrying data.cart_id reach only the instance with that key.
        self.key_field: str | None = key[2] if isinstance(key, list) and key[:2] == ["ref", "event"] else None
        self.audience = compile_optional(entry.get("audience"))
        reentry = raw.get("reentry")
        self.reentry: str = str(reentry.get("mode", "never")) if reentry else "never"
        self.reentry_after: float = float((reentry.get("after_s") if reentry else None) or 0)
        self.exits: dict[str, list[Fn | None]] = {
            event: [compile_optional(rule.get("where")) for rule in rules]
            for event, rules in (raw.get("exits") or {}).items()
        }
        self.goals: dict[str, list[Goal]] = {}
        for goal in raw.get("goals") or []:
            within = goal.get("within_s")
            self.goals.setdefault(str(goal["event"]), []).append(
                (
                    str(goal["name"]),
                    compile_optional(goal.get("where")),
                    None if within is None else float(within),
                    compile_optional(goal.get("value")),
                )
            )
        self.caps: dict[str, tuple[int, float]] = {
            channel: (int(cap["max"]), float(cap["per_s"])) for channel, cap in (raw.get("caps") or {}).items()
        }
        # One shared key string per capped channel, so customers' cap lists do not each hold a copy.
        self.cap_slots: dict[str, str] = {channel: f"{self.journey}|{channel}" for channel in self.caps}
        quiet = raw.get("quiet")
        self.quiet: tuple[int, int] | None = (int(quiet["start_min"]), int(quiet["end_min"])) if quiet else None
        schema = raw.get("schema")
        self.experience: str | None = raw.get("experience")
        self.schema_name: str | None = schema.get("name") if schema else None
        raw_policy = schema.get("policy") if schema else None
        # The plan's own policy as written; the one that applies is the latest plans' of its schema, set by the
        # Core that runs the plan (one policy per schema in a bundle), with this journey's rank in it.
        self.own_policy: Policy | None = (
            Policy(self.schema_name, raw_policy) if raw_policy is not None and self.schema_name is not None else None
        )
        self.policy: Policy | None = None
        self.rank: int = 0
        self.channels: dict[str, tuple[float, str | None]] = {
            name: (float(spec.get("cost") or 0), spec.get("requires"))
            for name, spec in ((schema.get("channels") if schema else None) or {}).items()
        }
        # The event checks (validate.py) read the field types as plain dicts.
        profile = (schema.get("profile") if schema else None) or {}
        self.profile_types: dict[str, dict[str, Any]] = {name: dict(spec) for name, spec in profile.items()}
        events = (schema.get("events") if schema else None) or {}
        self.event_types: dict[str, dict[str, dict[str, Any]]] = {
            event: {name: dict(spec) for name, spec in fields.items()} for event, fields in events.items()
        }
        self.timestamp_fields: frozenset[str] = frozenset(
            name for name, spec in self.profile_types.items() if spec.get("type") == "timestamp"
        )
        self._send_rules: dict[str, tuple[float, str | None, tuple[int, float] | None, str]] = {}
        # `migrate from V { old_step -> new_step; keep ... }`: old version -> (old step name -> new step id, kept).
        self.migrations: dict[int, tuple[dict[str, int], frozenset[str]]] = {}
        # The targets are step ids, checked against the steps with every other target by plan_schema at load.
        for migration in raw.get("migrations") or []:
            moves = {str(name): int(target) for name, target in (migration.get("moves") or {}).items()}
            kept = frozenset(str(name) for name in migration.get("keep") or [])
            self.migrations[int(migration["from"])] = (moves, kept)
        # Every event type this version reacts to once an instance is active.
        self.listens: frozenset[str] = frozenset(
            {*self.exits, *self.goals, *(t for step in self.steps for t in step.wait_on)}
        )

    def send_rules(self, channel: str) -> tuple[float, str | None, tuple[int, float] | None, str]:
        """(cost, consent field, cap, cap slot) of a send on `channel`, looked up once per channel."""
        rules = self._send_rules.get(channel)
        if rules is None:
            cost, requires = self.channels.get(channel, (0.0, None))
            cap_slot = self.cap_slots.get(channel) or f"{self.journey}|{channel}"
            rules = self._send_rules[channel] = (cost, requires, self.caps.get(channel), cap_slot)
        return rules
