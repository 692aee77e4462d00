"""Message templates: every `send CHANNEL NAME` needs `templates/messages/CHANNEL/NAME.j2`, valid
Jinja2 whose top-level variables are all in the send's `with`, or `profile`, or `event`.

Each template file is read and parsed once per run, however many sends use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.meta

from journeydsl.check.context import checked_journeys
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
    profile_fields: tuple[tuple[str, Span], ...] = ()  # each `profile.F` the template reads, where


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
        return TemplateInfo(path, variables, None, _profile_fields(tree, text, path))


def _profile_fields(tree: jinja2.nodes.Template, text: str, path: Path) -> tuple[tuple[str, Span], ...]:
    """`profile.F` reads in a template, with the span of the first `profile.F` on the node's line."""
    lines = text.splitlines()
    found: list[tuple[str, Span]] = []
    for node in tree.find_all(jinja2.nodes.Getattr):
        if isinstance(node.node, jinja2.nodes.Name) and node.node.name == "profile":
            line = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""
            needle = f"profile.{node.attr}"
            col = line.find(needle) + 1 or 1
            found.append((node.attr, Span(str(path), node.lineno, col, node.lineno, col + len(needle))))
    return tuple(found)


def _existing(templates_dir: Path, channel: str) -> list[str]:
    folder = templates_dir / "messages" / channel
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".j2")] for p in folder.iterdir() if p.name.endswith(".j2"))


def check_templates(project: Project, sink: Sink) -> None:
    cache = TemplateCache()
    reported_syntax: set[Path] = set()
    reported_fields: set[tuple[Path, str, str]] = set()
    existing: dict[str, list[str]] = {}
    for _file, journey, index in checked_journeys(project):
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
                    for name, span in info.profile_fields:
                        key = (path, name, index.schema.name)
                        if name not in index.profile and key not in reported_fields:
                            reported_fields.add(key)
                            sink.report(
                                codes.UNKNOWN_FIELD,
                                f"template `{action.channel}/{action.template}` reads `profile.{name}`, which "
                                f"schema `{index.schema.name}` does not declare",
                                span,
                                did_you_mean(name, index.profile, "profile.")
                                or f"profile fields: {known_list(index.profile)}",
                            )


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
