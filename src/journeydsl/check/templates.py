"""Message templates: every `send CHANNEL NAME` needs `templates/messages/CHANNEL/NAME.j2`, valid
Jinja2 whose top-level variables are all in the send's `with`, or `profile`, or `event`.

Each template is also held to what the runtime's sandbox allows (runtime/templates.py, issue 12): a use of a
method that would change the data the template is shown (`profile.update(…)`) is an error, JD604, as the
send would fail; a loop or repetition whose size the checker cannot see, or that is over the runtime's
limits, is a warning, JD605, as the send fails when it goes over.

Each template file is read and parsed once per run, however many sends use it. It is parsed by the runtime's
own sandbox, so even the constant folding of parsing (`{{ 'x' * 4000000000 }}`) stays within its limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.meta
from jinja2 import nodes

from journeydsl.check.context import SchemaIndex, checked_journeys
from journeydsl.check.eventflow import event_sets
from journeydsl.check.suggest import did_you_mean, known_list
from journeydsl.diagnostics import Sink, codes
from journeydsl.diagnostics.model import Code
from journeydsl.ir import Send, Span
from journeydsl.project import Project
from journeydsl.runtime.templates import (
    MAX_INT_BITS,
    MAX_RANGE,
    MAX_STEPS,
    MAX_VALUE,
    LimitExceeded,
    Sandbox,
    check_binop,
)

ALWAYS_DEFINED = frozenset({"profile", "event"})


@dataclass(frozen=True)
class Finding:
    """Something the runtime's sandbox refuses or may stop (JD604, JD605), where in the template."""

    code: Code
    message: str  # follows "template `CHANNEL/NAME` "
    span: Span
    hint: str


@dataclass(frozen=True)
class TemplateInfo:
    path: Path
    variables: frozenset[str] | None  # None when the template does not parse
    error: tuple[int, int, str] | None = None  # (line, width of that line, message) of a syntax error
    reads: tuple[tuple[str, str, Span], ...] = ()  # each `profile.F` / `event.F` the template reads, where
    findings: tuple[Finding, ...] = ()


def template_path(templates_dir: Path, channel: str, name: str) -> Path:
    return templates_dir / "messages" / channel / f"{name}.j2"


class TemplateCache:
    """Analysis of each template file, once."""

    def __init__(self) -> None:
        # The runtime's sandbox, which has no loader: we only parse (and Jinja folds constants), never render.
        self.env = Sandbox()
        self.known = frozenset(self.env.globals)
        self.infos: dict[Path, TemplateInfo | None] = {}

    def get(self, path: Path) -> TemplateInfo | None:
        if path not in self.infos:
            self.infos[path] = self._analyse(path)
        return self.infos[path]

    def _analyse(self, path: Path) -> TemplateInfo | None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        try:
            tree = self.env.parse(text, name=path.name, filename=str(path))
            # Finding the variables compiles the template: an unknown filter or test fails here, as it would
            # when the runtime compiles it (TemplateAssertionError is a TemplateSyntaxError).
            variables = frozenset(jinja2.meta.find_undeclared_variables(tree)) - self.known
        except jinja2.TemplateSyntaxError as err:
            line = err.lineno or 1
            lines = text.splitlines()
            width = len(lines[line - 1]) if 0 < line <= len(lines) else 0
            return TemplateInfo(path, None, (line, width, err.message or str(err)))
        findings = _SandboxCheck(self.env, text, path).run(tree)
        return TemplateInfo(path, variables, None, _reads(self.env, tree, text, path), findings)


def _reads(env: Sandbox, tree: jinja2.nodes.Template, text: str, path: Path) -> tuple[tuple[str, str, Span], ...]:
    """`profile.F` and `event.F` in a template, each with the span of its first spelling on the node's line.
    Not a method the sandbox refuses (`profile.update`): JD604 tells of those."""
    lines = text.splitlines()
    found: list[tuple[str, str, Span]] = []
    for node in tree.find_all(jinja2.nodes.Getattr):
        if env.refuses(node.attr):
            continue
        if isinstance(node.node, jinja2.nodes.Name) and node.node.name in ("profile", "event"):
            line = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""
            needle = f"{node.node.name}.{node.attr}"
            col = line.find(needle) + 1 or 1
            span = Span(str(path), node.lineno, col, node.lineno, col + len(needle))
            found.append((node.node.name, node.attr, span))
    return tuple(found)


_MUTATES_HINT = "templates see read-only data: change the profile with `set profile.F = …` in the journey instead"
_INTERNAL_HINT = "names that start with `_` are Python's internals, which templates may not use"
_RANGE_HINT = "loop over the list itself (`{% for item in items %}`), or bound the count: `range([n, 100]|min)`"


class _SandboxCheck:
    """What the runtime's sandbox will refuse (JD604) or may stop (JD605) in one template. Nothing is
    evaluated: sizes come from constants, `[…, N]|min` and arithmetic on them, never from folding."""

    def __init__(self, env: Sandbox, text: str, path: Path) -> None:
        self.env = env
        self.lines = text.splitlines()
        self.path = path
        self.found: list[Finding] = []
        self.located: dict[tuple[int, str], int] = {}  # spellings already placed on a line, for the next one
        self.called: set[int] = set()  # ids of the nodes a call calls

    def run(self, tree: nodes.Template) -> tuple[Finding, ...]:
        self.visit(tree, 1)
        return tuple(self.found)

    def visit(self, node: nodes.Node, outer: int) -> None:
        """`outer`: how many times the loops around `node` run, as far as the checker can see."""
        if isinstance(node, nodes.For):
            self.visit(node.iter, outer)
            if node.test is not None:
                self.visit(node.test, outer)
            items = _loop_items(node.iter)
            inner = outer * items if items is not None else outer
            if inner > MAX_STEPS >= outer:
                self.report(
                    codes.TEMPLATE_UNBOUNDED,
                    f"runs nested loops up to {inner:,} times, over the runtime's limit of {MAX_STEPS:,} steps "
                    "a render",
                    node.lineno,
                    [f"for {node.target.name}", "for "] if isinstance(node.target, nodes.Name) else ["for "],
                    "the send fails when the limit is reached: loop over fewer items",
                )
            for child in node.body:
                self.visit(child, inner)
            for child in node.else_:
                self.visit(child, outer)
            return
        called = id(node) in self.called
        if isinstance(node, nodes.Getattr):
            self.attribute(node.attr, called, node.lineno, _spellings_of_attribute(node))
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
            name = node.args[0]
            if isinstance(name, nodes.Const) and isinstance(name.value, str):
                attr = name.value
                self.attribute(attr, called, node.lineno, [f"attr('{attr}')", f'attr("{attr}")', "attr("])
        elif isinstance(node, nodes.Call):
            callee = node.node
            self.called.add(id(callee))
            # `profile['pop']` reads the key `pop` when there is one: only its call surely is the method.
            if isinstance(callee, nodes.Getitem) and isinstance(callee.arg, nodes.Const):
                if isinstance(callee.arg.value, str):
                    attr = callee.arg.value
                    self.attribute(attr, True, node.lineno, [f"['{attr}']", f'["{attr}"]', "["])
            if isinstance(callee, nodes.Name) and callee.name == "range":
                self.range(node)
        elif isinstance(node, nodes.Mul):
            self.repetition(node)
        elif isinstance(node, nodes.Pow):
            self.power(node)
        for child in node.iter_child_nodes():
            self.visit(child, outer)

    def attribute(self, attr: str, called: bool, line: int, spellings: list[str]) -> None:
        if not self.env.refuses(attr):
            return
        internal = attr.startswith("_")
        why = "is internal to Python" if internal else "would change the data the template is shown"
        self.report(
            codes.TEMPLATE_REFUSED_METHOD,
            f"{'calls' if called else 'uses'} `{spellings[0]}`, which the runtime refuses: it {why}"
            + (", so the send fails" if called else ""),
            line,
            spellings,
            _INTERNAL_HINT if internal else _MUTATES_HINT,
        )

    def range(self, call: nodes.Call) -> None:
        items = _range_items(call)
        if items is None:
            self.report(
                codes.TEMPLATE_UNBOUNDED,
                f"calls `range(…)` with a bound the checker cannot see; the runtime refuses a range of over "
                f"{MAX_RANGE:,} items",
                call.lineno,
                ["range("],
                _RANGE_HINT,
            )
        elif items > MAX_RANGE:
            self.report(
                codes.TEMPLATE_UNBOUNDED,
                f"calls `range(…)` for {items:,} items, over the runtime's limit of {MAX_RANGE:,}",
                call.lineno,
                ["range("],
                "the send fails at run time: loop over fewer items",
            )

    def power(self, node: nodes.Pow) -> None:
        base, power = _upper(node.left), _upper(node.right)
        if base is None or power is None:
            return
        try:
            check_binop("**", base, power)  # the runtime's own test, before it computes
        except LimitExceeded:
            self.report(
                codes.TEMPLATE_UNBOUNDED,
                f"computes a power of over {MAX_INT_BITS:,} bits, which the runtime refuses",
                node.lineno,
                ["**"],
                "the send fails at run time: use smaller numbers",
            )

    def repetition(self, node: nodes.Mul) -> None:
        for sequence, times in ((node.left, node.right), (node.right, node.left)):
            length = _sequence_length(sequence)
            if not length or _sequence_length(times) is not None:
                continue
            count = _upper(times)
            if count is None:
                self.report(
                    codes.TEMPLATE_UNBOUNDED,
                    f"repeats a text or list a number of times the checker cannot see; the runtime refuses a "
                    f"value of over {MAX_VALUE:,} characters",
                    node.lineno,
                    ["*"],
                    "bound the count: `'*' * ([n, 5]|min)`",
                )
            elif length * count > MAX_VALUE:
                self.report(
                    codes.TEMPLATE_UNBOUNDED,
                    f"repeats a text or list into {length * count:,} items or characters, over the runtime's "
                    f"limit of {MAX_VALUE:,}",
                    node.lineno,
                    ["*"],
                    "the send fails at run time: repeat fewer times",
                )
            return

    def report(self, code: Code, message: str, line: int, spellings: list[str], hint: str) -> None:
        self.found.append(Finding(code, message, self.locate(line, spellings), hint))

    def locate(self, line: int, spellings: list[str]) -> Span:
        """The next place on `line` not yet reported where one of `spellings` is written (Jinja's nodes know
        their line, not their column); the whole line when none is."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        for spelling in spellings:
            seen = self.located.get((line, spelling), 0)
            col = -1
            for _ in range(seen + 1):
                col = text.find(spelling, col + 1)
                if col < 0:
                    break
            if col >= 0:
                self.located[(line, spelling)] = seen + 1
                return Span(str(self.path), line, col + 1, line, col + 1 + len(spelling))
        return Span(str(self.path), line, 1, line, len(text) + 1)


def _spellings_of_attribute(node: nodes.Getattr) -> list[str]:
    if isinstance(node.node, nodes.Name):
        return [f"{node.node.name}.{node.attr}", f".{node.attr}"]
    return [f".{node.attr}"]


def _upper(node: nodes.Node) -> int | None:
    """The most a whole-number expression can be, when the template shows it: a constant, `[…, N]|min`, a
    conditional of such, a sum of such."""
    if isinstance(node, nodes.Const) and type(node.value) is int:
        return node.value
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const) and type(node.node.value) is int:
        return -node.node.value
    if isinstance(node, nodes.Filter) and node.name == "min" and isinstance(node.node, (nodes.List, nodes.Tuple)):
        known = [bound for bound in (_upper(item) for item in node.node.items) if bound is not None]
        return min(known) if known and not (node.args or node.kwargs) else None
    if isinstance(node, nodes.CondExpr) and node.expr2 is not None:
        first, second = _upper(node.expr1), _upper(node.expr2)
        return max(first, second) if first is not None and second is not None else None
    if isinstance(node, nodes.Add):
        left, right = _upper(node.left), _upper(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _range_items(call: nodes.Call) -> int | None:
    """The most items `range(…)` gives, when the template shows it."""
    args = call.args
    if call.kwargs or call.dyn_args or call.dyn_kwargs or not 1 <= len(args) <= 3:
        return None
    if len(args) == 1:
        stop = _upper(args[0])
        return max(stop, 0) if stop is not None else None
    start = args[0].value if isinstance(args[0], nodes.Const) and type(args[0].value) is int else None
    step = 1
    if len(args) == 3:
        if not (isinstance(args[2], nodes.Const) and type(args[2].value) is int and args[2].value != 0):
            return None
        step = args[2].value
    stop = _upper(args[1])
    if start is None or (step < 0 and not isinstance(args[1], nodes.Const)) or stop is None:
        return None
    span = stop - start if step > 0 else start - stop
    return max(0, -(-span // abs(step)))


def _loop_items(node: nodes.Node) -> int | None:
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range":
        return _range_items(node)
    return _sequence_length(node)


def _sequence_length(node: nodes.Node) -> int | None:
    """The length of a text or list written in the template."""
    if isinstance(node, nodes.Const) and isinstance(node.value, (str, list, tuple)):
        return len(node.value)
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return len(node.items)
    return None


def _existing(templates_dir: Path, channel: str) -> list[str]:
    folder = templates_dir / "messages" / channel
    try:  # a channel name is a path part: too long a one is an OSError, not a missing folder
        if not folder.is_dir():
            return []
        return sorted(p.name[: -len(".j2")] for p in folder.iterdir() if p.name.endswith(".j2"))
    except OSError:
        return []


def check_templates(project: Project, sink: Sink) -> None:
    cache = TemplateCache()
    reported_syntax: set[Path] = set()
    reported_sandbox: set[Path] = set()
    reported_fields: set[tuple[object, ...]] = set()
    existing: dict[str, list[str]] = {}
    for _file, journey, index in checked_journeys(project):
        events = event_sets(journey) if index is not None else {}
        for step in journey.steps():
            for action in step.actions:
                if not isinstance(action, Send):
                    continue
                if index is not None and action.channel not in index.channels:
                    continue  # an unknown channel (JD105) says it all; no template lookup on a typo
                path = template_path(project.templates_dir, action.channel, action.template)
                info = cache.get(path)
                if info is None:
                    if action.channel not in existing:
                        existing[action.channel] = _existing(project.templates_dir, action.channel)
                    choices = existing[action.channel]
                    hint = did_you_mean(action.template, choices)
                    if hint is None:
                        hint = (
                            f"templates for `{action.channel}`: {known_list(choices)}"
                            if choices
                            else f"create {path} (or point --templates at the folder holding messages/)"
                        )
                    sink.report(
                        codes.UNKNOWN_TEMPLATE,
                        f"template `{action.channel}/{action.template}` does not exist (looked for {path})",
                        action.span,
                        hint,
                    )
                    continue
                if info.error is not None:
                    if path not in reported_syntax:
                        reported_syntax.add(path)
                        line, width, message = info.error
                        sink.report(
                            codes.TEMPLATE_SYNTAX,
                            f"template {path} is not valid Jinja2: {message}",
                            Span(str(path), line, 1, line, width + 1),
                            f"used by `send {action.channel} {action.template}` in step `{step.name}`",
                        )
                    continue
                if path not in reported_sandbox:
                    reported_sandbox.add(path)
                    for finding in info.findings:
                        sink.report(
                            finding.code,
                            f"template `{action.channel}/{action.template}` {finding.message}",
                            finding.span,
                            finding.hint,
                        )
                _check_variables(info, action, step.name, sink)
                if index is not None:
                    current = events.get(step.name, frozenset())
                    for root, name, span in info.reads:
                        key = (path, root, name, index.schema.name, current if root == "event" else None)
                        if key not in reported_fields:
                            reported_fields.add(key)
                            _check_read(index, current, action, step.name, root, name, span, sink)


def _check_variables(info: TemplateInfo, send: Send, step: str, sink: Sink) -> None:
    passed = {arg.name for arg in send.args}
    for variable in sorted((info.variables or frozenset()) - passed - ALWAYS_DEFINED):
        sink.report(
            codes.TEMPLATE_UNDEFINED,
            f"template `{send.channel}/{send.template}` uses `{variable}`, which this send does not pass",
            send.span,
            f"pass it in step `{step}`: `send {send.channel} {send.template} with {{ {variable}: … }}`"
            + (f", or {did_you_mean(variable, passed)}" if did_you_mean(variable, passed) else ""),
        )


_BUILTIN_EVENT_FIELDS = frozenset({"id", "type", "at"})


def _check_read(
    index: SchemaIndex,
    events: frozenset[str],
    send: Send,
    step: str,
    root: str,
    name: str,
    span: Span,
    sink: Sink,
) -> None:
    """A template's `profile.F` must be in the schema; its `event.F` on every event current at the step."""
    where = f"template `{send.channel}/{send.template}` (sent in step `{step}`)"
    if root == "profile":
        if name not in index.profile:
            sink.report(
                codes.UNKNOWN_FIELD,
                f"{where} reads `profile.{name}`, which schema `{index.schema.name}` does not declare",
                span,
                did_you_mean(name, index.profile, "profile.") or f"profile fields: {known_list(index.profile)}",
            )
        return
    known = sorted(e for e in events if e in index.events)
    if name in _BUILTIN_EVENT_FIELDS or not known:
        return
    lacking = [e for e in known if name not in index.events[e]]
    if len(lacking) == len(known):
        fields = set.intersection(*(set(index.events[e]) for e in known)) | _BUILTIN_EVENT_FIELDS
        sink.report(
            codes.UNKNOWN_FIELD,
            f"{where} reads `event.{name}`, and no event current there ({', '.join(f'`{e}`' for e in known)}) has it",
            span,
            did_you_mean(name, fields, "event.") or f"fields: {known_list(fields)}",
        )
    elif lacking:
        sink.report(
            codes.EVENT_FIELD_NOT_ON_ALL,
            f"{where} reads `event.{name}`, which {', '.join(f'`{e}`' for e in lacking)} "
            f"{'lacks' if len(lacking) == 1 else 'lack'}",
            span,
            "pass the value with `with { … }` from a step where every current event has it",
        )
