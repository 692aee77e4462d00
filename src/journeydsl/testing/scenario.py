"""Scenario files (`*.scenario.yaml`, SPEC section 9) -> `ScenarioFile` objects with spans.

Loading never raises on bad input: every problem is a diagnostic (JD003 YAML
syntax, JD005 unsafe YAML, JD701 structure, JD702 bad time/duration) with the
file, line and column of the offending node. A scenario with problems is left
out, the others in the same file still run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node

from journeydsl.diagnostics import Diagnostic, Sink, codes
from journeydsl.ir import Span
from journeydsl.runtime.timeparse import TimeError, parse_rfc3339
from journeydsl.syntax.durations import total_seconds
from journeydsl.syntax.limits import DURATION_HINT, duration_message
from journeydsl.syntax.safe_yaml import Budget, span_of
from journeydsl.testing.yamlread import (
    ValueReader,
    compose,
    is_mapping,
    is_scalar,
    is_sequence,
    kind_of,
    rfc3339,
)

SCENARIO_SUFFIXES = (".scenario.yaml", ".scenario.yml")
WILDCARD = "*"

FILE_KEYS = ("journey", "scenarios")
SCENARIO_KEYS = ("name", "journey", "customer_id", "description", "force", "profile", "events", "expect")
EVENT_KEYS = ("type", "at", "id", "customer_id", "data", "profile")
EXPECT_KEYS = ("path", "sends", "calls", "sets", "goals", "variant", "outcome")
SEND_KEYS = ("channel", "template", "status", "reason")
SEND_STATUSES = ("sent", "suppressed", "delayed")

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class EventStep:
    """One event to feed the engine; `id` None means the runner makes one up."""

    type: str
    at: dt.datetime
    data: dict[str, Any]
    id: str | None = None
    customer_id: str | None = None
    profile: dict[str, Any] | None = None
    span: Span | None = field(default=None, compare=False)

    @property
    def at_text(self) -> str:
        return rfc3339(self.at)


@dataclass(frozen=True)
class AdvanceStep:
    """`{advance: 8d}`: fire timers up to the last event time plus `seconds`, or up to `until`."""

    text: str
    seconds: int | None = None
    until: dt.datetime | None = None
    span: Span | None = field(default=None, compare=False)


ScenarioStep = EventStep | AdvanceStep


@dataclass(frozen=True)
class SendExpect:
    channel: str | None = None
    template: str | None = None
    status: str | None = None
    reason: str | None = None
    span: Span | None = field(default=None, compare=False)

    def __str__(self) -> str:
        text = f"{self.channel or '?'} {self.template or '?'}"
        if self.status:
            text += f" ({self.status}{': ' + self.reason if self.reason else ''})"
        return text


@dataclass(frozen=True)
class SetExpect:
    field: str  # without "profile."
    value: Any = None
    has_value: bool = False  # `value: null` is a real expectation; absence is not
    span: Span | None = dataclasses.field(default=None, compare=False)  # `field` is the attribute above

    def __str__(self) -> str:
        return f"profile.{self.field}" + (f" = {self.value!r}" if self.has_value else "")


@dataclass(frozen=True)
class GoalExpect:
    name: str
    value: float | None = None
    span: Span | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name} (value {self.value:g})"


@dataclass(frozen=True)
class Expectations:
    """Each key is optional (None: not checked)."""

    path: tuple[str, ...] | None = None
    sends: tuple[SendExpect, ...] | None = None
    calls: tuple[str, ...] | None = None
    sets: tuple[SetExpect, ...] | None = None
    goals: tuple[GoalExpect, ...] | None = None
    variant: dict[str, str] | None = None
    outcome: str | None = None
    spans: dict[str, Span] = field(default_factory=dict, compare=False)  # expect key -> its value's span


@dataclass(frozen=True)
class Scenario:
    name: str
    journey: str
    customer_id: str
    force: dict[str, str]
    profile: dict[str, Any]
    steps: tuple[ScenarioStep, ...]
    expect: Expectations
    span: Span  # the `- name: …` item
    journey_span: Span | None = None

    @property
    def location(self) -> str:
        return f"{self.span.file}:{self.span.line}"


@dataclass(frozen=True)
class ScenarioFile:
    path: str
    journey: str | None
    scenarios: tuple[Scenario, ...]


# --------------------------------------------------------------------------- discovery


def is_scenario_file(path: Path) -> bool:
    return path.name.endswith(SCENARIO_SUFFIXES)


def find_scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """Scenario files named or under the folders named, sorted and without duplicates."""
    found: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and is_scenario_file(child):
                    found.setdefault(str(child), child)
        elif path.is_file() and is_scenario_file(path):
            found.setdefault(str(path), path)
    return list(found.values())


def load_scenario_file(path: str | Path) -> tuple[ScenarioFile, list[Diagnostic]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        sink = Sink()
        sink.report(codes.FILE_ERROR, f"cannot read {path}: {err}", Span(str(path), 1, 1, 1, 1))
        return ScenarioFile(str(path), None, ()), sink.diagnostics
    return parse_scenarios(text, str(path))


def parse_scenarios(text: str, path: str) -> tuple[ScenarioFile, list[Diagnostic]]:
    """Parse the text of one scenario file; never raises on bad input."""
    sink = Sink()
    document = compose(text, path, sink)
    if document is None:
        return ScenarioFile(path, None, ()), sink.diagnostics
    return _Parser(path, sink, document.budget()).file(document.root), sink.diagnostics


# --------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, path: str, sink: Sink, budget: Budget) -> None:
        self.path = path
        self.sink = sink
        self.values = ValueReader(path, sink, budget)

    # ---- helpers

    def error(self, node: Node, message: str, hint: str | None = None, code: Any = None) -> None:
        self.sink.report(code or codes.SCENARIO_STRUCTURE, message, span_of(self.path, node), hint=hint)

    def mapping(self, node: Node, what: str, allowed: tuple[str, ...]) -> dict[str, tuple[Node, Node]] | None:
        """The entries of a mapping node by key; unknown and repeated keys are reported."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping, not {kind_of(node)}")
            return None
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in entries:
                self.error(key_node, f"`{key}` is written twice in {what}")
                continue
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean `{close[0]}`?" if close else "allowed keys: " + ", ".join(allowed)
                self.error(key_node, f"unknown key `{key}` in {what}", hint)
                continue
            entries[key] = (key_node, value_node)
        return entries

    def text(self, node: Node, what: str) -> str | None:
        value = self.values.value(node)
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            self.error(node, f"{what} must be text, not {kind_of(node)}")
            return None
        return str(value)

    def name(self, node: Node, what: str) -> str | None:
        value = self.text(node, what)
        if value is not None and not _IDENT.match(value):
            self.error(node, f"{what} `{value}` is not a name ([a-z_][a-z0-9_]*)", code=codes.SCENARIO_BAD_VALUE)
            return None
        return value

    def plain_mapping(self, node: Node, what: str) -> dict[str, Any] | None:
        if not is_mapping(node):
            self.error(node, f"{what} must be a mapping, not {kind_of(node)}")
            return None
        value = self.values.value(node)
        return value if isinstance(value, dict) else None

    def items(self, node: Node, what: str) -> list[Node] | None:
        if not is_sequence(node):
            self.error(node, f"{what} must be a list, not {kind_of(node)}")
            return None
        return list(node.value)

    def time(self, node: Node, what: str) -> dt.datetime | None:
        # Read the scalar's own text: the value reader would already have made a naive time UTC.
        raw = node.value if is_scalar(node) else None
        moment: dt.datetime | None = None
        if isinstance(raw, str):
            try:
                # The runtime's reading of a time: RFC 3339 only, years 1..9999 (no week dates, no bare dates).
                moment = dt.datetime.fromtimestamp(parse_rfc3339(raw.strip()), dt.UTC)
            except TimeError as err:
                if "without a time zone" not in str(err):
                    moment = None
                else:
                    self.error(
                        node,
                        f"{what} `{raw}` has no UTC offset",
                        "end it with Z or an offset such as +01:00",
                        codes.SCENARIO_BAD_VALUE,
                    )
                    return None
        if moment is None:
            self.error(
                node,
                f"{what} `{raw if raw is not None else kind_of(node)}` is not an RFC 3339 time",
                "write it like 2026-01-01T10:00:00Z",
                codes.SCENARIO_BAD_VALUE,
            )
            return None
        return moment

    # ---- file

    def file(self, root: Node) -> ScenarioFile:
        entries = self.mapping(root, "a scenario file", FILE_KEYS)
        if entries is None:
            return ScenarioFile(self.path, None, ())
        journey: str | None = None
        journey_span: Span | None = None
        if "journey" in entries:
            journey = self.name(entries["journey"][1], "`journey`")
            journey_span = span_of(self.path, entries["journey"][1])
        if "scenarios" not in entries:
            self.error(root, "a scenario file needs a `scenarios:` list")
            return ScenarioFile(self.path, journey, ())
        items = self.items(entries["scenarios"][1], "`scenarios`")
        scenarios: list[Scenario] = []
        for number, item in enumerate(items or (), start=1):
            before = len(self.sink.diagnostics)
            scenario = self.scenario(item, number, journey, journey_span)
            if scenario is not None and len(self.sink.diagnostics) == before:
                scenarios.append(scenario)
        return ScenarioFile(self.path, journey, tuple(scenarios))

    def scenario(self, node: Node, number: int, journey: str | None, journey_span: Span | None) -> Scenario | None:
        entries = self.mapping(node, f"scenario {number}", SCENARIO_KEYS)
        if entries is None:
            return None
        name = f"scenario {number}"
        if "name" in entries:
            name = self.text(entries["name"][1], "`name`") or name
        else:
            self.error(node, f"scenario {number} has no `name`")
        if "journey" in entries:
            journey = self.name(entries["journey"][1], "`journey`")
            journey_span = span_of(self.path, entries["journey"][1])
        if journey is None:
            self.error(node, f"scenario `{name}` does not say which journey it tests", "add `journey: NAME` at the top")
            return None
        customer_id = f"scenario-{number}"
        if "customer_id" in entries:
            customer_id = self.text(entries["customer_id"][1], "`customer_id`") or customer_id
        force: dict[str, str] = {}
        if "force" in entries:
            force = self.force(entries["force"][1])
        profile: dict[str, Any] = {}
        if "profile" in entries:
            profile = self.plain_mapping(entries["profile"][1], "`profile`") or {}
        steps: tuple[ScenarioStep, ...] = ()
        if "events" in entries:
            steps = self.steps(entries["events"][1])
        else:
            self.error(node, f"scenario `{name}` has no `events`")
        expect = Expectations()
        if "expect" in entries:
            expect = self.expect(entries["expect"][1])
        return Scenario(
            name=name,
            journey=journey,
            customer_id=customer_id,
            force=force,
            profile=profile,
            steps=steps,
            expect=expect,
            span=span_of(self.path, node),
            journey_span=journey_span,
        )

    def force(self, node: Node) -> dict[str, str]:
        if not is_mapping(node):
            self.error(node, f"`force` must map experiment names to variants, not {kind_of(node)}")
            return {}
        result: dict[str, str] = {}
        for key_node, value_node in node.value:
            experiment = self.name(key_node, "experiment")
            variant = self.name(value_node, "variant")
            if experiment and variant:
                result[experiment] = variant
        return result

    # ---- events

    def steps(self, node: Node) -> tuple[ScenarioStep, ...]:
        steps: list[ScenarioStep] = []
        for item in self.items(node, "`events`") or ():
            if is_mapping(item) and any(str(k.value) == "advance" for k, _ in item.value):
                advance = self.advance(item)
                if advance is not None:
                    steps.append(advance)
            else:
                event = self.event(item)
                if event is not None:
                    steps.append(event)
        return tuple(steps)

    def advance(self, node: Node) -> AdvanceStep | None:
        entries = self.mapping(node, "an `advance` step", ("advance",))
        if entries is None or "advance" not in entries:
            return None
        value_node = entries["advance"][1]
        raw = self.values.value(value_node)
        text = raw if isinstance(raw, str) else str(raw)
        duration = total_seconds(text.strip())
        if duration is not None:
            seconds, fits = duration
            if not fits:
                self.error(value_node, duration_message(text), DURATION_HINT, codes.SCENARIO_BAD_VALUE)
                return None
            return AdvanceStep(text, seconds=seconds, span=span_of(self.path, node))
        if "T" in text or "-" in text:
            until = self.time(value_node, "`advance`")
            return None if until is None else AdvanceStep(text, until=until, span=span_of(self.path, node))
        self.error(
            value_node,
            f"`advance: {text}` is neither a duration nor a time",
            "write a duration like 8d, 12h, 8d12h, or an RFC 3339 time",
            codes.SCENARIO_BAD_VALUE,
        )
        return None

    def event(self, node: Node) -> EventStep | None:
        entries = self.mapping(node, "an event", EVENT_KEYS)
        if entries is None:
            return None
        missing = [key for key in ("type", "at") if key not in entries]
        if missing:
            self.error(node, "an event needs " + " and ".join(f"`{key}`" for key in missing), "or write {advance: 8d}")
            return None
        kind = self.name(entries["type"][1], "event `type`")
        at = self.time(entries["at"][1], "event `at`")
        data: dict[str, Any] = {}
        if "data" in entries:
            data = self.plain_mapping(entries["data"][1], "event `data`") or {}
        profile = self.plain_mapping(entries["profile"][1], "event `profile`") if "profile" in entries else None
        event_id = self.text(entries["id"][1], "event `id`") if "id" in entries else None
        customer = self.text(entries["customer_id"][1], "event `customer_id`") if "customer_id" in entries else None
        if kind is None or at is None:
            return None
        return EventStep(kind, at, data, event_id, customer, profile, span_of(self.path, node))

    # ---- expectations

    def expect(self, node: Node) -> Expectations:
        entries = self.mapping(node, "`expect`", EXPECT_KEYS)
        if entries is None:
            return Expectations()
        spans = {key: span_of(self.path, value) for key, (_, value) in entries.items()}
        found: dict[str, Any] = {}
        if "path" in entries:
            items = self.items(entries["path"][1], "`expect.path`")
            if items is not None:
                names = [self.text(item, "a path step") for item in items]
                for item, name in zip(items, names, strict=True):
                    if name is not None and name != WILDCARD and not _IDENT.match(name):
                        self.error(item, f"`{name}` is not a step name or `*`", code=codes.SCENARIO_BAD_VALUE)
                found["path"] = tuple(name for name in names if name is not None)
        if "sends" in entries:
            found["sends"] = self.sends(entries["sends"][1])
        if "calls" in entries:
            items = self.items(entries["calls"][1], "`expect.calls`") or []
            found["calls"] = tuple(c for c in (self.call(item) for item in items) if c)
        if "sets" in entries:
            found["sets"] = self.sets(entries["sets"][1])
        if "goals" in entries:
            items = self.items(entries["goals"][1], "`expect.goals`") or []
            found["goals"] = tuple(g for g in (self.goal(item) for item in items) if g)
        if "variant" in entries:
            found["variant"] = self.force(entries["variant"][1])
        if "outcome" in entries:
            found["outcome"] = self.text(entries["outcome"][1], "`expect.outcome`")
        return Expectations(**found, spans=spans)

    def sends(self, node: Node) -> tuple[SendExpect, ...]:
        result: list[SendExpect] = []
        for item in self.items(node, "`expect.sends`") or ():
            entries = self.mapping(item, "an expected send", SEND_KEYS)
            if entries is None:
                continue
            values = {key: self.text(value, f"`{key}`") for key, (_, value) in entries.items()}
            status = values.get("status")
            if status is not None and status not in SEND_STATUSES:
                self.error(
                    entries["status"][1],
                    f"send status `{status}` is not one of " + ", ".join(SEND_STATUSES),
                    code=codes.SCENARIO_BAD_VALUE,
                )
                continue
            result.append(SendExpect(span=span_of(self.path, item), **values))
        return tuple(result)

    def call(self, node: Node) -> str | None:
        if is_mapping(node):
            entries = self.mapping(node, "an expected call", ("name",))
            if not entries or "name" not in entries:
                self.error(node, "an expected call needs a `name`")
                return None
            node = entries["name"][1]
        return self.name(node, "call name")

    def sets(self, node: Node) -> tuple[SetExpect, ...]:
        result: list[SetExpect] = []
        if is_mapping(node):  # {segment: active, ltv: 10}
            for key_node, value_node in node.value:
                name = self.field(key_node)
                if name:
                    result.append(SetExpect(name, self.values.value(value_node), True, span_of(self.path, key_node)))
            return tuple(result)
        for item in self.items(node, "`expect.sets`") or ():
            if is_mapping(item):
                entries = self.mapping(item, "an expected set", ("field", "value"))
                if not entries or "field" not in entries:
                    self.error(item, "an expected set needs a `field`")
                    continue
                name = self.field(entries["field"][1])
                if name:
                    has_value = "value" in entries
                    value = self.values.value(entries["value"][1]) if has_value else None
                    result.append(SetExpect(name, value, has_value, span_of(self.path, item)))
            else:
                name = self.field(item)
                if name:
                    result.append(SetExpect(name, span=span_of(self.path, item)))
        return tuple(result)

    def field(self, node: Node) -> str | None:
        text = self.text(node, "a profile field")
        if text is None:
            return None
        return self.name_check(node, text.removeprefix("profile."), "profile field")

    def name_check(self, node: Node, text: str, what: str) -> str | None:
        if not _IDENT.match(text):
            self.error(node, f"{what} `{text}` is not a name", code=codes.SCENARIO_BAD_VALUE)
            return None
        return text

    def goal(self, node: Node) -> GoalExpect | None:
        if is_mapping(node):
            entries = self.mapping(node, "an expected goal", ("name", "value"))
            if not entries or "name" not in entries:
                self.error(node, "an expected goal needs a `name`")
                return None
            name = self.name(entries["name"][1], "goal name")
            value: float | None = None
            if "value" in entries:
                raw = self.values.value(entries["value"][1])
                if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                    self.error(entries["value"][1], "a goal `value` must be a number")
                    return None
                value = float(raw)
            return GoalExpect(name, value, span_of(self.path, node)) if name else None
        name = self.name(node, "goal name")
        return GoalExpect(name, span=span_of(self.path, node)) if name else None
