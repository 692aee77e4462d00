"""Expression typing against the schema (SPEC 3.3), with flow-sensitive typing of `event`.

Each expression node gets a type; operators and functions have typing rules; names resolve against
the journey's schema and the event types that can be current where the expression sits
(eventflow.py). Errors make the node `any`, so one mistake is reported once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import assert_never

from journeydsl.check.context import SchemaIndex, checked_journeys
from journeydsl.check.eventflow import event_sets
from journeydsl.check.suggest import did_you_mean, known_list
from journeydsl.check.typesys import (
    ANY,
    BOOL,
    DURATION,
    NULL,
    NUMBER,
    STRING,
    TIMESTAMP,
    Ty,
    compatible,
    fits,
    from_ref,
    is_any,
    join,
    stringish,
)
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import (
    FUNCTIONS,
    Binary,
    Call,
    CallAction,
    Choose,
    Duration,
    Emit,
    End,
    Experiment,
    Expr,
    Goto,
    Journey,
    ListLit,
    Literal,
    Name,
    Send,
    SetProfile,
    Sleep,
    Span,
    Unary,
    Wait,
)
from journeydsl.project import Project
from journeydsl.syntax.limits import Elided

_BUILTIN_EVENT_FIELDS: dict[str, Ty] = {"id": STRING, "type": STRING, "at": TIMESTAMP}
_JOURNEY_NAMES: dict[str, Ty] = {"entered_at": TIMESTAMP, "variant": STRING.with_null(True)}
_TOP_NAMES = ("profile.", "event.", "journey.entered_at", "journey.variant", "now")
_ORDERED = ("number", "string", "timestamp", "duration")
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


# The most arguments the runtime takes in one call of coalesce, min or max (runtime/expr.py).
_MAX_ARGS = 64


_VALUE_HINT = "the value adds up to the journey's ROI, e.g. `value event.amount`"
_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _arity(name: str) -> tuple[int, int | None]:
    """(min, max) arguments of each function; max None means any number."""
    return {
        "lower": (1, 1),
        "upper": (1, 1),
        "len": (1, 1),
        "contains": (2, 2),
        "starts_with": (2, 2),
        "coalesce": (1, _MAX_ARGS),
        "min": (1, _MAX_ARGS),
        "max": (1, _MAX_ARGS),
        "abs": (1, 1),
        "round": (1, 2),
        "days_since": (1, 1),
        "hours_since": (1, 1),
    }[name]


class Typer:
    """Types the expressions of one journey; `events` is the set of event types `event` may be."""

    def __init__(self, index: SchemaIndex, sink: Sink) -> None:
        self.index = index
        self.sink = sink
        self.events: frozenset[str] = frozenset()
        self.where = ""  # e.g. "step `nudge`", used in messages about `event`

    # ------------------------------------------------------------------ reporting

    def _mismatch(self, message: str, span: Span | None, hint: str | None = None) -> Ty:
        self.sink.report(codes.TYPE_MISMATCH, message, span, hint)
        return ANY

    # ------------------------------------------------------------------ nodes

    def infer(self, expr: Expr) -> Ty:
        if isinstance(expr, Elided):  # a cut-off deep expression: JD011 said so already
            return ANY
        if isinstance(expr, Literal):
            return self._literal(expr)
        if isinstance(expr, Name):
            return self._name(expr)
        if isinstance(expr, ListLit):
            return self._list(expr)
        if isinstance(expr, Unary):
            return self._unary(expr)
        if isinstance(expr, Binary):
            return self._binary(expr)
        if isinstance(expr, Call):
            return self._call(expr)
        assert_never(expr)  # mypy flags this line when ir.Expr gains a node kind not typed above

    @staticmethod
    def _literal(expr: Literal) -> Ty:
        value = expr.value
        if value is None:
            return NULL
        if isinstance(value, bool):
            return BOOL
        if isinstance(value, (int, float)):
            return NUMBER
        if isinstance(value, Duration):
            return DURATION
        return STRING

    def _list(self, expr: ListLit) -> Ty:
        item: Ty | None = None
        for node in expr.items:
            t = self.infer(node)
            if item is None:
                item = t
                continue
            joined = join(item, t)
            if joined is None:
                return self._mismatch(f"a list mixes {item} and {t}", node.span, "a list holds one type")
            item = joined
        return Ty("list", item=item)

    def _name(self, expr: Name) -> Ty:
        path = expr.path
        head = path[0]
        if head == "now" and len(path) == 1:
            return TIMESTAMP
        if head == "profile" and len(path) == 2:
            ref = self.index.profile.get(path[1])
            if ref is None:
                self.sink.report(
                    codes.UNKNOWN_FIELD,
                    f"profile field `{path[1]}` is not declared in schema `{self.index.schema.name}`",
                    expr.span,
                    did_you_mean(path[1], self.index.profile, "profile.")
                    or f"profile fields: {known_list(self.index.profile)}",
                )
                return ANY
            return from_ref(ref)
        if head == "event" and len(path) == 2:
            return self._event_field(path[1], expr.span)
        if head == "journey" and len(path) == 2 and path[1] in _JOURNEY_NAMES:
            return _JOURNEY_NAMES[path[1]]
        text = ".".join(path)
        candidates = [*_TOP_NAMES, *(f"profile.{f}" for f in self.index.profile)]
        hint = did_you_mean(text, candidates)
        if hint is None and path[-1] in self.index.profile:  # `customer.ltv`, `ltv`: the prefix is what is wrong
            hint = f"did you mean `profile.{path[-1]}`?"
        elif hint is None and any(path[-1] in self.index.events.get(e, {}) for e in self.events):
            hint = f"did you mean `event.{path[-1]}`?"
        self.sink.report(
            codes.UNKNOWN_NAME,
            f"unknown name `{text}`",
            expr.span,
            hint or "names are profile.FIELD, event.FIELD, journey.entered_at, journey.variant and now",
        )
        return ANY

    def _event_field(self, name: str, span: Span | None) -> Ty:
        if name in _BUILTIN_EVENT_FIELDS:
            return _BUILTIN_EVENT_FIELDS[name]
        known = [e for e in sorted(self.events) if e in self.index.events]
        if not known:  # unreachable step or unknown events (reported elsewhere): nothing to check against
            return ANY
        having = [e for e in known if name in self.index.events[e]]
        if not having:
            fields = set.intersection(*(set(self.index.events[e]) for e in known)) | set(_BUILTIN_EVENT_FIELDS)
            events = ", ".join(f"`{e}`" for e in known)
            self.sink.report(
                codes.UNKNOWN_FIELD,
                f"`event.{name}`: event {events} has no field `{name}`"
                if len(known) == 1
                else f"`event.{name}`: none of the events {events} has a field `{name}`",
                span,
                did_you_mean(name, fields, "event.") or f"fields: {known_list(fields)}",
            )
            return ANY
        lacking = [e for e in known if e not in having]
        if lacking:
            self.sink.report(
                codes.EVENT_FIELD_NOT_ON_ALL,
                f"`event.{name}` in {self.where}: `event` can be {', '.join(f'`{e}`' for e in known)} here, "
                f"and {', '.join(f'`{e}`' for e in lacking)} {'has' if len(lacking) == 1 else 'have'} "
                f"no field `{name}`",
                span,
                "guard with a separate step per event, or add the field to every event that leads here",
            )
            return ANY
        types = {from_ref(self.index.events[e][name]) for e in having}
        return types.pop() if len(types) == 1 else ANY

    def _unary(self, expr: Unary) -> Ty:
        t = self.infer(expr.operand)
        if is_any(t):
            return ANY
        if expr.op == "not":
            if t.kind != "bool":
                return self._mismatch(f"`not` needs a bool, got {t}", expr.span)
            return BOOL
        if t.kind not in ("number", "duration"):
            return self._mismatch(f"unary `-` needs a number or duration, got {t}", expr.span)
        return t

    def _binary(self, expr: Binary) -> Ty:
        left, right = self.infer(expr.left), self.infer(expr.right)
        op = expr.op
        if op in ("and", "or"):
            for side, t in ((expr.left, left), (expr.right, right)):
                if not is_any(t) and t.kind != "bool":
                    return self._mismatch(f"`{op}` needs bool operands, got {t}", side.span)
            return BOOL
        if is_any(left) or is_any(right):
            return BOOL if op in _COMPARISONS or op in ("in", "not in") else ANY
        if op in ("==", "!="):
            if not compatible(left, right):
                return self._mismatch(f"`{op}` compares {left} with {right}", expr.span)
            self._enum_literal(left, expr.right)
            self._enum_literal(right, expr.left)
            return BOOL
        if op in ("<", "<=", ">", ">="):
            if left.kind == "null" or right.kind == "null":
                return self._mismatch(f"`{op}` with null is always false", expr.span, "use == null or != null")
            if not (left.kind == right.kind and left.kind in _ORDERED):
                return self._mismatch(
                    f"`{op}` needs two numbers, strings, timestamps or durations, got {left} and {right}",
                    expr.span,
                    quoted_number_hint(expr.left, expr.right),
                )
            return BOOL
        if op in ("in", "not in"):
            if right.kind != "list":
                return self._mismatch(f"`{op}` needs a list on the right, got {right}", expr.right.span)
            if right.item is not None and not compatible(left, right.item):
                return self._mismatch(f"`{op}` looks for a {left} in a list of {right.item}", expr.span)
            if isinstance(expr.right, ListLit):
                for item in expr.right.items:
                    self._enum_literal(left, item)
            if isinstance(expr.left, Literal) and right.item is not None:
                self._enum_literal(right.item, expr.left)
            return BOOL
        return self._arith(expr, left, right)

    def _arith(self, expr: Binary, left: Ty, right: Ty) -> Ty:
        op = expr.op
        nullable = left.nullable or right.nullable or "null" in (left.kind, right.kind)
        kinds = (left.kind, right.kind)
        result: Ty | None = None
        if kinds == ("number", "number"):
            result = NUMBER
        elif op == "+" and stringish(left) and stringish(right):
            result = STRING
        elif op in ("+", "-") and kinds == ("timestamp", "duration"):
            result = TIMESTAMP
        elif op == "+" and kinds == ("duration", "timestamp"):
            result = TIMESTAMP
        elif op == "-" and kinds == ("timestamp", "timestamp"):
            result = DURATION
        elif op in ("+", "-") and kinds == ("duration", "duration"):
            result = DURATION
        elif op == "*" and set(kinds) == {"duration", "number"}:
            result = DURATION
        elif op == "/" and kinds == ("duration", "number"):
            result = DURATION
        elif op == "/" and kinds == ("duration", "duration"):
            result = NUMBER
        elif "null" in kinds and all(k in ("null", "number", "timestamp", "duration", "string") for k in kinds):
            result = NULL  # arithmetic with null is null at run time
        if result is None:
            hint = quoted_number_hint(expr.left, expr.right) or _ARITH_HINT
            return self._mismatch(f"`{op}` does not apply to {left} and {right}", expr.span, hint)
        return result.with_null(nullable)

    def _enum_literal(self, t: Ty, node: Expr) -> None:
        """A string literal compared with (or put in a list for) an enum must be one of its members."""
        if t.kind != "enum" or not isinstance(node, Literal) or not isinstance(node.value, str):
            return
        if node.value not in t.members:
            self.sink.report(
                codes.NOT_ENUM_MEMBER,
                f'"{node.value}" is not a member of {t.non_null()}',
                node.span,
                did_you_mean(node.value, t.members) or f"members: {known_list(t.members)}",
            )

    def _call(self, expr: Call) -> Ty:
        if expr.func not in FUNCTIONS:
            for arg in expr.args:
                self.infer(arg)
            self.sink.report(
                codes.UNKNOWN_FUNCTION,
                f"unknown function `{expr.func}`",
                expr.span,
                did_you_mean(expr.func, FUNCTIONS) or f"functions: {', '.join(FUNCTIONS)}",
            )
            return ANY
        args = [self.infer(arg) for arg in expr.args]
        low, high = _arity(expr.func)
        if len(args) < low or (high is not None and len(args) > high):
            if high is None or high == low:
                wanted = str(low) if high == low else f"at least {low}"
            else:
                wanted = f"{low} or {high}" if high == low + 1 else f"{low} to {high}"
            self.sink.report(
                codes.WRONG_ARITY,
                f"`{expr.func}` takes {wanted} argument{'s' if wanted != '1' else ''}, got {len(args)}",
                expr.span,
            )
            return ANY
        if any(is_any(a) for a in args):
            return _RESULTS.get(expr.func, ANY)
        return _FUNCTION_RULES[expr.func](self, expr, args)


_ARITH_HINT = "numbers add up; timestamp ± duration is a timestamp; timestamp − timestamp is a duration"

_RESULTS: dict[str, Ty] = {
    "lower": STRING,
    "upper": STRING,
    "len": NUMBER,
    "contains": BOOL,
    "starts_with": BOOL,
    "abs": NUMBER,
    "round": NUMBER,
    "days_since": NUMBER,
    "hours_since": NUMBER,
}


def _want(typer: Typer, expr: Call, args: list[Ty], ok: Callable[[Ty], bool], what: str, result: Ty) -> Ty:
    for node, t in zip(expr.args, args, strict=True):
        if not ok(t):
            return typer._mismatch(f"`{expr.func}` needs {what}, got {t}", node.span)
    return result.with_null(any(t.nullable for t in args))


def _contains(typer: Typer, expr: Call, args: list[Ty]) -> Ty:
    haystack, needle = args
    if stringish(haystack):
        if not stringish(needle):
            return typer._mismatch(f"`contains` on a string looks for a string, got {needle}", expr.args[1].span)
        return BOOL
    if haystack.kind != "list":
        return typer._mismatch(f"`contains` needs a list or string first, got {haystack}", expr.args[0].span)
    if haystack.item is not None and not compatible(haystack.item, needle):
        return typer._mismatch(f"`contains` looks for a {needle} in a list of {haystack.item}", expr.span)
    if haystack.item is not None:
        typer._enum_literal(haystack.item, expr.args[1])
    return BOOL


def _coalesce(typer: Typer, expr: Call, args: list[Ty]) -> Ty:
    result = args[0]
    for node, t in zip(expr.args[1:], args[1:], strict=True):
        joined = join(result, t)
        if joined is None:
            return typer._mismatch(f"`coalesce` mixes {result} and {t}", node.span)
        result = joined
    # The result is null only when the last choice can be.
    last = args[-1]
    return result.with_null(True) if last.nullable or last.kind == "null" else result.non_null()


def _min_max(typer: Typer, expr: Call, args: list[Ty]) -> Ty:
    if len(args) == 1:
        only = args[0]
        if only.kind == "list" and (only.item is None or only.item.kind in ("number", "timestamp", "duration")):
            return (only.item or ANY).with_null(True)
        return typer._mismatch(f"`{expr.func}` of one argument needs a list of numbers, got {only}", expr.span)
    kinds = {t.kind for t in args if t.kind != "null"}
    if len(kinds) != 1 or next(iter(kinds)) not in ("number", "timestamp", "duration"):
        shown = ", ".join(str(t) for t in args)
        return typer._mismatch(
            f"`{expr.func}` needs numbers, timestamps or durations of one type, got {shown}", expr.span
        )
    return Ty(next(iter(kinds))).with_null(any(t.nullable or t.kind == "null" for t in args))


def _is(*kinds: str) -> Callable[[Ty], bool]:
    return lambda t: t.kind in kinds or t.kind == "null"


_FUNCTION_RULES: dict[str, Callable[[Typer, Call, list[Ty]], Ty]] = {
    "lower": lambda ty, e, a: _want(ty, e, a, _is("string", "enum"), "a string", STRING),
    "upper": lambda ty, e, a: _want(ty, e, a, _is("string", "enum"), "a string", STRING),
    "len": lambda ty, e, a: _want(ty, e, a, _is("string", "enum", "list"), "a string or list", NUMBER),
    "contains": _contains,
    "starts_with": lambda ty, e, a: _want(ty, e, a, _is("string", "enum"), "two strings", BOOL).non_null(),
    "coalesce": _coalesce,
    "min": _min_max,
    "max": _min_max,
    "abs": lambda ty, e, a: _want(ty, e, a, _is("number"), "a number", NUMBER),
    "round": lambda ty, e, a: _want(ty, e, a, _is("number"), "numbers", NUMBER),
    "days_since": lambda ty, e, a: _want(ty, e, a, _is("timestamp"), "a timestamp", NUMBER),
    "hours_since": lambda ty, e, a: _want(ty, e, a, _is("timestamp"), "a timestamp", NUMBER),
}


# ---------------------------------------------------------------------- the pass


def _condition(typer: Typer, expr: Expr | None, what: str) -> None:
    if expr is None:
        return
    t = typer.infer(expr)
    if not is_any(t) and t.kind != "bool":
        typer.sink.report(
            codes.CONDITION_NOT_BOOL,
            f"{what} must be a bool, got {t}",
            expr.span,
            "compare it, e.g. `profile.ltv > 100`",
        )


def _values(typer: Typer, exprs: Iterable[Expr]) -> None:
    for expr in exprs:
        typer.infer(expr)


def quoted_number_hint(*exprs: Expr) -> str | None:
    """`"10"` where a number belongs: the quotes make it a string; say so, with the number to write."""
    for expr in exprs:
        if isinstance(expr, Literal) and isinstance(expr.value, str):
            text = expr.value.strip()
            if _NUMBER_TEXT.fullmatch(text):
                return f'`"{text}"` is a string because of its quotes: write the number without them, `{text}`'
    return None


def _set(typer: Typer, action: SetProfile) -> None:
    value = typer.infer(action.value)
    ref = typer.index.profile.get(action.field)
    if ref is None:  # reported by the names pass
        return
    target = from_ref(ref)
    if target.kind == "enum" and isinstance(action.value, Literal) and isinstance(action.value.value, str):
        typer._enum_literal(target, action.value)
        return
    if not fits(value, target):
        typer.sink.report(
            codes.SET_TYPE_MISMATCH,
            f"`set profile.{action.field}` needs a {target}, got {value}",
            action.value.span or action.span,
            "an enum field takes a literal member"
            if target.kind == "enum" and stringish(value)
            else quoted_number_hint(action.value)
            if target.kind == "number"
            else None,
        )


def _emit(typer: Typer, action: Emit) -> None:
    """`emit E with {F: X}`: each X must fit E's field F, and every non-nullable field of E be given."""
    fields = typer.index.events.get(action.event)
    for arg in action.args:
        value = typer.infer(arg.value)
        ref = fields.get(arg.name) if fields is not None else None
        if ref is None:  # unknown event or field: reported by the names pass
            continue
        target = from_ref(ref)
        if target.kind == "enum" and isinstance(arg.value, Literal) and isinstance(arg.value.value, str):
            typer._enum_literal(target, arg.value)
        elif not fits(value, target):
            typer._mismatch(f"`emit {action.event}` field `{arg.name}` needs a {target}, got {value}", arg.value.span)
    if fields is None:
        return
    given = {arg.name for arg in action.args}
    missing = [name for name, ref in fields.items() if not ref.nullable and name not in given]
    if missing:
        shown = ", ".join(f"`{name}`" for name in missing)
        typer.sink.report(
            codes.EMIT_MISSING_FIELD,
            f"`emit {action.event}` leaves out {shown}, which the event declares as not nullable",
            action.span,
            f"add {', '.join(f'{name}: …' for name in missing)} to its `with`, or make the field nullable",
        )


def type_journey(journey: Journey, index: SchemaIndex, sink: Sink) -> None:
    typer = Typer(index, sink)
    entry_events = frozenset({journey.entry.event}) if journey.entry else frozenset()
    typer.events, typer.where = entry_events, "the entry"
    if journey.entry:
        _condition(typer, journey.entry.where, "entry `where`")
        if journey.entry.key is not None:
            typer.infer(journey.entry.key)
    _condition(typer, journey.audience, "`audience`")
    for exit_ in journey.exits:
        typer.events, typer.where = frozenset({exit_.event}), f"exit on `{exit_.event}`"
        _condition(typer, exit_.where, "exit `where`")
    for goal in journey.goals:
        typer.events, typer.where = frozenset({goal.event}), f"goal `{goal.name}`"
        _condition(typer, goal.where, "goal `where`")
        if goal.value is not None:
            t = typer.infer(goal.value)
            if not is_any(t) and t.kind not in ("number", "null"):
                sink.report(
                    codes.VALUE_NOT_NUMBER,
                    f"goal `{goal.name}` value must be a number, got {t}",
                    goal.value.span,
                    quoted_number_hint(goal.value)
                    or "the value adds up to the journey's ROI, e.g. `value event.amount`",
                )
    sets = event_sets(journey)
    for step in journey.steps():
        typer.events, typer.where = sets.get(step.name, frozenset()), f"step `{step.name}`"
        for action in step.actions:
            if isinstance(action, SetProfile):
                _set(typer, action)
            elif isinstance(action, Emit):
                _emit(typer, action)
            elif isinstance(action, (Send, CallAction)):
                _values(typer, (arg.value for arg in action.args))
            else:  # a new action kind: mypy flags this until its expressions are typed here
                assert_never(action)
        flow = step.flow
        if isinstance(flow, Choose):
            for branch in flow.branches:
                _condition(typer, branch.condition, "`when`")
        elif isinstance(flow, Wait):
            if flow.timeout is not None and flow.timeout.at is not None:
                t = typer.infer(flow.timeout.at)
                if not is_any(t) and t.kind != "timestamp":
                    typer._mismatch(f"`at` needs a timestamp, got {t}", flow.timeout.at.span)
            here = typer.events
            for arm in flow.arms:
                typer.events = frozenset({arm.event})
                _condition(typer, arm.where, f"`on {arm.event}` `where`")
            typer.events = here
        elif isinstance(flow, (Goto, Sleep, Experiment, End)):
            pass  # no expressions in these flows
        else:  # a new flow kind: mypy flags this until its expressions are typed here
            assert_never(flow)


def check_types(project: Project, sink: Sink) -> None:
    for _file, journey, index in checked_journeys(project):
        if index is not None:
            type_journey(journey, index, sink)
