"""Every definition and reference of a name in a project, with the span of the name itself.

The IR gives each node a span, but a node's span covers the whole construct (`on order_placed -> thanks`), not
the name an editor needs to underline, jump to or rename. The index finds each name inside its node's span in
the file's text, with the keyword that introduces it where one does (`on`, `step`, `profile.`), so a name that
is also a keyword or another name in the node is not taken by mistake.

A symbol's key says what it names, and two symbols with one key are the same thing:

- step: (file, journey, step), steps belong to one journey of one file;
- event, channel, integration: (schema, name); profile_field: (schema, field); event_field: (schema, field), any event's
  field of that name (which event an `event.x` reads depends on the path taken; the checker knows it);
- template: (channel, template), a file under templates/messages/; schema: (schema,); journey: (journey,).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from journeydsl.ir import (
    CallAction,
    Cap,
    ChannelDef,
    ContactPolicy,
    Emit,
    Entry,
    Exit,
    FieldDef,
    Goal,
    Journey,
    MigrationMove,
    Name,
    Schema,
    Send,
    SetProfile,
    SourceFile,
    Span,
    Stage,
    Step,
    Target,
    WaitArm,
)
from journeydsl.testing.scenario import ScenarioFile

STEP = "step"
EVENT = "event"
PROFILE_FIELD = "profile_field"
EVENT_FIELD = "event_field"
CHANNEL = "channel"
TEMPLATE = "template"
INTEGRATION = "integration"
SCHEMA = "schema"
JOURNEY = "journey"

_WORD_END = r"(?![A-Za-z0-9_])"
_WORD_START = r"(?<![A-Za-z0-9_.])"
_QUOTE = r"""['"]?"""
_ON = rf"\bon{_QUOTE}\s*:?\s*{_QUOTE}"  # `on x` (DSL), `on: x` or `"on": x` (YAML)


@dataclass(frozen=True)
class Symbol:
    kind: str
    key: tuple[str, ...]
    span: Span  # the name only
    definition: bool
    detail: str = ""  # for an event field: the event that declares it

    @property
    def name(self) -> str:
        return self.key[-1]


class Text:
    """One file's text with line offsets, to find a name inside a span."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for index, char in enumerate(text):
            if char == "\n":
                self.starts.append(index + 1)

    def offset(self, line: int, col: int) -> int:
        if line < 1:
            return 0
        if line > len(self.starts):
            return len(self.text)
        return min(self.starts[line - 1] + max(col - 1, 0), len(self.text))

    def position(self, offset: int) -> tuple[int, int]:
        low, high = 0, len(self.starts) - 1
        while low < high:  # the last line start at or before offset
            middle = (low + high + 1) // 2
            if self.starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return low + 1, offset - self.starts[low] + 1

    def find_all(self, span: Span, name: str) -> list[Span]:
        """Every `name` inside span, as a whole word."""
        start, end = self.offset(span.line, span.col), self.offset(span.end_line, span.end_col)
        found: list[Span] = []
        for match in re.finditer(rf"{_WORD_START}{re.escape(name)}{_WORD_END}", self.text[start:end]):
            line, col = self.position(start + match.start())
            found.append(Span(span.file, line, col, line, col + len(name)))
        return found

    def find(self, span: Span, name: str, before: str = "") -> Span | None:
        """The first `name` inside span, preceded by the pattern `before` when that finds one."""
        start, end = self.offset(span.line, span.col), self.offset(span.end_line, span.end_col)
        if end <= start:
            end = len(self.text)
        region = self.text[start:end]
        word = re.escape(name)
        patterns = [rf"{before}{_WORD_START}({word}){_WORD_END}"] if before else []
        patterns.append(rf"{_WORD_START}({word}){_WORD_END}")
        for pattern in patterns:
            found = re.search(pattern, region)
            if found:
                line, col = self.position(start + found.start(1))
                return Span(span.file, line, col, line, col + len(name))
        return None


@dataclass
class Index:
    symbols: list[Symbol] = field(default_factory=list)
    schemas: dict[str, Schema] = field(default_factory=dict)
    journeys: dict[tuple[str, str], Journey] = field(default_factory=dict)  # (file, journey name)
    stages: dict[tuple[str, str, str], Stage] = field(default_factory=dict)  # step key -> its stage
    steps: dict[tuple[str, str, str], Step] = field(default_factory=dict)

    def in_file(self, path: str) -> list[Symbol]:
        return [symbol for symbol in self.symbols if symbol.span.file == path]

    def at(self, path: str, line: int, col: int) -> Symbol | None:
        """The symbol under a 1-based position; the end of a name counts (the cursor just after it)."""
        for symbol in self.symbols:
            span = symbol.span
            if span.file == path and span.line == line and span.col <= col <= span.end_col:
                return symbol
        return None

    def definitions(self, symbol: Symbol) -> list[Symbol]:
        return [s for s in self.symbols if s.definition and s.kind == symbol.kind and s.key == symbol.key]

    def references(self, symbol: Symbol, include_definitions: bool = True) -> list[Symbol]:
        return [
            s
            for s in self.symbols
            if s.kind == symbol.kind and s.key == symbol.key and (include_definitions or not s.definition)
        ]

    def journey_at(self, path: str, line: int) -> Journey | None:
        for (file, _), journey in self.journeys.items():
            span = journey.span
            if file == path and span is not None and span.line <= line <= max(span.end_line, span.line):
                return journey
        return None


def walk(node: object) -> Iterator[object]:
    """Every IR node under `node`, itself first, in field order."""
    if isinstance(node, tuple):
        for item in node:
            yield from walk(item)
        return
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return
    yield node
    for item in dataclasses.fields(node):
        if item.name != "span" and item.compare:
            yield from walk(getattr(node, item.name))


class _Builder:
    def __init__(self, index: Index, source: SourceFile, text: Text) -> None:
        self.index, self.source, self.text = index, source, text

    def add(self, kind: str, key: tuple[str, ...], span: Span | None, definition: bool, detail: str = "") -> None:
        if span is not None:
            self.index.symbols.append(Symbol(kind, key, span, definition, detail))

    def find(self, node_span: Span | None, name: str, before: str = "") -> Span | None:
        return self.text.find(node_span, name, before) if node_span is not None else None

    # ---- schemas

    def schema(self, schema: Schema) -> None:
        self.index.schemas.setdefault(schema.name, schema)
        self.add(SCHEMA, (schema.name,), self.find(schema.span, schema.name, rf"\bschema{_QUOTE}\s*:?\s*"), True)
        for item in schema.profile:
            self.field_def(PROFILE_FIELD, schema.name, item)
        for event in schema.events:
            self.add(EVENT, (schema.name, event.name), self.find(event.span, event.name, r"\bevent\s+"), True)
            for item in event.fields:
                self.field_def(EVENT_FIELD, schema.name, item, event.name)
        for channel in schema.channels:
            self.channel_def(schema.name, channel)
        for integration in schema.integrations:
            where = self.find(integration.span, integration.name, r"\bintegration\s+")
            self.add(INTEGRATION, (schema.name, integration.name), where, True)
        if schema.policy is not None:
            self.policy(schema.name, schema.policy)

    def policy(self, schema: str, policy: ContactPolicy) -> None:
        """Its caps name channels and its priority journeys: renaming one renames them here too."""
        for cap in policy.caps:
            where = self.find(cap.span, cap.channel, rf"\b(?:cap|channel){_QUOTE}\s*:?\s*{_QUOTE}")
            self.add(CHANNEL, (schema, cap.channel), where, False)
        priority = policy.priority
        if priority is not None and priority.kind == "journeys":
            for name, span in zip(priority.names, priority.name_spans, strict=False):
                self.add(JOURNEY, (name,), span, False)

    def field_def(self, kind: str, schema: str, item: FieldDef, event: str = "") -> None:
        self.add(kind, (schema, item.name), self.find(item.span, item.name), True, event)

    def channel_def(self, schema: str, channel: ChannelDef) -> None:
        self.add(CHANNEL, (schema, channel.name), self.find(channel.span, channel.name, r"\bchannel\s+"), True)
        if channel.requires is not None:
            where = self.find(channel.span, channel.requires, r"\bprofile\.")
            self.add(PROFILE_FIELD, (schema, channel.requires), where, False)

    # ---- journeys

    def journey(self, journey: Journey) -> None:
        path = self.source.path
        self.index.journeys[(path, journey.name)] = journey
        self.add(JOURNEY, (journey.name,), self.find(journey.span, journey.name, rf"\bjourney{_QUOTE}\s*:?\s*"), True)
        schema = journey.uses or ""
        uses = dict(journey.value_spans).get("uses")
        if journey.uses is not None:
            self.add(SCHEMA, (journey.uses,), self.find(uses or journey.span, journey.uses), False)
        before_step = r"\bstep\s+" if self.source.form == "dsl" else ""
        for stage in journey.stages:
            for step in stage.steps:
                key = (path, journey.name, step.name)
                self.index.steps.setdefault(key, step)
                self.index.stages.setdefault(key, stage)
                self.add(STEP, key, self.find(step.span, step.name, before_step), True)
        handlers = self._handlers(journey, schema)
        for node in walk(journey):
            handler = handlers.get(type(node))
            if handler is not None:
                handler(node)

    def _handlers(self, journey: Journey, schema: str) -> dict[type, Callable[[object], None]]:
        """What each kind of node names; a table rather than a chain of isinstance tests, as only some have names."""
        path = self.source.path

        def step_ref(node: object) -> None:
            assert isinstance(node, Target)
            self.add(STEP, (path, journey.name, node.name), node.span, False)

        def migration_move(node: object) -> None:
            assert isinstance(node, MigrationMove)
            # The source is a step of an older version, which this project may no longer hold: only the target.
            where = self.find(node.span, node.target, r"->\s*")
            self.add(STEP, (path, journey.name, node.target), where, False)

        def on_event(node: object) -> None:
            assert isinstance(node, Entry | Exit | Goal | WaitArm)
            self.add(EVENT, (schema, node.event), self.find(node.span, node.event, _ON), False)

        def emit(node: object) -> None:
            assert isinstance(node, Emit)
            where = self.find(node.span, node.event, rf"\b(?:emit|event){_QUOTE}\s*:?\s*{_QUOTE}")
            self.add(EVENT, (schema, node.event), where, False)

        def send(node: object) -> None:
            assert isinstance(node, Send)
            channel = self.find(node.span, node.channel, rf"\b(?:send|channel){_QUOTE}\s*:?\s*{_QUOTE}")
            self.add(CHANNEL, (schema, node.channel), channel, False)
            template_before = rf"\b{re.escape(node.channel)}\s+" if self.source.form == "dsl" else r"\btemplate\W+"
            template = self.find(node.span, node.template, template_before)
            self.add(TEMPLATE, (node.channel, node.template), template, False)

        def call(node: object) -> None:
            assert isinstance(node, CallAction)
            where = self.find(node.span, node.name, rf"\b(?:call|name){_QUOTE}\s*:?\s*{_QUOTE}")
            self.add(INTEGRATION, (schema, node.name), where, False)

        def cap(node: object) -> None:
            assert isinstance(node, Cap)
            channel = self.find(node.span, node.channel, rf"\b(?:cap|channel){_QUOTE}\s*:?\s*{_QUOTE}")
            self.add(CHANNEL, (schema, node.channel), channel, False)

        def set_profile(node: object) -> None:
            assert isinstance(node, SetProfile)
            self.add(PROFILE_FIELD, (schema, node.field), self.find(node.span, node.field, r"\bprofile\."), False)

        def name(node: object) -> None:
            assert isinstance(node, Name)
            if len(node.path) < 2 or node.span is None or node.path[0] not in ("profile", "event"):
                return
            kind = PROFILE_FIELD if node.path[0] == "profile" else EVENT_FIELD
            if node.path[0] == "event" and node.path[1] in ("at", "type", "id", "customer_id"):
                return  # the envelope of every event, not a declared field
            line, col = node.span.line, node.span.col + len(node.path[0]) + 1
            self.add(kind, (schema, node.path[1]), Span(path, line, col, line, col + len(node.path[1])), False)

        return {
            Target: step_ref,
            MigrationMove: migration_move,
            Entry: on_event,
            Exit: on_event,
            Goal: on_event,
            WaitArm: on_event,
            Emit: emit,
            Send: send,
            CallAction: call,
            Cap: cap,
            SetProfile: set_profile,
            Name: name,
        }


def build_index(
    files: list[SourceFile], texts: dict[str, str], scenarios: list[tuple[ScenarioFile, str]] | None = None
) -> Index:
    """The index of every file (named files first, so their schemas win, as in the checker), and the steps the
    scenarios' `expect.path` lists name (a step rename renames them too)."""
    index = Index()
    for source in files:
        builder = _Builder(index, source, Text(texts.get(source.path, "")))
        for schema in source.schemas:
            builder.schema(schema)
        for journey in source.journeys:
            builder.journey(journey)
    for scenario_file, text in scenarios or []:
        _scenario_steps(index, scenario_file, Text(text))
    return index


def _scenario_steps(index: Index, scenario_file: ScenarioFile, text: Text) -> None:
    files = {name: file for file, name in index.journeys}  # journey name -> its file (the first, as for schemas)
    for scenario in scenario_file.scenarios:
        where = scenario.expect.spans.get("path")
        journey_file = files.get(scenario.journey)
        if where is None or journey_file is None or not scenario.expect.path:
            continue
        for name in dict.fromkeys(scenario.expect.path):
            for span in text.find_all(where, name):
                index.symbols.append(Symbol(STEP, (journey_file, scenario.journey, name), span, False))
