"""YAML form -> IR (SPEC section 4): one journey or schema per YAML document.

It sits on syntax/safe_yaml.py, which composes the text (never constructs it) within the limits every YAML
file of the package shares (tags, aliases, nesting), and walks the node tree by hand: nodes carry their
start and end marks, so every diagnostic points at a YAML line and column. Keys are read as the text written
(so `on:` is the key "on", not the YAML 1.1 boolean). Expression strings go to the DSL's expression parser
(syntax/expr.py) at the column where their text starts. The walk collects diagnostics and never raises.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from journeydsl.diagnostics import Diagnostic, Sink, codes
from journeydsl.ir import (
    CONFLICT_MODES,
    PRIORITY_KINDS,
    Action,
    Arg,
    CallAction,
    Cap,
    ChannelDef,
    Choose,
    ContactPolicy,
    Duration,
    Emit,
    End,
    Entry,
    EventDef,
    Exit,
    Experiment,
    Expr,
    FieldDef,
    Flow,
    Goal,
    Goto,
    IntegrationDef,
    Journey,
    Migration,
    MigrationMove,
    Priority,
    Quiet,
    Reentry,
    Schema,
    Send,
    SetProfile,
    SharedCap,
    Sleep,
    SourceFile,
    Span,
    Stage,
    Step,
    Target,
    Timeout,
    TypeRef,
    Variant,
    Wait,
    WaitArm,
    When,
)
from journeydsl.syntax.durations import bounded_duration, split_duration
from journeydsl.syntax.limits import (
    DURATION_HINT,
    MAX_NAME_LENGTH,
    MAX_SAFE_INTEGER,
    NAME_HINT,
    NUMBER_HINT,
    clip,
    duration_message,
    file_too_large,
    in_range,
    name_message,
    number_message,
    oversize,
    parse_number,
)
from journeydsl.syntax.safe_yaml import (
    BOOL_TAG,
    FLOAT_TAG,
    INT_TAG,
    NULL_TAG,
    SPLIT_HINT,
    Budget,
    ExpansionLimit,
    compose,
    has_unbalanced_call,
    report_expansion,
    scalar_value,
    span_of,
)
from journeydsl.syntax.transformer import HEADER_KEYS
from journeydsl.syntax.yaml_comments import yaml_comments

IDENT = re.compile(r"[a-z_][a-z0-9_]*")
TIME_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
WEIGHT_PERCENT = re.compile(r"(\d+)\s*%")
PERCENT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*%")

JOURNEY_KEYS = (
    "journey", "title", "version", "owner", "team", "description", "tags", "experience", "uses",
    "entry", "audience", "reentry", "exit", "goals", "caps", "quiet", "stages", "migrate",
)  # fmt: skip
SCHEMA_KEYS = ("schema", "profile", "events", "channels", "integrations", "policy")
POLICY_KEYS = ("caps", "priority", "quiet", "settle", "conflict")
STEP_KEYS = ("do", "next", "wait", "choose", "experiment", "end")
FLOW_KEYS = ("next", "wait", "choose", "experiment", "end")
ACTION_KEYS = ("send", "set", "emit", "call")

_DURATION_HINT = "write an integer and a unit: 30s 15m 12h 7d 2w"
_IDENT_HINT = "names are lowercase letters, digits and `_`, starting with a letter or `_`"


# --------------------------------------------------------------------------- entry point
_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # a number someone quoted


def load_yaml(text: str, path: str) -> tuple[SourceFile, list[Diagnostic]]:
    """Parse the YAML form; never raises: every problem is a diagnostic with a position."""
    sink = Sink()
    size = oversize(text)
    if size is not None:
        message, span, hint = file_too_large(path, size)
        sink.report(codes.INPUT_TOO_LARGE, message, span, hint=hint)
        return SourceFile(path=path, form="yaml"), sink.diagnostics
    schemas: list[Schema] = []
    journeys: list[Journey] = []
    documents = compose(text, path, sink)
    for document in documents:
        walker = _Walker(path, text, sink, document.budget())
        try:
            built = walker.document(document.root)
        except ExpansionLimit:
            report_expansion(sink, span_of(path, document.root))
            continue
        except RecursionError:
            # The walk itself is as deep as the YAML form; an expression nested thousands deep is not.
            message = "an expression in this document is nested too deeply"
            sink.report(codes.YAML_STRUCTURE, message, span_of(path, document.root))
            continue
        if isinstance(built, Schema):
            schemas.append(built)
        elif isinstance(built, Journey):
            journeys.append(built)
    if not documents and not sink.diagnostics:
        sink.report(
            codes.YAML_STRUCTURE,
            "the file holds no journey or schema document",
            Span(path, 1, 1, 1, 1),
            hint="start the file with `journey: NAME` or `schema: NAME`",
        )
    comments = yaml_comments(text, [document.root for document in documents])
    source = SourceFile(path=path, schemas=tuple(schemas), journeys=tuple(journeys), form="yaml", comments=comments)
    return source, sink.diagnostics


def node_to_data(node: Node) -> Any:
    """Plain data of a composed node, keys as written (for JSON Schema validation of YAML files)."""
    if isinstance(node, MappingNode):
        return {str(key.value) if isinstance(key, ScalarNode) else repr(key): node_to_data(v) for key, v in node.value}
    if isinstance(node, SequenceNode):
        return [node_to_data(item) for item in node.value]
    if node.tag in (INT_TAG, FLOAT_TAG, BOOL_TAG, NULL_TAG):
        return _scalar(node)
    return node.value


def _scalar(node: Node) -> Any:
    """The value of an int, float, bool, null or timestamp scalar; its text for anything else or a malformed one."""
    try:
        return scalar_value(node)
    except ValueError:  # an int of more than 4,300 digits, `!!bool maybe`: callers see text and report it
        return node.value


def _respan(expr: Expr, span: Span) -> Expr:
    """Every span in an expression set to `span` (used when inner columns cannot be known)."""
    changes: dict[str, Any] = {"span": span}
    for field in dataclasses.fields(expr):
        value = getattr(expr, field.name)
        if field.name in ("left", "right", "operand"):
            changes[field.name] = _respan(value, span)
        elif field.name in ("items", "args"):
            changes[field.name] = tuple(_respan(item, span) for item in value)
    return dataclasses.replace(expr, **changes)


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "nothing"
    if isinstance(node, ScalarNode) and node.style in ("'", '"'):
        # Quoted, so a string whatever it holds: `"3"` must not read as `3` in "must be a number, not …".
        return f"the string `{node.style}{node.value}{node.style}`" if len(str(node.value)) < 40 else "a string"
    return f"`{node.value}`" if len(str(node.value)) < 40 else "a scalar"


def _unquote_hint(node: Node) -> str | None:
    """`version: "3"`: the quotes make a number a string; name the fix."""
    if isinstance(node, ScalarNode) and node.style in ("'", '"') and _NUMBER_TEXT.fullmatch(str(node.value).strip()):
        return f"the quotes make it a string: write the number without them, `{str(node.value).strip()}`"
    return None


# --------------------------------------------------------------------------- the walk


class _Walker:
    """Builds IR nodes from one document's node tree, reporting into the sink."""

    def __init__(self, path: str, text: str, sink: Sink, budget: Budget) -> None:
        self.path = path
        self.text = text
        self.sink = sink
        self.budget = budget

    # ------------------------------------------------------------------ reporting helpers

    def span(self, node: Node, end: Node | None = None) -> Span:
        return span_of(self.path, node, end)

    def structure(self, node: Node, message: str, hint: str | None = None) -> None:
        self.sink.report(codes.YAML_STRUCTURE, message, self.span(node), hint=hint)

    def spend(self, amount: int = 1) -> None:
        self.budget.spend(amount)  # raises ExpansionLimit, which load_yaml reports for the whole document

    # ------------------------------------------------------------------ shapes

    def mapping(
        self, node: Node, where: str, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> dict[str, tuple[Node, Node]] | None:
        """A mapping with keyword keys: unknown, duplicate and missing keys are JD004."""
        if not isinstance(node, MappingNode):
            self.structure(node, f"{where} must be a mapping, not {_kind(node)}", hint=_keys_hint(allowed))
            return None
        self.spend(len(node.value) + 1)
        found: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            name = self.key_text(key)
            if name is None:
                continue
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"did you mean `{close[0]}`?" if close else _keys_hint(allowed)
                if has_unbalanced_call(name):
                    hint = SPLIT_HINT  # `coalesce(a, 0) > 3` unquoted: `0) > 3` became a key
                self.structure(key, f"unknown key `{clip(name, 60)}` in {where}", hint=hint)
            elif name in found:
                first = found[name][0].start_mark.line + 1
                self.structure(key, f"duplicate key `{name}` in {where} (first written on line {first})")
            else:
                found[name] = (key, value)
        for name in required:
            if name not in found:
                self.structure(node, f"{where} is missing the key `{name}`")
        return found

    def named(self, node: Node, where: str, allow_null: bool = True) -> list[tuple[str, Node, Node]]:
        """A mapping whose keys are names (stages, steps, fields, `with`): a name written twice is kept twice.

        The checker reports it (JD101, check/names.py), for the DSL and the YAML form alike.
        """
        if allow_null and isinstance(node, ScalarNode) and node.tag == NULL_TAG:
            return []
        if not isinstance(node, MappingNode):
            self.structure(node, f"{where} must be a mapping of names, not {_kind(node)}")
            return []
        self.spend(len(node.value) + 1)
        entries: list[tuple[str, Node, Node]] = []
        for key, value in node.value:
            name = self.key_text(key)
            if name is not None and self.check_ident(name, key, "name"):
                entries.append((name, key, value))
        return entries

    def sequence(self, node: Node, where: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.structure(node, f"{where} must be a list, not {_kind(node)}")
            return []
        self.spend(len(node.value) + 1)
        return list(node.value)

    def key_text(self, key: Node) -> str | None:
        if not isinstance(key, ScalarNode):
            self.structure(key, f"a key must be a plain name, not {_kind(key)}")
            return None
        return str(key.value)  # a merge key (`<<`) never gets here: safe_yaml refuses its document

    # ------------------------------------------------------------------ scalars

    def text_value(self, node: Node, what: str) -> str | None:
        """Any non-null scalar, as written (a title of `2024` is the text "2024")."""
        self.spend()
        if not isinstance(node, ScalarNode) or node.tag == NULL_TAG:
            self.structure(node, f"{what} must be text, not {_kind(node)}")
            return None
        return str(node.value)

    def check_ident(self, name: str, node: Node, what: str) -> bool:
        if len(name) > MAX_NAME_LENGTH:  # reported and dropped: names become file names later
            self.sink.report(codes.INPUT_TOO_LARGE, name_message(name), self.span(node), hint=NAME_HINT)
            return False
        if IDENT.fullmatch(name):
            return True
        hint = SPLIT_HINT if has_unbalanced_call(name) else _IDENT_HINT
        self.structure(node, f"`{clip(name, 60)}` is not a valid {what}", hint=hint)
        return False

    def ident(self, node: Node, what: str) -> str | None:
        text = self.text_value(node, what)
        if text is None or not self.check_ident(text, node, what):
            return None
        return text

    def target(self, node: Node) -> Target | None:
        name = self.ident(node, "step name")
        return Target(name, span=self.span(node)) if name is not None else None

    def too_large(self, node: Node) -> int:
        """Report a number out of range (JD012); the in-range stand-in the walk goes on with."""
        self.sink.report(codes.INPUT_TOO_LARGE, number_message(str(node.value)), self.span(node), hint=NUMBER_HINT)
        return MAX_SAFE_INTEGER

    def integer(self, node: Node, what: str) -> int | None:
        self.spend()
        if isinstance(node, ScalarNode) and node.tag == INT_TAG:
            value = _scalar(node)
            if isinstance(value, int):
                return value if in_range(value) else self.too_large(node)
            return self.too_large(node)  # too many digits to convert
        self.structure(node, f"{what} must be an integer, not {_kind(node)}", hint=_unquote_hint(node))
        return None

    def number(self, node: Node, what: str) -> int | float | None:
        self.spend()
        if isinstance(node, ScalarNode) and node.tag in (INT_TAG, FLOAT_TAG):
            value = _scalar(node)
            if not isinstance(value, (int, float)):
                return self.too_large(node)  # too many digits to convert
            if value != value:
                self.sink.report(codes.BAD_LITERAL, f"{what} must be a finite number", self.span(node))
                return None
            return value if in_range(value) else self.too_large(node)
        self.structure(node, f"{what} must be a number, not {_kind(node)}", hint=_unquote_hint(node))
        return None

    def boolean(self, node: Node, what: str) -> bool | None:
        self.spend()
        value = _scalar(node) if isinstance(node, ScalarNode) and node.tag == BOOL_TAG else None
        if isinstance(value, bool):
            return value
        self.structure(node, f"{what} must be true or false, not {_kind(node)}")
        return None

    def duration(self, node: Node, what: str, text: str | None = None) -> Duration | None:
        raw = text if text is not None else self.text_value(node, what)
        if raw is None:
            return None
        parts = split_duration(raw.strip())
        if parts is None:
            self.sink.report(
                codes.BAD_LITERAL, f"{what} `{clip(raw)}` is not a duration", self.span(node), hint=_DURATION_HINT
            )
            return None
        duration, fits = bounded_duration(*parts, span=self.span(node))
        if not fits:
            self.sink.report(codes.INPUT_TOO_LARGE, duration_message(raw.strip()), self.span(node), hint=DURATION_HINT)
        return duration

    def origin(self, node: ScalarNode) -> tuple[Span, bool]:
        """Where the scalar's text starts, and whether columns inside it map one to one onto the file."""
        start, end = node.start_mark, node.end_mark
        value = str(node.value)
        quoted = node.style in ("'", '"')
        if node.style in (None, "", "'", '"') and "\n" not in value:
            offset = 1 if quoted else 0
            raw = self.text[start.index + offset : end.index - offset]
            if raw == value:
                col = start.column + 1 + offset
                return Span(self.path, start.line + 1, col, start.line + 1, col + len(value)), True
        return self.span(node), False

    def expression(self, node: Node, what: str) -> Expr | None:
        """An expression string, parsed by the DSL's expression parser at its own column."""
        from journeydsl.syntax.expr import parse_expression

        self.spend()
        if not isinstance(node, ScalarNode):
            self.structure(node, f"{what} must be an expression string, not {_kind(node)}")
            return None
        if str(node.value).strip() == "":
            self.structure(node, f"{what} is empty: it needs an expression")
            return None
        origin, exact = self.origin(node)
        expr, diagnostics = parse_expression(str(node.value), origin)
        if diagnostics and node.style in (None, "") and has_unbalanced_call(str(node.value)):
            diagnostics = [dataclasses.replace(d, hint=SPLIT_HINT) for d in diagnostics]
        if not exact:
            scalar = self.span(node)
            diagnostics = [dataclasses.replace(d, span=scalar) for d in diagnostics]
            try:
                expr = _respan(expr, scalar) if expr is not None else None
            except RecursionError:  # thousands of nested operators: keep the parser's spans
                pass
        self.sink.extend(diagnostics)
        return expr

    def type_ref(self, node: Node, what: str) -> TypeRef | None:
        from journeydsl.syntax.expr import parse_type

        text = self.text_value(node, what)
        if text is None:
            return None
        assert isinstance(node, ScalarNode)
        origin, exact = self.origin(node)
        type_ref, diagnostics = parse_type(text, origin)
        if not exact:
            diagnostics = [dataclasses.replace(d, span=self.span(node)) for d in diagnostics]
        self.sink.extend(diagnostics)
        return type_ref

    # ------------------------------------------------------------------ documents

    def document(self, node: Node) -> Journey | Schema | None:
        if not isinstance(node, MappingNode):
            self.structure(
                node,
                f"a journey document must be a mapping, not {_kind(node)}",
                hint="start the document with `journey: NAME` or `schema: NAME`",
            )
            return None
        keys = {key.value for key, _ in node.value if isinstance(key, ScalarNode)}
        if "journey" in keys and "schema" in keys:
            self.structure(
                node, "a document holds one journey or one schema, not both", hint="separate them with `---`"
            )
            return None
        if "schema" in keys:
            return self.schema(node)
        if "journey" in keys:
            return self.journey(node)
        close = difflib.get_close_matches("journey", [str(k) for k in keys], n=1) or difflib.get_close_matches(
            "schema", [str(k) for k in keys], n=1
        )
        hint = f"did you mean `journey` or `schema` instead of `{close[0]}`?" if close else None
        self.structure(node, "a document needs a top-level `journey:` or `schema:` key", hint=hint)
        return None

    # ------------------------------------------------------------------ schema

    def schema(self, node: Node) -> Schema | None:
        keys = self.mapping(node, "a schema", SCHEMA_KEYS, required=("schema",))
        if keys is None:
            return None
        name = self.ident(keys["schema"][1], "schema name") if "schema" in keys else None
        profile: list[FieldDef] = []
        events: list[EventDef] = []
        channels: list[ChannelDef] = []
        if "profile" in keys:
            profile = self.fields(keys["profile"][1], "`profile`")
        if "events" in keys:
            for event, key, value in self.named(keys["events"][1], "`events`"):
                fields = self.fields(value, f"event `{event}`")
                events.append(EventDef(event, tuple(fields), span=self.span(key, value)))
        if "channels" in keys:
            for channel, key, value in self.named(keys["channels"][1], "`channels`"):
                channels.append(self.channel(channel, key, value))
        integrations: list[IntegrationDef] = []
        if "integrations" in keys:
            for item in self.sequence(keys["integrations"][1], "`integrations`"):
                integration = self.ident(item, "integration name")
                if integration is not None:
                    integrations.append(IntegrationDef(integration, span=self.span(item)))
        policy = self.policy(*keys["policy"]) if "policy" in keys else None
        if name is None:
            return None
        return Schema(
            name,
            tuple(profile),
            tuple(events),
            tuple(channels),
            span=self.span(node),
            integrations=tuple(integrations),
            policy=policy,
        )

    def policy(self, key: Node, node: Node) -> ContactPolicy | None:
        """`policy: {caps: [...], priority: {journeys: [...]}, quiet, settle, conflict}` (the DSL's `policy { … }`)."""
        keys = self.mapping(node, "`policy`", POLICY_KEYS)
        if keys is None:
            return None
        caps: list[SharedCap] = []
        if "caps" in keys:
            for item in self.sequence(keys["caps"][1], "`caps`"):
                parts = self.cap_parts(item, "a policy cap")
                if parts is not None:
                    caps.append(SharedCap(*parts, span=self.span(item)))
        priority = self.priority(*keys["priority"]) if "priority" in keys else None
        quiet = self.quiet(keys["quiet"][1]) if "quiet" in keys else None
        settle = self.duration(keys["settle"][1], "`settle`") if "settle" in keys else None
        conflict = "suppress"
        if "conflict" in keys:
            text = self.text_value(keys["conflict"][1], "`conflict`")
            if text in CONFLICT_MODES:
                conflict = text
            elif text is not None:
                self.sink.report(
                    codes.BAD_LITERAL,
                    f"`conflict` is `suppress` or `delay`, not `{clip(text, 60)}`",
                    self.span(keys["conflict"][1]),
                    hint="a send that loses to a higher priority is dropped (`suppress`) or sent when a slot frees"
                    " (`delay`)",
                )
        item_spans = tuple((k, self.span(keys[k][0], keys[k][1])) for k in ("settle", "conflict") if k in keys)
        return ContactPolicy(
            tuple(caps),
            priority=priority,
            quiet=quiet,
            settle=settle,
            conflict=conflict,
            span=self.span(key, node),  # from the key, as a channel's: a comment above `policy:` stays there
            item_spans=item_spans,
        )

    def priority(self, key: Node, node: Node) -> Priority | None:
        """`{journeys: [a, b]}` or `{experiences: [x, y]}`: exactly one of the two."""
        keys = self.mapping(node, "`priority`", PRIORITY_KINDS)
        if keys is None or (not keys and isinstance(node, MappingNode) and node.value):  # unknown keys: reported
            return None
        if len(keys) != 1:
            self.structure(
                node,
                "`priority` orders either `journeys` or `experiences`, one of them",
                hint="e.g. `priority: {journeys: [service_move, win_back]}`",
            )
            return None
        kind, (_, value) = next(iter(keys.items()))
        names: list[tuple[str, Span]] = []
        for item in self.sequence(value, f"`{kind}`"):
            name = self.ident(item, "journey name" if kind == "journeys" else "experience name")
            if name is not None:
                names.append((name, self.span(item)))
        return Priority(
            kind,
            tuple(n for n, _ in names),
            span=self.span(key, node),
            name_spans=tuple(span for _, span in names),
        )

    def fields(self, node: Node, where: str) -> list[FieldDef]:
        found: list[FieldDef] = []
        for field, key, value in self.named(node, where):
            type_ref = self.type_ref(value, f"the type of `{field}`")
            if type_ref is not None:
                found.append(FieldDef(field, type_ref, span=self.span(key, value)))
        return found

    def channel(self, name: str, key: Node, node: Node) -> ChannelDef:
        if isinstance(node, ScalarNode) and node.tag == NULL_TAG:
            return ChannelDef(name, span=self.span(key, node))
        keys = self.mapping(node, f"channel `{name}`", ("cost", "requires")) or {}
        cost: int | float = 0
        if "cost" in keys:
            number = self.number(keys["cost"][1], "`cost`")
            cost = number if number is not None else 0
        requires = self.profile_field(keys["requires"][1], "`requires`") if "requires" in keys else None
        return ChannelDef(name, cost, requires, span=self.span(key, node))

    def profile_field(self, node: Node, what: str) -> str | None:
        """`profile.segment` -> "segment"."""
        text = self.text_value(node, what)
        if text is None:
            return None
        head, _, field = text.partition(".")
        if head != "profile" or not IDENT.fullmatch(field):
            self.structure(node, f"{what} must name a profile field like `profile.segment`, not `{clip(text, 60)}`")
            return None
        return field if self.check_ident(field, node, "profile field") else None

    # ------------------------------------------------------------------ journey

    def journey(self, node: Node) -> Journey | None:
        keys = self.mapping(node, "a journey", JOURNEY_KEYS, required=("journey",))
        if keys is None:
            return None
        get: Callable[[str], Node | None] = lambda k: keys[k][1] if k in keys else None  # noqa: E731
        name = self.ident(keys["journey"][1], "journey name") if "journey" in keys else None
        fields: dict[str, Any] = {}
        for key in ("title", "owner", "team", "description"):
            value = get(key)
            if value is not None:
                fields[key] = self.text_value(value, f"`{key}`")
        for key in ("experience", "uses"):
            value = get(key)
            if value is not None:
                fields[key] = self.ident(value, f"`{key}` name")
        if (value := get("version")) is not None:
            fields["version"] = self.integer(value, "`version`")
        if (value := get("tags")) is not None:
            tags = [self.text_value(item, "a tag") for item in self.sequence(value, "`tags`")]
            fields["tags"] = tuple(tag for tag in tags if tag is not None)
        if (value := get("entry")) is not None:
            fields["entry"] = self.entry(value)
        if (value := get("audience")) is not None:
            fields["audience"] = self.expression(value, "`audience`")
        if (value := get("reentry")) is not None:
            fields["reentry"] = self.reentry(value)
        if (value := get("exit")) is not None:
            fields["exits"] = tuple(x for x in (self.exit(i) for i in self.sequence(value, "`exit`")) if x)
        if (value := get("goals")) is not None:
            fields["goals"] = tuple(g for g in (self.goal(i) for i in self.sequence(value, "`goals`")) if g)
        if (value := get("caps")) is not None:
            fields["caps"] = tuple(c for c in (self.cap(i) for i in self.sequence(value, "`caps`")) if c)
        if (value := get("quiet")) is not None:
            fields["quiet"] = self.quiet(value)
        if (value := get("stages")) is not None:
            fields["stages"] = tuple(self.stage(n, k, v) for n, k, v in self.named(value, "`stages`", allow_null=False))
        if (value := get("migrate")) is not None:
            found = (self.migration(item) for item in self.sequence(value, "`migrate`"))
            fields["migrations"] = tuple(m for m in found if m is not None)
        if name is None:
            return None
        # Where each plain header value is, as the DSL keeps it: what diagnostics about the value point at.
        value_spans = tuple(
            (key, self.span(keys[key][1])) for key in HEADER_KEYS if key in keys and fields.get(key) is not None
        )
        return Journey(name, span=self.span(node), value_spans=value_spans, **fields)

    def entry(self, node: Node) -> Entry | None:
        keys = self.mapping(node, "`entry`", ("on", "where", "key"), required=("on",))
        if keys is None or "on" not in keys:
            return None
        event = self.ident(keys["on"][1], "event name")
        where = self.expression(keys["where"][1], "`where`") if "where" in keys else None
        key = self.expression(keys["key"][1], "`key`") if "key" in keys else None
        return Entry(event, where, key, span=self.span(node)) if event is not None else None

    def reentry(self, node: Node) -> Reentry | None:
        text = self.text_value(node, "`reentry`")
        if text is None:
            return None
        words = text.split()
        if words in (["never"], ["always"]):
            return Reentry(words[0], span=self.span(node))
        if len(words) == 2 and words[0] == "after":
            after = self.duration(node, "`reentry after`", words[1])
            return Reentry("after", after, span=self.span(node)) if after is not None else None
        self.sink.report(
            codes.BAD_LITERAL,
            f"`reentry` must be `never`, `always` or `after DURATION`, not `{clip(text, 60)}`",
            self.span(node),
            hint="e.g. `reentry: after 90d`",
        )
        return None

    def exit(self, node: Node) -> Exit | None:
        keys = self.mapping(node, "an `exit`", ("on", "where"), required=("on",))
        if keys is None or "on" not in keys:
            return None
        event = self.ident(keys["on"][1], "event name")
        where = self.expression(keys["where"][1], "`where`") if "where" in keys else None
        return Exit(event, where, span=self.span(node)) if event is not None else None

    def goal(self, node: Node) -> Goal | None:
        keys = self.mapping(
            node, "a goal", ("name", "on", "where", "within", "value", "expect"), required=("name", "on")
        )
        if keys is None or "name" not in keys or "on" not in keys:
            return None
        name = self.ident(keys["name"][1], "goal name")
        event = self.ident(keys["on"][1], "event name")
        where = self.expression(keys["where"][1], "`where`") if "where" in keys else None
        within = self.duration(keys["within"][1], "`within`") if "within" in keys else None
        value = self.expression(keys["value"][1], "`value`") if "value" in keys else None
        expect = self.percent(keys["expect"][1], "`expect`") if "expect" in keys else None
        if name is None or event is None:
            return None
        return Goal(name, event, where, within, value, span=self.span(node), expect=expect)

    def percent(self, node: Node, what: str) -> float | None:
        """`12%` or `12.5%`, a string: a bare number could be a share (0.12) or a percentage (12)."""
        self.spend()
        text = str(node.value).strip() if isinstance(node, ScalarNode) and node.tag != NULL_TAG else None
        match = PERCENT.fullmatch(text) if text is not None else None
        if match is None:
            number = _NUMBER_TEXT.fullmatch(text) if text is not None else None
            self.sink.report(
                codes.BAD_LITERAL,
                f"{what} must be a percentage like `12%`, not {_kind(node)}",
                self.span(node),
                hint=f"write {what.strip('`')}: {text if number else 12}%",
            )
            return None
        value = parse_number(match.group(1))
        return float(value) if value is not None else float(self.too_large(node))

    def cap_parts(self, node: Node, what: str) -> tuple[str, int, Duration] | None:
        """`{channel, max, per}`: a journey's cap and a policy's shared cap are written alike."""
        keys = self.mapping(node, what, ("channel", "max", "per"), required=("channel", "max", "per"))
        if keys is None or len(keys) < 3:
            return None
        channel = self.ident(keys["channel"][1], "channel name")
        most = self.integer(keys["max"][1], "`max`")
        per = self.duration(keys["per"][1], "`per`")
        if channel is None or most is None or per is None:
            return None
        return channel, most, per

    def cap(self, node: Node) -> Cap | None:
        parts = self.cap_parts(node, "a cap")
        return Cap(*parts, span=self.span(node)) if parts is not None else None

    def quiet(self, node: Node) -> Quiet | None:
        text = self.text_value(node, "`quiet`")
        if text is None:
            return None
        match = TIME_RANGE.fullmatch(text.strip())
        hours = [int(part) for part in match.groups()] if match else []
        if not hours or hours[0] > 23 or hours[1] > 59 or hours[2] > 23 or hours[3] > 59:
            self.sink.report(
                codes.BAD_LITERAL,
                f"`quiet` must be a time range `HH:MM-HH:MM`, not `{clip(text, 60)}`",
                self.span(node),
                hint='e.g. `quiet: "21:00-08:00"`',
            )
            return None
        # `8:00` is stored as `08:00`, as the DSL parser does: the IR holds one spelling of a time.
        return Quiet(f"{hours[0]:02d}:{hours[1]:02d}", f"{hours[2]:02d}:{hours[3]:02d}", span=self.span(node))

    def migration(self, node: Node) -> Migration | None:
        """`{from: 1, moves: {old: new}, keep: [old]}`; a source written twice stays twice, for the checker."""
        keys = self.mapping(node, "a migration", ("from", "moves", "keep"), required=("from",))
        if keys is None or "from" not in keys:
            return None
        version = self.integer(keys["from"][1], "`from`")
        moves: list[MigrationMove] = []
        if "moves" in keys:
            for source, key, value in self.named(keys["moves"][1], "`moves`"):
                target = self.ident(value, "step name")
                if target is not None:
                    moves.append(MigrationMove(source, target, span=self.span(key, value)))
        keep: list[tuple[str, Span]] = []
        if "keep" in keys:
            for item in self.sequence(keys["keep"][1], "`keep`"):
                step = self.ident(item, "step name")
                if step is not None:
                    keep.append((step, self.span(item)))
        if version is None:
            return None
        return Migration(
            version,
            tuple(moves),
            tuple(step for step, _ in keep),
            span=self.span(node),
            keep_spans=tuple(span for _, span in keep),
        )

    # ------------------------------------------------------------------ stages and steps

    def stage(self, name: str, key: Node, node: Node) -> Stage:
        steps = tuple(self.step(n, k, v) for n, k, v in self.named(node, f"stage `{name}`"))
        return Stage(name, steps, span=self.span(key, node))

    def step(self, name: str, key: Node, node: Node) -> Step:
        span = self.span(key, node)
        keys = self.mapping(node, f"step `{name}`", STEP_KEYS)
        if keys is None:
            return Step(name, (), End(span=span), span=span)
        actions: list[Action] = []
        if "do" in keys:
            for item in self.sequence(keys["do"][1], "`do`"):
                action = self.action(item)
                if action is not None:
                    actions.append(action)
        flow = self.flow(name, key, keys)
        # A step without a valid flow keeps its name (so targets resolve) with a placeholder `end`.
        return Step(name, tuple(actions), flow or End(span=span), span=span)

    def flow(self, name: str, step_key: Node, keys: dict[str, tuple[Node, Node]]) -> Flow | None:
        present = [k for k in FLOW_KEYS if k in keys]
        wait_node = keys["wait"][1] if "wait" in keys else None
        if wait_node is not None and isinstance(wait_node, ScalarNode) and "next" in keys:
            present.remove("next")  # `wait: 30d` + `next: x` is one flow: a sleep
        if not present:
            self.structure(
                step_key,
                f"step `{name}` has no flow",
                hint="add one of `next`, `wait`, `choose`, `experiment` or `end`",
            )
            return None
        # Report extra flows in the order they were written.
        ordered = sorted(present, key=lambda k: keys[k][0].start_mark.index)
        for extra in ordered[1:]:
            self.structure(
                keys[extra][0],
                f"step `{name}` has more than one flow (`{ordered[0]}` and `{extra}`)",
                hint="a step is actions followed by exactly one flow",
            )
        kind = ordered[0]
        key, node = keys[kind]
        span = self.span(key, node)
        if kind == "next":
            target = self.target(node)
            return Goto(target, span=span) if target else None
        if kind == "end":
            if isinstance(node, ScalarNode) and node.tag == NULL_TAG:
                return End(span=span)
            outcome = self.ident(node, "outcome")
            return End(outcome, span=span) if outcome else None
        if kind == "wait":
            return self.wait(node, keys, span)
        if kind == "choose":
            return self.choose(node, span)
        return self.experiment(node, span)

    def wait(self, node: Node, keys: dict[str, tuple[Node, Node]], span: Span) -> Flow | None:
        if isinstance(node, ScalarNode):
            duration = self.duration(node, "`wait`")
            if "next" not in keys:
                self.structure(node, "`wait: DURATION` needs `next: STEP`", hint="or write `wait:` as a list of arms")
                return None
            target = self.target(keys["next"][1])
            if duration is None or target is None:
                return None
            last = max((keys[k][1] for k in ("wait", "next")), key=lambda n: n.end_mark.index)
            return Sleep(duration, target, span=self.span(keys["wait"][0], last))
        arms: list[WaitArm] = []
        timeout: Timeout | None = None
        for item in self.sequence(node, "`wait`"):
            arm_keys = self.mapping(item, "a wait arm", ("on", "where", "after", "at", "next"), required=("next",))
            if arm_keys is None:
                continue
            kinds = [k for k in ("on", "after", "at") if k in arm_keys]
            if len(kinds) != 1:
                self.structure(item, "a wait arm needs exactly one of `on`, `after` or `at`")
                continue
            if "where" in arm_keys and kinds[0] != "on":
                self.structure(arm_keys["where"][0], "`where` belongs to an `on` arm")
            target = self.target(arm_keys["next"][1]) if "next" in arm_keys else None
            if kinds[0] == "on":
                event = self.ident(arm_keys["on"][1], "event name")
                where = self.expression(arm_keys["where"][1], "`where`") if "where" in arm_keys else None
                if event is not None and target is not None:
                    arms.append(WaitArm(event, target, where, span=self.span(item)))
                continue
            if timeout is not None:
                self.structure(item, "a wait has at most one `after` or `at`")
                continue
            after = self.duration(arm_keys["after"][1], "`after`") if kinds[0] == "after" else None
            at = self.expression(arm_keys["at"][1], "`at`") if kinds[0] == "at" else None
            if target is not None and (after is not None or at is not None):
                timeout = Timeout(target, after, at, span=self.span(item))
        return Wait(tuple(arms), timeout, span=span)

    def choose(self, node: Node, span: Span) -> Choose | None:
        branches: list[When] = []
        otherwise: Target | None = None
        for item in self.sequence(node, "`choose`"):
            keys = self.mapping(item, "a choose branch", ("when", "next", "otherwise"))
            if keys is None:
                continue
            if "otherwise" in keys:
                for extra in ("when", "next"):
                    if extra in keys:
                        self.structure(keys[extra][0], f"`{extra}` does not belong with `otherwise`")
                if otherwise is not None:
                    self.structure(item, "a choose has at most one `otherwise`")
                    continue
                otherwise = self.target(keys["otherwise"][1])
                continue
            if "when" not in keys or "next" not in keys:
                self.structure(item, "a choose branch is `{when: EXPR, next: STEP}` or `{otherwise: STEP}`")
                continue
            condition = self.expression(keys["when"][1], "`when`")
            target = self.target(keys["next"][1])
            if condition is not None and target is not None:
                branches.append(When(condition, target, span=self.span(item)))
        return Choose(tuple(branches), otherwise, span=span)

    def experiment(self, node: Node, span: Span) -> Experiment | None:
        keys = self.mapping(node, "`experiment`", ("name", "variants"), required=("name", "variants"))
        if keys is None or "name" not in keys or "variants" not in keys:
            return None
        name = self.ident(keys["name"][1], "experiment name")
        variants = [self.variant(item) for item in self.sequence(keys["variants"][1], "`variants`")]
        if name is None:
            return None
        return Experiment(name, tuple(v for v in variants if v is not None), span=span)

    def variant(self, node: Node) -> Variant | None:
        keys = self.mapping(node, "a variant", ("name", "control", "weight", "next"), required=("weight", "next"))
        if keys is None or "weight" not in keys or "next" not in keys:
            return None
        control = self.boolean(keys["control"][1], "`control`") if "control" in keys else False
        if "name" in keys:
            name = self.ident(keys["name"][1], "variant name")
            if control and name not in (None, "control"):
                # The DSL writes the holdout as `control N% -> step`: a name here could not survive `convert`.
                self.structure(keys["name"][0], f"the control variant is always named `control`, not `{name}`")
                name = None
        elif control:
            name = "control"
        else:
            self.structure(node, "a variant needs a `name` (or `control: true`)")
            name = None
        weight = self.weight(keys["weight"][1])
        target = self.target(keys["next"][1])
        if name is None or weight is None or target is None:
            return None
        return Variant(name, weight, target, bool(control), span=self.span(node))

    def weight(self, node: Node) -> int | None:
        """An integer percentage; `50%` is accepted too."""
        self.spend()
        if isinstance(node, ScalarNode) and node.tag == INT_TAG:
            value = _scalar(node)
            return value if isinstance(value, int) and in_range(value) else self.too_large(node)
        if isinstance(node, ScalarNode) and (match := WEIGHT_PERCENT.fullmatch(str(node.value).strip())):
            percent = parse_number(match.group(1))
            return int(percent) if percent is not None else self.too_large(node)
        what = _kind(node)
        self.sink.report(
            codes.BAD_LITERAL,
            f"a weight must be a whole percentage, not {what}",
            self.span(node),
            hint=_unquote_hint(node) or "e.g. `weight: 50`",
        )
        return None

    # ------------------------------------------------------------------ actions

    def action(self, node: Node) -> Action | None:
        if not isinstance(node, MappingNode) or len(node.value) != 1:
            self.structure(
                node,
                "an action is a mapping with one key: `send`, `set`, `emit` or `call`",
                hint="e.g. `- send: {channel: email, template: welcome}`",
            )
            return None
        keys = self.mapping(node, "an action", ACTION_KEYS)
        if not keys:
            return None
        kind, (_, body) = next(iter(keys.items()))
        span = self.span(node)
        if kind == "send":
            fields = self.mapping(body, "`send`", ("channel", "template", "with"), required=("channel", "template"))
            if fields is None or "channel" not in fields or "template" not in fields:
                return None
            channel = self.ident(fields["channel"][1], "channel name")
            template = self.ident(fields["template"][1], "template name")
            args = self.args(fields)
            return Send(channel, template, args, span=span) if channel and template else None
        if kind == "set":
            fields = self.mapping(body, "`set`", ("field", "value"), required=("field", "value"))
            if fields is None or "field" not in fields or "value" not in fields:
                return None
            field = self.profile_field(fields["field"][1], "`field`")
            value = self.expression(fields["value"][1], "`value`")
            return SetProfile(field, value, span=span) if field and value is not None else None
        if kind == "emit":
            fields = self.mapping(body, "`emit`", ("event", "with"), required=("event",))
            if fields is None or "event" not in fields:
                return None
            event = self.ident(fields["event"][1], "event name")
            return Emit(event, self.args(fields), span=span) if event else None
        fields = self.mapping(body, "`call`", ("name", "with"), required=("name",))
        if fields is None or "name" not in fields:
            return None
        name = self.ident(fields["name"][1], "integration name")
        return CallAction(name, self.args(fields), span=span) if name else None

    def args(self, fields: dict[str, tuple[Node, Node]]) -> tuple[Arg, ...]:
        if "with" not in fields:
            return ()
        found: list[Arg] = []
        for name, key, value in self.named(fields["with"][1], "`with`"):
            expr = self.expression(value, f"`{name}`")
            if expr is not None:
                found.append(Arg(name, expr, span=self.span(key, value)))
        return tuple(found)


def _keys_hint(allowed: Sequence[str]) -> str:
    return "expected keys: " + ", ".join(f"`{k}`" for k in allowed)
