"""IR -> canonical DSL text (`journeydsl fmt`, `convert --to dsl`) and expressions -> text.

Two passes: the layout pass turns the IR into output lines, each tagged with the source lines it stands for;
the comment pass puts every kept comment back, an own-line comment before the node that followed it, a
trailing comment at the end of the line that holds its node. The layout depends on the IR alone, so
formatting formatted text changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import assert_never

from journeydsl.ir import (
    Action,
    Arg,
    Binary,
    Call,
    CallAction,
    ChannelDef,
    Choose,
    Comment,
    ContactPolicy,
    Duration,
    Emit,
    End,
    EventDef,
    Experiment,
    Expr,
    FieldDef,
    Flow,
    Goto,
    Journey,
    ListLit,
    Literal,
    Migration,
    Name,
    Schema,
    Send,
    SetProfile,
    Sleep,
    SourceFile,
    Span,
    Step,
    TypeRef,
    Unary,
    Wait,
)

INDENT = "  "
MAX_INLINE = 100  # a step goes on one line when it is simple and the line stays this short

# Binding strength, loosest first (SPEC 3.3); an operand binding more loosely than its place needs parentheses.
_OR, _AND, _NOT, _CMP, _SUM, _PRODUCT, _UNARY, _ATOM = range(1, 9)
_BINARY_PREC: dict[str, int] = {
    "or": _OR,
    "and": _AND,
    **{op: _CMP for op in ("==", "!=", "<", "<=", ">", ">=", "in", "not in")},
    "+": _SUM,
    "-": _SUM,
    "*": _PRODUCT,
    "/": _PRODUCT,
    "%": _PRODUCT,
}
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


# --------------------------------------------------------------------------- expressions


def format_expr(expr: Expr) -> str:
    """An expression in DSL syntax with the fewest parentheses that keep its meaning."""
    return _expr(expr)[0]


def _expr(expr: Expr) -> tuple[str, int]:
    """The text and binding strength of an expression."""
    if isinstance(expr, Literal):
        text = format_literal(expr.value)
        return text, _UNARY if text.startswith("-") else _ATOM
    if isinstance(expr, Name):
        return ".".join(expr.path), _ATOM
    if isinstance(expr, ListLit):
        return "[" + ", ".join(format_expr(item) for item in expr.items) + "]", _ATOM
    if isinstance(expr, Call):
        return f"{expr.func}(" + ", ".join(format_expr(arg) for arg in expr.args) + ")", _ATOM
    if isinstance(expr, Unary):
        if expr.op == "not":
            return "not " + _operand(expr.operand, _NOT), _NOT
        # `- -x`, not `--x`: keeps the minus signs apart for the reader.
        inner = _operand(expr.operand, _UNARY)
        return "-" + (" " + inner if inner.startswith("-") else inner), _UNARY
    if isinstance(expr, Binary):
        prec = _BINARY_PREC.get(expr.op)
        if prec is None:
            raise ValueError(f"unknown operator {expr.op!r}")
        # Left-associative operators accept an equal-strength left operand; comparisons do not chain.
        left_min = prec + 1 if prec == _CMP else prec
        left = _operand(expr.left, left_min)
        right = _operand(expr.right, prec + 1)
        return f"{left} {expr.op} {right}", prec
    assert_never(expr)  # mypy flags this line when ir.Expr gains a node kind not printed above


def _operand(expr: Expr, at_least: int) -> str:
    text, prec = _expr(expr)
    return text if prec >= at_least else f"({text})"


def format_literal(value: int | float | str | bool | Duration | None) -> str:
    """A literal's value (ir.Literal.value, a channel's cost) as the DSL writes it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, str):
        return format_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    assert_never(value)


def format_percent(value: float) -> str:
    """A goal's `expect` as both forms write it: `12%`, `12.5%` (no `12.0%` for a whole percentage)."""
    return (str(int(value)) if value.is_integer() else _format_float(value)) + "%"


def format_string(value: str) -> str:
    return '"' + "".join(_STRING_ESCAPES.get(char, char) for char in value) + '"'


def _format_float(value: float) -> str:
    text = repr(value)
    if "e" in text or "E" in text:  # the grammar has no exponents: write 1e-05 as 0.00001
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


def format_type(type_ref: TypeRef) -> str:
    if type_ref.name == "list":
        text = f"list<{format_type(type_ref.item) if type_ref.item else 'string'}>"
    elif type_ref.name == "enum":
        text = "enum(" + ", ".join(type_ref.members) + ")"
    else:
        text = type_ref.name
    return text + ("?" if type_ref.nullable else "")


# --------------------------------------------------------------------------- layout


@dataclass
class _Line:
    indent: int
    text: str
    first: int  # the source lines this output line stands for; 0 when unknown, -1 for a blank line
    last: int
    closing: bool = False


class _Layout:
    def __init__(self) -> None:
        self.lines: list[_Line] = []

    def blank(self) -> None:
        if self.lines and self.lines[-1].first != -1:
            self.lines.append(_Line(0, "", -1, -1))

    def add(self, indent: int, text: str, span: Span | None, whole: bool = True, closing: bool = False) -> None:
        """One output line; `whole=False` tags it with the span's first line only (a block opener)."""
        if span is None:
            first = last = 0
        elif closing:
            first = last = span.end_line
        else:
            first, last = span.line, (span.end_line if whole else span.line)
        self.lines.append(_Line(indent, text, first, last, closing))


def _args(args: tuple[Arg, ...], short: bool = False) -> str:
    if not args or short:
        return ""
    return " with { " + ", ".join(f"{arg.name}: {format_expr(arg.value)}" for arg in args) + " }"


def format_action(action: Action, *, short: bool = False) -> str:
    """One action as the DSL writes it: `send email welcome with { roof: event.roof_area_m2 }`.

    `short` is the form of a diagram's step node (render/graph.py): no `with` map and no `profile.` before a set
    field (`set ltv = 0`), so the node stays narrow. One function writes both forms, so the two cannot drift apart;
    the golden diagrams in tests/render/golden hold the short form.
    """
    if isinstance(action, Send):
        return f"send {action.channel} {action.template}{_args(action.args, short)}"
    if isinstance(action, SetProfile):
        return f"set {'' if short else 'profile.'}{action.field} = {format_expr(action.value)}"
    if isinstance(action, Emit):
        return f"emit {action.event}{_args(action.args, short)}"
    if isinstance(action, CallAction):
        return f"call {action.name}{_args(action.args, short)}"
    assert_never(action)  # mypy flags this line when ir.Action gains a kind not printed above


# The flows written as a `{ … }` block of their own lines; the others fit on one line.
_BlockFlow = Wait | Choose | Experiment


def _simple_flow(flow: Flow) -> str | _BlockFlow:
    """The one-line text of a simple flow, or the flow itself when it is a block (`_block_flow` lays it out)."""
    if isinstance(flow, Goto):
        return f"-> {flow.target.name}"
    if isinstance(flow, Sleep):
        return f"wait {flow.duration} -> {flow.target.name}"
    if isinstance(flow, End):
        return "end" + (f" {flow.outcome}" if flow.outcome else "")
    if isinstance(flow, (Wait, Choose, Experiment)):
        return flow
    assert_never(flow)  # mypy flags this line when ir.Flow gains a kind: one line, or a block below?


def _where(expr: Expr | None) -> str:
    return f" where {format_expr(expr)}" if expr is not None else ""


def _block_flow(out: _Layout, flow: _BlockFlow, depth: int) -> None:
    inner = depth + 1
    if isinstance(flow, Wait):
        out.add(depth, "wait {", flow.span, whole=False)
        for arm in flow.arms:
            out.add(inner, f"on {arm.event}{_where(arm.where)} -> {arm.target.name}", arm.span)
        timeout = flow.timeout
        if timeout is not None:
            if timeout.after is not None:
                head = f"after {timeout.after}"
            else:
                head = f"at {format_expr(timeout.at)}" if timeout.at is not None else "at now"
            out.add(inner, f"{head} -> {timeout.target.name}", timeout.span)
    elif isinstance(flow, Choose):
        out.add(depth, "choose {", flow.span, whole=False)
        for branch in flow.branches:
            out.add(inner, f"when {format_expr(branch.condition)} -> {branch.target.name}", branch.span)
        if flow.otherwise is not None:
            out.add(inner, f"otherwise -> {flow.otherwise.name}", flow.otherwise.span)
    elif isinstance(flow, Experiment):
        out.add(depth, f"experiment {flow.name} {{", flow.span, whole=False)
        for variant in flow.variants:
            head = "control" if variant.control else f"variant {variant.name}"
            out.add(inner, f"{head} {variant.weight}% -> {variant.target.name}", variant.span)
    else:
        assert_never(flow)
    out.add(depth, "}", flow.span, closing=True)


def _step(out: _Layout, step: Step, depth: int) -> None:
    simple = _simple_flow(step.flow)
    if isinstance(simple, str) and len(step.actions) <= 1:
        body = " ".join([*(format_action(a) for a in step.actions), simple])
        line = f"step {step.name} {{ {body} }}"
        if len(INDENT * depth + line) <= MAX_INLINE:
            out.add(depth, line, step.span)
            return
    out.add(depth, f"step {step.name} {{", step.span, whole=False)
    for action in step.actions:
        out.add(depth + 1, format_action(action), action.span)
    if isinstance(simple, str):
        out.add(depth + 1, simple, step.flow.span)
    else:
        _block_flow(out, simple, depth + 1)
    out.add(depth, "}", step.span, closing=True)


def _journey(out: _Layout, journey: Journey) -> None:
    out.add(0, f"journey {journey.name} {{", journey.span, whole=False)
    spans = dict(journey.item_spans)
    header: list[tuple[str, str]] = []
    for key, text in (
        ("title", None if journey.title is None else f"title {format_string(journey.title)}"),
        ("version", None if journey.version is None else f"version {journey.version}"),
        ("owner", None if journey.owner is None else f"owner {format_string(journey.owner)}"),
        ("team", None if journey.team is None else f"team {format_string(journey.team)}"),
        ("description", None if journey.description is None else f"description {format_string(journey.description)}"),
        ("tags", None if not journey.tags else "tags [" + ", ".join(format_string(t) for t in journey.tags) + "]"),
        ("experience", None if journey.experience is None else f"experience {journey.experience}"),
        ("uses", None if journey.uses is None else f"uses {journey.uses}"),
    ):
        if text is not None:
            header.append((key, text))
    for key, text in header:
        out.add(1, text, spans.get(key))
    policies: list[tuple[str, Span | None]] = []
    if journey.entry is not None:
        entry = journey.entry
        key = f" key {format_expr(entry.key)}" if entry.key is not None else ""
        policies.append((f"entry on {entry.event}{_where(entry.where)}{key}", entry.span))
    if journey.audience is not None:
        policies.append((f"audience {format_expr(journey.audience)}", journey.audience.span))
    if journey.reentry is not None:
        reentry = journey.reentry
        mode = f"after {reentry.after}" if reentry.mode == "after" and reentry.after else reentry.mode
        policies.append((f"reentry {mode}", reentry.span))
    for exit_ in journey.exits:
        policies.append((f"exit on {exit_.event}{_where(exit_.where)}", exit_.span))
    for goal in journey.goals:
        text = f"goal {goal.name} on {goal.event}{_where(goal.where)}"
        text += f" within {goal.within}" if goal.within is not None else ""
        text += f" value {format_expr(goal.value)}" if goal.value is not None else ""
        text += f" expect {format_percent(goal.expect)}" if goal.expect is not None else ""
        policies.append((text, goal.span))
    for cap in journey.caps:
        policies.append((f"cap {cap.channel} {cap.max} per {cap.per}", cap.span))
    if journey.quiet is not None:
        policies.append((f"quiet {journey.quiet.start}-{journey.quiet.end}", journey.quiet.span))
    if policies and header:
        out.blank()
    for text, span in policies:
        out.add(1, text, span)
    for index, stage in enumerate(journey.stages):
        if index or header or policies:
            out.blank()
        out.add(1, f"stage {stage.name} {{", stage.span, whole=False)
        for step in stage.steps:
            _step(out, step, 2)
        out.add(1, "}", stage.span, closing=True)
    for index, migration in enumerate(journey.migrations):
        if index or header or policies or journey.stages:
            out.blank()
        _migration(out, migration)
    out.add(0, "}", journey.span, closing=True)


def _migration(out: _Layout, migration: Migration) -> None:
    """After the stages (it names steps of this version): moves in written order, then one `keep` line."""
    out.add(1, f"migrate from {migration.from_version} {{", migration.span, whole=False)
    for move in migration.moves:
        out.add(2, f"{move.source} -> {move.target}", move.span)
    if migration.keep:
        spans = migration.keep_spans
        # `keep` lines written apart become one: tag it with the lines of all of them, so their comments stay.
        span = Span(spans[0].file, spans[0].line, 1, spans[-1].end_line, spans[-1].end_col) if spans else None
        out.add(2, "keep " + ", ".join(migration.keep), span)
    out.add(1, "}", migration.span, closing=True)


def _fields(fields: tuple[FieldDef, ...]) -> str:
    return ", ".join(f"{f.name}: {format_type(f.type)}" for f in fields)


def _event(event: EventDef) -> str:
    return f"event {event.name} {{ {_fields(event.fields)} }}" if event.fields else f"event {event.name} {{}}"


def _channel(channel: ChannelDef) -> str:
    parts = [f"cost {format_literal(channel.cost)}"]
    if channel.requires:
        parts.append(f"requires profile.{channel.requires}")
    return f"channel {channel.name} {{ {' '.join(parts)} }}"


def _schema(out: _Layout, schema: Schema) -> None:
    out.add(0, f"schema {schema.name} {{", schema.span, whole=False)
    profile_span = dict(schema.item_spans).get("profile")
    out.add(1, "profile {", profile_span, whole=False)
    for field_def in schema.profile:
        out.add(2, f"{field_def.name}: {format_type(field_def.type)}", field_def.span)
    out.add(1, "}", profile_span, closing=True)
    if schema.events:
        out.blank()
    for event in schema.events:
        line = _event(event)
        if len(INDENT + line) <= MAX_INLINE:
            out.add(1, line, event.span)
            continue
        out.add(1, f"event {event.name} {{", event.span, whole=False)
        for field_def in event.fields:
            out.add(2, f"{field_def.name}: {format_type(field_def.type)}", field_def.span)
        out.add(1, "}", event.span, closing=True)
    if schema.channels:
        out.blank()
    for channel in schema.channels:
        out.add(1, _channel(channel), channel.span)
    if schema.policy is not None:
        out.blank()
        _policy(out, schema.policy)
    if schema.integrations:
        out.blank()
    for integration in schema.integrations:
        out.add(1, f"integration {integration.name}", integration.span)
    out.add(0, "}", schema.span, closing=True)


def _policy(out: _Layout, policy: ContactPolicy) -> None:
    """Right after the channels it caps. Items in one fixed order, caps as written."""
    out.add(1, "policy {", policy.span, whole=False)
    for cap in policy.caps:
        out.add(2, f"cap {cap.channel} {cap.max} per {cap.per} across journeys", cap.span)
    if policy.priority is not None:
        names = ", ".join(policy.priority.names)
        out.add(2, f"priority {policy.priority.kind} [{names}]", policy.priority.span)
    if policy.quiet is not None:
        out.add(2, f"quiet {policy.quiet.start}-{policy.quiet.end}", policy.quiet.span)
    spans = dict(policy.item_spans)
    if policy.settle is not None:
        out.add(2, f"settle {policy.settle}", spans.get("settle"))
    # The default is printed only when it was written: `conflict suppress` stays, for the reader's sake.
    if policy.conflict != "suppress" or "conflict" in spans:
        out.add(2, f"conflict {policy.conflict}", spans.get("conflict"))
    out.add(1, "}", policy.span, closing=True)


# --------------------------------------------------------------------------- comments


def _place_comments(lines: list[_Line], comments: tuple[Comment, ...]) -> str:
    code_ends = sorted({n for line in lines for n in (line.first, line.last) if n > 0})
    before: dict[int, list[Comment]] = {}
    trailing: dict[int, list[Comment]] = {}
    at_end: list[Comment] = []
    ordered = sorted(comments, key=lambda c: (c.line, c.col))
    header = _file_header(ordered, code_ends[0] if code_ends else None)
    if header:
        ordered = ordered[len(header) :]
        if lines:
            before[0] = header
        else:
            at_end = header
    for comment in ordered:
        target = _trailing_target(lines, comment.line) if comment.trailing else None
        if target is not None:
            trailing.setdefault(target, []).append(comment)
            continue
        target = _own_line_target(lines, comment.line)
        if target is None:
            at_end.append(comment)
        else:
            before.setdefault(target, []).append(comment)
    out: list[str] = []
    for index, line in enumerate(lines):
        group = before.get(index)
        if group:
            indent = line.indent + 1 if line.closing else line.indent
            _emit_group(out, group, indent, _previous_code_line(code_ends, group[0].line), line.first, line.closing)
        if line.first == -1:
            out.append("")
            continue
        text = INDENT * line.indent + line.text
        if index in trailing:
            text += "  " + "  ".join(c.text for c in trailing[index])
        out.append(text)
    if at_end:
        _emit_group(out, at_end, 0, _previous_code_line(code_ends, at_end[0].line), 0, True)
    return "\n".join(out) + "\n"


def _file_header(comments: list[Comment], first_code: int | None) -> list[Comment]:
    """The comments above the first code that a blank line separates from it: they stay at the top."""
    header: list[Comment] = []
    lines = {c.line for c in comments}
    for index, comment in enumerate(comments):
        if comment.trailing or (first_code is not None and comment.line >= first_code):
            break
        if comment.line + 1 not in lines:
            header = comments[: index + 1]
    if first_code is not None and header and header[-1].line + 1 >= first_code:
        # The last group touches the code: it belongs to the first node; keep only the groups above a gap.
        return [c for c in header if c.line < _group_start(header)]
    return header


def _group_start(comments: list[Comment]) -> int:
    """The first line of the last run of comments on consecutive lines."""
    start = comments[-1].line
    for comment in reversed(comments[:-1]):
        if comment.line != start - 1:
            break
        start = comment.line
    return start


def _trailing_target(lines: list[_Line], at: int) -> int | None:
    """The last output line that holds source line `at`: a trailing comment goes at its end."""
    found = None
    for index, line in enumerate(lines):
        if line.first > 0 and line.first <= at <= line.last:
            found = index
    return found


def _own_line_target(lines: list[_Line], at: int) -> int | None:
    """The output line of the node that follows source line `at`: inside a multi-line node, that node."""
    best: int | None = None
    best_first = 0
    for index, line in enumerate(lines):
        if line.first <= 0:
            continue
        if line.first < at <= line.last and not line.closing:
            return index
        if line.first > at and (best is None or line.first < best_first):
            best, best_first = index, line.first
    return best


def _previous_code_line(code_ends: list[int], at: int) -> int:
    previous = 0
    for end in code_ends:
        if end >= at:
            break
        previous = end
    return previous


def _emit_group(
    out: list[str], group: list[Comment], indent: int, previous: int, next_first: int, closing: bool
) -> None:
    last_text = out[-1] if out else ""
    after_opener = last_text.endswith("{")
    if out and last_text != "" and not after_opener and group[0].line > previous + 1 and previous > 0:
        out.append("")
    for index, comment in enumerate(group):
        if index and comment.line > group[index - 1].line + 1:
            out.append("")
        out.append(INDENT * indent + comment.text)
    if not closing and next_first > group[-1].line + 1:
        out.append("")


# --------------------------------------------------------------------------- files


def format_dsl(source: SourceFile) -> str:
    """The canonical text of a file: schemas first, then journeys, comments kept."""
    out = _Layout()
    for schema in source.schemas:
        out.blank()
        _schema(out, schema)
    for journey in source.journeys:
        out.blank()
        _journey(out, journey)
    return _place_comments(out.lines, source.comments)
