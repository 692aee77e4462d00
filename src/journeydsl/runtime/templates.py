"""Message rendering: the bundle's templates in Jinja2's SandboxedEnvironment.

Templates come from the bundle (never the file system) and render in the sandbox, so a template
cannot reach Python internals. A template is compiled once, on first use, and cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment


class RenderError(Exception):
    """A template is missing or fails to render; the engine records an `error` action."""


# One sandbox and one cache of compiled templates per process, keyed by the template's text: engines
# opened again and again on the same bundle (the scenario runner opens one per scenario) compile each
# template once. The environment has no loader and no state a template could change.
_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
_COMPILED: dict[str, Any] = {}
_COMPILED_MAX = 4096


def _compile(text: str) -> Any:
    compiled = _COMPILED.get(text)
    if compiled is None:
        compiled = _ENV.from_string(text)
        # Template.globals is a ChainMap that every render copies; a plain dict copies several times faster.
        compiled.globals = dict(compiled.globals)
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
        self._compiled: dict[tuple[str, str], Any] = {}

    def has(self, channel: str, template: str) -> bool:
        return f"messages/{channel}/{template}.j2" in self._texts

    def render(self, channel: str, template: str, context: Mapping[str, Any]) -> str:
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
        try:
            return str(compiled.render(context))
        except Exception as err:  # noqa: BLE001 - any failure inside a user template becomes a record, never a crash
            raise RenderError(f"template messages/{channel}/{template}.j2 failed: {type(err).__name__}: {err}") from err
