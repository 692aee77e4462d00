"""DSL text -> IR, the inner part: the Lark Transformer that runs inline in the LALR parser.

It sits above the parse state (syntax/state.py) and below grammar.py, which builds the parser around it; the
entry point, `parse_dsl`, is in syntax/dsl.py, above both. Callbacks return IR nodes and never raise (Lark would
wrap an exception in a VisitError): what the IR cannot represent (a bad duration unit, a second `title`) goes
into the parse state's problem list as a diagnostic. Positions come from tokens, because Lark's inline
transformer gets no `meta`: named keyword terminals in the grammar (SEND, STEP, RBRACE, ...) are kept so a node
knows where it starts and ends. A transformer serves one parse at a time: grammar.py gives each parse one of its
own, with a fresh ParseState.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import Any

from lark import Token, Transformer, v_args

from journeydsl.diagnostics import codes
from journeydsl.ir import (
    CONFLICT_MODES,
    DURATION_UNITS,
    PRIORITY_KINDS,
    SCALAR_TYPES,
    Action,
    Arg,
    Binary,
    Call,
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
    ListLit,
    Literal,
    Migration,
    MigrationMove,
    Name,
    Priority,
    Quiet,
    Reentry,
    Schema,
    Send,
    SetProfile,
    SharedCap,
    Sleep,
    Span,
    Stage,
    Step,
    Target,
    Timeout,
    TypeRef,
    Unary,
    Variant,
    Wait,
    WaitArm,
    When,
)
from journeydsl.syntax.durations import bounded_duration, split_token
from journeydsl.syntax.limits import (
    DURATION_HINT,
    MAX_NESTING,
    MAX_SAFE_INTEGER,
    MAX_TYPE_NESTING,
    NESTING_HINT,
    NUMBER_HINT,
    Elided,
    clip,
    duration_message,
    number_message,
    parse_number,
)
from journeydsl.syntax.state import ParseState

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}

# Header items that hold one plain value; the order is the canonical one `fmt` prints.
HEADER_KEYS: tuple[str, ...] = ("title", "version", "owner", "team", "description", "tags", "experience", "uses")
# Policies that may be written at most once.
SINGLE_POLICIES: tuple[str, ...] = ("entry", "audience", "reentry", "quiet")


@dataclass(frozen=True)
class _Item:
    """A header item or block marker handed from a child callback to its parent."""

    key: str
    value: Any
    span: Span
    value_span: Span | None = None  # where a plain header item's value is, for Journey.value_spans


@dataclass(frozen=True)
class _With:
    args: tuple[Arg, ...]
    end: Token


Positioned = Token | Span | Any  # a Token, or an IR node with a span


@v_args(inline=True)
class JourneyTransformer(Transformer[Token, Any]):
    """Builds IR nodes bottom-up while the LALR parser reduces."""

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.state = ParseState("<text>")  # replaced by the parse that uses this transformer

    # ------------------------------------------------------------- positions

    def _start(self, item: Positioned) -> tuple[int, int]:
        if isinstance(item, Token):
            if self.state.line_offset or self.state.col_offset:
                return self.state.position(item.line or 1, item.column or 1)
            return item.line or 1, item.column or 1
        span = item if isinstance(item, Span) else item.span
        return (span.line, span.col) if span else (1, 1)

    def _end(self, item: Positioned) -> tuple[int, int]:
        if isinstance(item, Token):
            if self.state.line_offset or self.state.col_offset:
                return self.state.position(item.end_line or 1, item.end_column or 1)
            return item.end_line or 1, item.end_column or 1
        span = item if isinstance(item, Span) else item.span
        return (span.end_line, span.end_col) if span else (1, 1)

    def _span(self, first: Positioned, last: Positioned | None = None) -> Span:
        if last is None:
            last = first
        state = self.state
        # Fast path (the DSL itself: no offsets, tokens or nodes with spans); this runs once per node.
        if not (state.line_offset or state.col_offset):
            if type(first) is Token and type(last) is Token:
                return Span(state.path, first.line, first.column, last.end_line, last.end_column)  # type: ignore[arg-type]
            start = first if type(first) is Span else getattr(first, "span", None)
            end = last if type(last) is Span else getattr(last, "span", None)
            if start is not None and end is not None:
                return Span(state.path, start.line, start.col, end.end_line, end.end_col)
        line, col = self._start(first)
        end_line, end_col = self._end(last)
        return Span(state.path, line, col, end_line, end_col)

    # ------------------------------------------------------------- literals

    def _int(self, token: Token, what: str) -> int:
        value = self._number(token)
        if "." in token.value:
            message = f"{what} must be a whole number, got `{token.value}`"
            self.state.report(codes.BAD_LITERAL, message, self._span(token))
            return int(value)
        return int(value)

    def _duration(self, token: Token) -> Duration:
        text = token.value
        amount_text, unit = split_token(text)
        span = self._span(token)
        if "." in amount_text:
            self.state.report(
                codes.BAD_LITERAL,
                f"a duration is a whole number and a unit, got `{clip(text)}`",
                span,
                hint="write e.g. `90m` instead of `1.5h`",
            )
            amount_text = amount_text.split(".", 1)[0]
        if unit not in DURATION_UNITS:
            self.state.report(
                codes.BAD_LITERAL,
                f"unknown duration unit `{clip(unit)}` in `{clip(text)}`",
                span,
                hint="units are s (seconds), m (minutes), h (hours), d (days), w (weeks): `30s 15m 12h 7d 2w`",
            )
            unit = "s"
        duration, fits = bounded_duration(amount_text, unit, span)
        if not fits:
            self.state.report(codes.INPUT_TOO_LARGE, duration_message(text), span, hint=DURATION_HINT)
        return duration

    def _string(self, token: Token) -> str:
        raw: str = token.value[1:-1]
        if "\\" not in raw:
            return raw
        out: list[str] = []
        i = 0
        while i < len(raw):
            char = raw[i]
            if char == "\\" and i + 1 < len(raw):
                nxt = raw[i + 1]
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                else:
                    self.state.report(
                        codes.BAD_LITERAL,
                        f"unknown escape `\\{nxt}` in a string",
                        self._span(token),
                        hint='strings know `\\"`, `\\\\`, `\\n` and `\\t`',
                    )
                    out.append(nxt)
                i += 2
            else:
                out.append(char)
                i += 1
        return "".join(out)

    # ------------------------------------------------------------- start symbols

    def start(self, *items: Any) -> list[Any]:
        return list(items)

    def expression(self, expr: Expr) -> Expr:
        return expr

    def type(self, type_ref: TypeRef) -> TypeRef:
        return type_ref

    # ------------------------------------------------------------- expressions

    def _number(self, token: Token) -> int | float:
        value = parse_number(token.value)
        if value is None:
            self.state.report(codes.INPUT_TOO_LARGE, number_message(token.value), self._span(token), hint=NUMBER_HINT)
            return MAX_SAFE_INTEGER  # in range, so nothing else complains about the number
        return value

    def _depth(self, children: tuple[Any, ...]) -> tuple[int, bool]:
        """The nesting depth of a node over `children`, and whether a cut (Elided) lies below it."""
        depths = self.state.depths
        depth, elided = 2, False
        for child in children:
            entry = depths.get(id(child))
            if entry is not None and entry[0] is child:
                depth = max(depth, entry[1] + 1)
                elided = elided or entry[2]
        return depth, elided

    def _too_deep(self, what: str, limit: int, span: Span | None, elided: bool, hint: str) -> None:
        if not elided:  # a subtree cut before already said so: one diagnostic per deep expression
            message = f"this {what} nests more than {limit} levels deep"
            self.state.report(codes.NESTING_TOO_DEEP, message, span, hint=hint)

    def _nest(self, node: Expr, *children: Expr) -> Expr:
        """`node` with its depth recorded; deeper than MAX_NESTING, an Elided leaf in its place."""
        depth, elided = self._depth(children)
        if depth > MAX_NESTING:
            self._too_deep("expression", MAX_NESTING, node.span, elided, NESTING_HINT)
            node, depth, elided = Elided(None, span=node.span), 1, True
        self.state.depths[id(node)] = (node, depth, elided)
        return node

    def _nest_type(self, node: TypeRef, *children: TypeRef) -> TypeRef:
        depth, elided = self._depth(children)
        if depth > MAX_TYPE_NESTING:
            hint = "a type like `list<list<string>>` needs only a few levels"
            self._too_deep("type", MAX_TYPE_NESTING, node.span, elided, hint)
            node, depth, elided = TypeRef("list", span=node.span), 1, True
        self.state.depths[id(node)] = (node, depth, elided)
        return node

    def number(self, token: Token) -> Literal:
        return Literal(self._number(token), span=self._span(token))

    def string(self, token: Token) -> Literal:
        return Literal(self._string(token), span=self._span(token))

    def duration(self, token: Token) -> Literal:
        value = self._duration(token)
        return Literal(value, span=value.span)

    def true(self, token: Token) -> Literal:
        return Literal(True, span=self._span(token))

    def false(self, token: Token) -> Literal:
        return Literal(False, span=self._span(token))

    def null(self, token: Token) -> Literal:
        return Literal(None, span=self._span(token))

    def list_lit(self, first: Token, *rest: Any) -> Expr:
        items = tuple(rest[:-1])
        return self._nest(ListLit(items, span=self._span(first, rest[-1])), *items)

    def func_call(self, name: Token, *rest: Any) -> Expr:
        args = tuple(rest[:-1])
        return self._nest(Call(name.value, args, span=self._span(name, rest[-1])), *args)

    def name(self, *parts: Token) -> Name:
        return Name(tuple(part.value for part in parts), span=self._span(parts[0], parts[-1]))

    def neg(self, minus: Token, operand: Expr) -> Expr:
        span = self._span(minus, operand)
        # `-5` is the number -5, so that printing Literal(-5) as `-5` parses back to the same IR.
        if isinstance(operand, Literal) and type(operand.value) in (int, float):
            return Literal(-operand.value, span=span)  # type: ignore[operator]
        return self._nest(Unary("-", operand, span=span), operand)

    def not_op(self, token: Token, operand: Expr) -> Expr:
        return self._nest(Unary("not", operand, span=self._span(token, operand)), operand)

    def _binary(self, op: str, left: Expr, right: Expr) -> Expr:
        return self._nest(Binary(op, left, right, span=self._span(left, right)), left, right)

    def or_op(self, left: Expr, right: Expr) -> Expr:
        return self._binary("or", left, right)

    def and_op(self, left: Expr, right: Expr) -> Expr:
        return self._binary("and", left, right)

    def eq(self, left: Expr, right: Expr) -> Expr:
        return self._binary("==", left, right)

    def ne(self, left: Expr, right: Expr) -> Expr:
        return self._binary("!=", left, right)

    def lt(self, left: Expr, right: Expr) -> Expr:
        return self._binary("<", left, right)

    def le(self, left: Expr, right: Expr) -> Expr:
        return self._binary("<=", left, right)

    def gt(self, left: Expr, right: Expr) -> Expr:
        return self._binary(">", left, right)

    def ge(self, left: Expr, right: Expr) -> Expr:
        return self._binary(">=", left, right)

    def in_op(self, left: Expr, right: Expr) -> Expr:
        return self._binary("in", left, right)

    def not_in_op(self, left: Expr, right: Expr) -> Expr:
        return self._binary("not in", left, right)

    def add(self, left: Expr, right: Expr) -> Expr:
        return self._binary("+", left, right)

    def sub(self, left: Expr, right: Expr) -> Expr:
        return self._binary("-", left, right)

    def mul(self, left: Expr, right: Expr) -> Expr:
        return self._binary("*", left, right)

    def div(self, left: Expr, right: Expr) -> Expr:
        return self._binary("/", left, right)

    def mod(self, left: Expr, right: Expr) -> Expr:
        return self._binary("%", left, right)

    # ------------------------------------------------------------- types and schema

    def simple_type(self, name: Token) -> TypeRef:
        span = self._span(name)
        if name.value not in SCALAR_TYPES:
            close = difflib.get_close_matches(name.value, (*SCALAR_TYPES, "list", "enum"), n=1)
            self.state.report(
                codes.SYNTAX_ERROR,
                f"unknown type `{name.value}`",
                span,
                hint=(f"did you mean `{close[0]}`? " if close else "")
                + "types are string, number, bool, timestamp, duration, list<T>, enum(a, b) and T? for nullable",
            )
        return TypeRef(name.value, span=span)

    def list_type(self, token: Token, item: TypeRef, gt: Token) -> TypeRef:
        return self._nest_type(TypeRef("list", item=item, span=self._span(token, gt)), item)

    def enum_type(self, token: Token, *rest: Token) -> TypeRef:
        return TypeRef("enum", members=tuple(t.value for t in rest[:-1]), span=self._span(token, rest[-1]))

    def type_ref(self, base: TypeRef, qmark: Token | None = None) -> TypeRef:
        if qmark is None:
            return base
        nullable = replace(base, nullable=True, span=self._span(base, qmark))
        entry = self.state.depths.get(id(base))
        if entry is not None and entry[0] is base:  # the same type, so the same depth
            self.state.depths[id(nullable)] = (nullable, entry[1], entry[2])
        return nullable

    def field(self, name: Token, type_ref: TypeRef) -> FieldDef:
        return FieldDef(name.value, type_ref, span=self._span(name, type_ref))

    def profile(self, token: Token, *rest: Any) -> _Item:
        return _Item("profile", tuple(rest[:-1]), self._span(token, rest[-1]))

    def event_def(self, token: Token, name: Token, *rest: Any) -> EventDef:
        return EventDef(name.value, tuple(rest[:-1]), span=self._span(token, rest[-1]))

    def cost(self, token: Token, number: Token) -> _Item:
        return _Item("cost", self._number(number), self._span(token, number))

    def requires(self, token: Token, root: Token, name: Token) -> _Item:
        span = self._span(token, name)
        if root.value != "profile":
            self.state.report(
                codes.SYNTAX_ERROR,
                f"`requires` names a profile field, got `{root.value}.{name.value}`",
                span,
                hint="write e.g. `requires profile.consent_email`",
            )
        return _Item("requires", name.value, span)

    def channel_def(self, token: Token, name: Token, *rest: Any) -> ChannelDef:
        props: dict[str, Any] = {}
        for item in rest[:-1]:
            self._once(props, item, f"channel `{name.value}`")
        return ChannelDef(
            name.value,
            cost=props.get("cost", 0),
            requires=props.get("requires"),
            span=self._span(token, rest[-1]),
        )

    def integration_def(self, token: Token, name: Token) -> IntegrationDef:
        return IntegrationDef(name.value, span=self._span(token, name))

    def policy_cap(self, token: Token, channel: Token, count: Token, per: Token, *across: Token) -> SharedCap:
        return SharedCap(
            channel.value, self._int(count, "a cap"), self._duration(per), span=self._span(token, across[-1])
        )

    def priority(self, token: Token, kind: Token, *rest: Token) -> Priority:
        if kind.value not in PRIORITY_KINDS:
            close = difflib.get_close_matches(kind.value, PRIORITY_KINDS, n=1)
            self.state.report(
                codes.SYNTAX_ERROR,
                f"a priority orders `journeys` or `experiences`, not `{clip(kind.value)}`",
                self._span(kind),
                hint=(f"did you mean `{close[0]}`? " if close else "")
                + "write e.g. `priority journeys [service_move, win_back]`",
            )
        names = rest[:-1]
        return Priority(
            kind.value,
            tuple(n.value for n in names),
            span=self._span(token, rest[-1]),
            name_spans=tuple(self._span(n) for n in names),
        )

    def settle(self, token: Token, value: Token) -> _Item:
        return _Item("settle", self._duration(value), self._span(token, value))

    def conflict(self, token: Token, mode: Token) -> _Item:
        if mode.value not in CONFLICT_MODES:
            close = difflib.get_close_matches(mode.value, CONFLICT_MODES, n=1)
            self.state.report(
                codes.BAD_LITERAL,  # as in the YAML form: the policy is read, with the default mode
                f"`conflict` is `suppress` or `delay`, not `{clip(mode.value)}`",
                self._span(mode),
                hint=(f"did you mean `{close[0]}`? " if close else "")
                + "a send that loses to a higher priority is dropped (`suppress`) or sent when a slot frees (`delay`)",
            )
        return _Item("conflict", mode.value, self._span(token, mode))

    def policy(self, token: Token, *rest: Any) -> _Item:
        caps: list[SharedCap] = []
        seen: dict[str, Any] = {}
        item_spans: list[tuple[str, Span]] = []
        for item in rest[:-1]:
            if isinstance(item, SharedCap):
                caps.append(item)  # a channel capped twice is the checker's to report (JD for both forms)
                continue
            if isinstance(item, (Priority, Quiet)):
                item = _Item(type(item).__name__.lower(), item, item.span or self._span(token))
            if self._once(seen, item, "the schema's `policy`") and item.key in ("settle", "conflict"):
                item_spans.append((item.key, item.span))
        conflict = seen.get("conflict", "suppress")
        policy = ContactPolicy(
            tuple(caps),
            priority=seen.get("priority"),
            quiet=seen.get("quiet"),
            settle=seen.get("settle"),
            conflict=conflict if conflict in CONFLICT_MODES else "suppress",
            span=self._span(token, rest[-1]),
            item_spans=tuple(item_spans),
        )
        return _Item("policy", policy, policy.span or self._span(token))

    def schema(self, token: Token, name: Token, *rest: Any) -> Schema:
        profile: tuple[FieldDef, ...] = ()
        policy: ContactPolicy | None = None
        seen: dict[str, Any] = {}
        events: list[EventDef] = []
        channels: list[ChannelDef] = []
        integrations: list[IntegrationDef] = []
        item_spans: list[tuple[str, Span]] = []
        for item in rest[:-1]:
            if isinstance(item, _Item):
                # A second `policy` block is JD009 like a second `profile`: one policy per schema.
                if self._once(seen, item, f"schema `{name.value}`"):
                    if item.key == "policy":
                        policy = item.value
                    else:
                        profile = item.value
                    item_spans.append((item.key, item.span))
            elif isinstance(item, EventDef):
                events.append(item)
            elif isinstance(item, ChannelDef):
                channels.append(item)
            elif isinstance(item, IntegrationDef):
                integrations.append(item)
        return Schema(
            name.value,
            profile,
            tuple(events),
            tuple(channels),
            span=self._span(token, rest[-1]),
            integrations=tuple(integrations),
            policy=policy,
            item_spans=tuple(item_spans),
        )

    def _once(self, seen: dict[str, Any], item: _Item, where: str) -> bool:
        """Record a single-valued item; a second one is JD009 and is dropped."""
        if item.key in seen:
            self.state.report(
                codes.DUPLICATE_HEADER,
                f"`{item.key}` is written twice in {where}",
                item.span,
                hint="keep one; the first is used",
            )
            return False
        seen[item.key] = item.value
        return True

    # ------------------------------------------------------------- journey header and policies

    def title(self, token: Token, value: Token) -> _Item:
        return _Item("title", self._string(value), self._span(token, value), self._span(value))

    def owner(self, token: Token, value: Token) -> _Item:
        return _Item("owner", self._string(value), self._span(token, value), self._span(value))

    def team(self, token: Token, value: Token) -> _Item:
        return _Item("team", self._string(value), self._span(token, value), self._span(value))

    def description(self, token: Token, value: Token) -> _Item:
        return _Item("description", self._string(value), self._span(token, value), self._span(value))

    def version(self, token: Token, value: Token) -> _Item:
        return _Item("version", self._int(value, "`version`"), self._span(token, value), self._span(value))

    def tags(self, token: Token, *rest: Token) -> _Item:
        # The grammar drops the `[`: the value's span runs from the first tag (or the `]`) to the `]`.
        values = tuple(self._string(t) for t in rest[:-1])
        return _Item("tags", values, self._span(token, rest[-1]), self._span(rest[0], rest[-1]))

    def experience(self, token: Token, value: Token) -> _Item:
        return _Item("experience", value.value, self._span(token, value), self._span(value))

    def uses(self, token: Token, value: Token) -> _Item:
        return _Item("uses", value.value, self._span(token, value), self._span(value))

    def entry(self, token: Token, event: Token, where: Expr | None, key: Expr | None) -> Entry:
        last = key or where or event
        return Entry(event.value, where, key, span=self._span(token, last))

    def audience(self, token: Token, expr: Expr) -> _Item:
        return _Item("audience", expr, self._span(token, expr))

    def reentry_never(self, token: Token, word: Token) -> Reentry:
        return Reentry("never", span=self._span(token, word))

    def reentry_always(self, token: Token, word: Token) -> Reentry:
        return Reentry("always", span=self._span(token, word))

    def reentry_after(self, token: Token, value: Token) -> Reentry:
        return Reentry("after", self._duration(value), span=self._span(token, value))

    def exit(self, token: Token, event: Token, where: Expr | None) -> Exit:
        return Exit(event.value, where, span=self._span(token, where or event))

    def expect(self, token: Token, number: Token, percent: Token) -> _Item:
        # Range (0 < x <= 100) is the checker's, for both forms alike; the IR holds a float either way.
        return _Item("expect", float(self._number(number)), self._span(token, percent))

    def goal(
        self,
        token: Token,
        name: Token,
        event: Token,
        where: Expr | None,
        within: Token | None,
        value: Expr | None,
        expect: _Item | None,
    ) -> Goal:
        duration = self._duration(within) if within is not None else None
        last: Positioned = (expect.span if expect else None) or value or within or where or event
        return Goal(
            name.value,
            event.value,
            where,
            duration,
            value,
            span=self._span(token, last),
            expect=expect.value if expect is not None else None,
        )

    def cap(self, token: Token, channel: Token, count: Token, per: Token) -> Cap:
        return Cap(channel.value, self._int(count, "a cap"), self._duration(per), span=self._span(token, per))

    def quiet(self, token: Token, value: Token) -> Quiet:
        span = self._span(token, value)
        start, _, end = (part.strip() for part in value.value.partition("-"))
        for part in (start, end):
            hours, _, minutes = part.partition(":")
            if len(minutes) != 2 or len(hours) > 2 or not 0 <= int(hours) <= 23 or not 0 <= int(minutes) <= 59:
                self.state.report(
                    codes.BAD_LITERAL,
                    f"`{clip(part)}` is not a time of day",
                    self._span(value),
                    hint="quiet hours are `HH:MM-HH:MM`, 00:00 to 23:59, e.g. `quiet 21:00-08:00`",
                )
        return Quiet(_clock(start), _clock(end), span=span)

    def journey(self, token: Token, name: Token, *rest: Any) -> Journey:
        values: dict[str, Any] = {}
        item_spans: list[tuple[str, Span]] = []
        value_spans: list[tuple[str, Span]] = []
        exits: list[Exit] = []
        goals: list[Goal] = []
        caps: list[Cap] = []
        stages: list[Stage] = []
        migrations: list[Migration] = []
        where = f"journey `{name.value}`"
        for item in rest[:-1]:
            if isinstance(item, Stage):
                stages.append(item)
            elif isinstance(item, Migration):
                migrations.append(item)
            elif isinstance(item, Exit):
                exits.append(item)
            elif isinstance(item, Goal):
                goals.append(item)
            elif isinstance(item, Cap):
                caps.append(item)
            elif isinstance(item, _Item):
                if self._once(values, item, where) and item.key in HEADER_KEYS:
                    item_spans.append((item.key, item.span))
                    if item.value_span is not None:
                        value_spans.append((item.key, item.value_span))
            elif isinstance(item, (Entry, Reentry, Quiet)):
                key = type(item).__name__.lower()
                self._once(values, _Item(key, item, item.span or self._span(token)), where)
        return Journey(
            name.value,
            version=values.get("version"),
            owner=values.get("owner"),
            title=values.get("title"),
            team=values.get("team"),
            description=values.get("description"),
            tags=values.get("tags", ()),
            experience=values.get("experience"),
            uses=values.get("uses"),
            entry=values.get("entry"),
            audience=values.get("audience"),
            reentry=values.get("reentry"),
            exits=tuple(exits),
            goals=tuple(goals),
            caps=tuple(caps),
            quiet=values.get("quiet"),
            stages=tuple(stages),
            migrations=tuple(migrations),
            span=self._span(token, rest[-1]),
            item_spans=tuple(item_spans),
            value_spans=tuple(value_spans),
        )

    def migrate_move(self, source: Token, arrow: Token, target: Token) -> MigrationMove:
        return MigrationMove(source.value, target.value, span=self._span(source, target))

    def migrate_keep(self, token: Token, *names: Token) -> _Item:
        return _Item("keep", names, self._span(token, names[-1]))

    def migrate(self, token: Token, version: Token, *rest: Any) -> Migration:
        moves: list[MigrationMove] = []
        keep: list[Token] = []
        for item in rest[:-1]:
            if isinstance(item, MigrationMove):
                moves.append(item)
            elif isinstance(item, _Item):  # `keep` lines add up: `keep a` and `keep b` keep both
                keep.extend(item.value)
        return Migration(
            self._int(version, "a version"),
            tuple(moves),
            tuple(name.value for name in keep),
            span=self._span(token, rest[-1]),
            keep_spans=tuple(self._span(name) for name in keep),
        )

    def stage(self, token: Token, name: Token, *rest: Any) -> Stage:
        return Stage(name.value, tuple(rest[:-1]), span=self._span(token, rest[-1]))

    def step(self, token: Token, name: Token, *rest: Any) -> Step:
        actions: tuple[Action, ...] = tuple(rest[:-2])
        flow: Flow = rest[-2]
        return Step(name.value, actions, flow, span=self._span(token, rest[-1]))

    # ------------------------------------------------------------- actions

    def arg(self, name: Token, value: Expr) -> Arg:
        return Arg(name.value, value, span=self._span(name, value))

    def with_map(self, *rest: Any) -> _With:
        return _With(tuple(rest[:-1]), rest[-1])

    def send(self, token: Token, channel: Token, template: Token, args: _With | None) -> Send:
        last: Positioned = args.end if args else template
        return Send(channel.value, template.value, args.args if args else (), span=self._span(token, last))

    def set_action(self, token: Token, name: Token, value: Expr) -> SetProfile:
        return SetProfile(name.value, value, span=self._span(token, value))

    def emit(self, token: Token, event: Token, args: _With | None) -> Emit:
        last: Positioned = args.end if args else event
        return Emit(event.value, args.args if args else (), span=self._span(token, last))

    def call_action(self, token: Token, name: Token, args: _With | None) -> CallAction:
        last: Positioned = args.end if args else name
        return CallAction(name.value, args.args if args else (), span=self._span(token, last))

    # ------------------------------------------------------------- flows

    def target(self, name: Token) -> Target:
        return Target(name.value, span=self._span(name))

    def goto(self, arrow: Token, target: Target) -> Goto:
        return Goto(target, span=self._span(arrow, target))

    def sleep(self, token: Token, duration: Token, target: Target) -> Sleep:
        return Sleep(self._duration(duration), target, span=self._span(token, target))

    def wait_arm(self, token: Token, event: Token, where: Expr | None, target: Target) -> WaitArm:
        return WaitArm(event.value, target, where, span=self._span(token, target))

    def timeout_after(self, token: Token, duration: Token, target: Target) -> Timeout:
        return Timeout(target, after=self._duration(duration), span=self._span(token, target))

    def timeout_at(self, token: Token, expr: Expr, target: Target) -> Timeout:
        return Timeout(target, at=expr, span=self._span(token, target))

    def wait(self, token: Token, *rest: Any) -> Wait:
        arms: list[WaitArm] = []
        timeout: Timeout | None = None
        for item in rest[:-1]:
            if isinstance(item, WaitArm):
                arms.append(item)
            elif timeout is None:
                timeout = item
            else:
                self.state.report(
                    codes.SYNTAX_ERROR,
                    "a `wait` has at most one timeout (`after DURATION` or `at EXPR`)",
                    item.span,
                    hint="keep one; the first is used",
                )
        return Wait(tuple(arms), timeout, span=self._span(token, rest[-1]))

    def when(self, token: Token, condition: Expr, target: Target) -> When:
        return When(condition, target, span=self._span(token, target))

    def otherwise(self, target: Target) -> Target:
        return target

    def choose(self, token: Token, *rest: Any) -> Choose:
        return Choose(tuple(rest[:-2]), rest[-2], span=self._span(token, rest[-1]))

    def variant(self, token: Token, name: Token, weight: Token, target: Target) -> Variant:
        return Variant(name.value, self._int(weight, "a weight"), target, span=self._span(token, target))

    def control(self, token: Token, weight: Token, target: Target) -> Variant:
        return Variant("control", self._int(weight, "a weight"), target, control=True, span=self._span(token, target))

    def experiment(self, token: Token, name: Token, *rest: Any) -> Experiment:
        return Experiment(name.value, tuple(rest[:-1]), span=self._span(token, rest[-1]))

    def end(self, token: Token, outcome: Token | None) -> End:
        return End(outcome.value if outcome else None, span=self._span(token, outcome or token))


def _clock(text: str) -> str:
    """`8:00` -> `08:00`, so the IR holds one spelling of a time of day."""
    hours, _, minutes = text.partition(":")
    return f"{int(hours):02d}:{minutes}" if len(hours) <= 2 else text  # a longer one is reported already
