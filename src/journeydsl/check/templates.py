"""Message templates: every `send CHANNEL NAME` needs `templates/messages/CHANNEL/NAME.j2`, valid
Jinja2 whose top-level variables are all in the send's `with`, or `profile`, or `event`.

Each template file is read and parsed once per run, however many sends use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.meta

from journeydsl.check.context import SchemaIndex, checked_journeys
from journeydsl.check.eventflow import event_sets
from journeydsl.check.suggest import did_you_mean, known_list
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import Send, Span
from journeydsl.project import Project

ALWAYS_DEFINED = frozenset({"profile", "event"})


@dataclass(frozen=True)
class TemplateInfo:
    path: Path
    variables: frozenset[str] | None  # None when the template does not parse
    error: tuple[int, int, str] | None = None  # (line, width of that line, message) of a syntax error
    reads: tuple[tuple[str, str, Span], ...] = ()  # each `profile.F` / `event.F` the template reads, where


def template_path(templates_dir: Path, channel: str, name: str) -> Path:
    return templates_dir / "messages" / channel / f"{name}.j2"


class TemplateCache:
    """Analysis of each template file, once."""

    def __init__(self) -> None:
        # Autoescape off and no loader: we only parse, never render, here.
        self.env = jinja2.Environment(autoescape=False)
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
        except jinja2.TemplateSyntaxError as err:
            line = err.lineno or 1
            lines = text.splitlines()
            width = len(lines[line - 1]) if 0 < line <= len(lines) else 0
            return TemplateInfo(path, None, (line, width, err.message or str(err)))
        variables = frozenset(jinja2.meta.find_undeclared_variables(tree)) - self.known
        return TemplateInfo(path, variables, None, _reads(tree, text, path))


def _reads(tree: jinja2.nodes.Template, text: str, path: Path) -> tuple[tuple[str, str, Span], ...]:
    """`profile.F` and `event.F` in a template, each with the span of its first spelling on the node's line."""
    lines = text.splitlines()
    found: list[tuple[str, str, Span]] = []
    for node in tree.find_all(jinja2.nodes.Getattr):
        if isinstance(node.node, jinja2.nodes.Name) and node.node.name in ("profile", "event"):
            line = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""
            needle = f"{node.node.name}.{node.attr}"
            col = line.find(needle) + 1 or 1
            span = Span(str(path), node.lineno, col, node.lineno, col + len(needle))
            found.append((node.node.name, node.attr, span))
    return tuple(found)


def _existing(templates_dir: Path, channel: str) -> list[str]:
    folder = templates_dir / "messages" / channel
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".j2")] for p in folder.iterdir() if p.name.endswith(".j2"))


def check_templates(project: Project, sink: Sink) -> None:
    cache = TemplateCache()
    reported_syntax: set[Path] = set()
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
