"""Message rendering: the bundle's templates in Jinja2's SandboxedEnvironment.

Templates come from the bundle (never the file system) and render in the sandbox, so a template
cannot reach Python internals. A template is compiled once, on first use, and cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from journeydsl.runtime import fasttemplate
from journeydsl.runtime.timeparse import format_time


class RenderError(Exception):
    """A template is missing or fails to render; the engine records an `error` action."""


# One sandbox and one cache of compiled templates per process, keyed by the template's text: engines
# opened again and again on the same bundle (the scenario runner opens one per scenario) compile each
# template once. The environment has no loader and no state a template could change.
_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
_RESERVED = frozenset(_ENV.globals)
_COMPILED: dict[str, Compiled] = {}
_COMPILED_MAX = 4096


class Compiled:
    """A template ready to render: the sandboxed Jinja template, the fast plan when it has one
    (runtime/fasttemplate.py), and whether it reads `event` (only then is the shown event built)."""

    __slots__ = ("jinja", "fast", "uses_event")

    def __init__(self, text: str) -> None:
        tree = _ENV.parse(text)
        self.jinja = _ENV.from_string(tree)
        # Template.globals is a ChainMap that every render copies; a plain dict copies several times faster.
        self.jinja.globals = dict(self.jinja.globals)
        planned = fasttemplate.plan(tree, _RESERVED)
        self.fast = fasttemplate.renderer(planned[0]) if planned is not None else None
        self.uses_event = "event" in meta.find_undeclared_variables(tree)


def _compile(text: str) -> Compiled:
    compiled = _COMPILED.get(text)
    if compiled is None:
        compiled = Compiled(text)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[text] = compiled
    return compiled


class Templates:
    def __init__(self, texts: Mapping[str, str]) -> None:
        # Bundles hold `templates/messages/<channel>/<name>.j2`; accept the path with or without the prefix.
        self._texts: dict[str, str] = {}
        for path, text in texts.items():
            name = path[len("templates/") :] if path.startswith("templates/") else path
            self._texts[name] = text
        self._compiled: dict[tuple[str, str], Compiled] = {}

    def has(self, channel: str, template: str) -> bool:
        return f"messages/{channel}/{template}.j2" in self._texts

    def render(
        self, channel: str, template: str, data: Mapping[str, Any], profile: Mapping[str, Any], event: Mapping[str, Any]
    ) -> str:
        """The body: the template sees the send's `with` values, `profile`, and `event` (its `at` as text)."""
        key = (channel, template)
        compiled = self._compiled.get(key)
        if compiled is None:
            text = self._texts.get(f"messages/{channel}/{template}.j2")
            if text is None:
                raise RenderError(f"template messages/{channel}/{template}.j2 is not in the bundle")
            try:
                compiled = _compile(text)
            except TemplateError as err:
                raise RenderError(f"template messages/{channel}/{template}.j2 does not compile: {err}") from err
            self._compiled[key] = compiled
        context = {**data, "profile": profile}
        if compiled.uses_event:
            shown_event = dict(event)
            shown_event["at"] = format_time(event["at"])
            context["event"] = shown_event
        try:
            if compiled.fast is not None:
                try:
                    return compiled.fast(context)
                except fasttemplate.Fallback:
                    pass
            return str(compiled.jinja.render(context))
        except Exception as err:  # noqa: BLE001 - any failure inside a user template becomes a record, never a crash
            raise RenderError(f"template messages/{channel}/{template}.j2 failed: {type(err).__name__}: {err}") from err
