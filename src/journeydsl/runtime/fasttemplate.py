"""A fast path for the simplest message templates, with exactly Jinja2's output.

Most message bodies are text with `{{ name }}`, `{{ a.b }}`, `{{ a[0] }}`, `{{ x or "literal" }}` and
`{% if x %}...{% elif y %}...{% else %}...{% endif %}`. Rendering those
through Jinja2 costs a `Context` per render (most of the engine's template time). For a template whose
parsed tree holds only those shapes, `plan` returns a list of parts that `renderer` formats: text, and
lookups in plain dicts whose result is shown with `str()`, as Jinja's generated code does with
autoescape off. Nothing here calls a method or reads a Python attribute, so the sandbox has nothing
to guard. Anything outside the shapes (a template with tags, filters, calls, subscripts, globals) has no
plan and renders through the sandbox; so does a render that meets a value the plan does not handle
(`Fallback`), e.g. `a.b` where `a` is not a dict, which Jinja answers with an attribute lookup.

So the fast path keeps the sandbox's guarantees (issue 12) by what it cannot express: no call, hence no method
that changes data (`a.update` is a dict attribute: no plan), no loop, no operator, no filter. The only value it
builds is the body, at most the template's text and the values shown once each, which `Templates.render`
measures against the body's limit as the sandbox's renders are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import nodes

UNDEFINED: Any = object()  # Jinja's Undefined: shown as "", false in `or`
_DICT_ATTRIBUTES = frozenset(dir({}))  # `d.items` is the dict's method in Jinja, not d["items"]

Getter = Callable[[Mapping[str, Any]], Any]
Part = str | Getter


class Fallback(Exception):
    """This render needs Jinja's full semantics."""


def plan(tree: nodes.Template, reserved: frozenset[str]) -> tuple[list[Part], frozenset[str]] | None:
    """The parts of a simple template and the names it reads, or None. `reserved`: names Jinja would
    take from its globals (a plan would not see them)."""
    names: set[str] = set()
    parts = _body(tree.body, reserved, names)
    return None if parts is None else (parts, frozenset(names))


def _body(statements: list[nodes.Node], reserved: frozenset[str], names: set[str]) -> list[Part] | None:
    parts: list[Part] = []
    for statement in statements:
        if isinstance(statement, nodes.If):
            branch = _if(statement, reserved, names)
            if branch is None:
                return None
            parts.append(branch)
            continue
        if not isinstance(statement, nodes.Output):
            return None
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(node.data)
                continue
            getter = _expression(node, reserved, names)
            if getter is None:
                return None
            parts.append(_shown(getter))
    return parts


def _if(node: nodes.If, reserved: frozenset[str], names: set[str]) -> Getter | None:
    """`{% if %}`: the first arm whose test is true (Python truth; Undefined is false) renders."""
    arms: list[tuple[Getter, list[Part]]] = []
    for arm in [node, *node.elif_]:
        test = _expression(arm.test, reserved, names)
        body = _body(arm.body, reserved, names)
        if test is None or body is None:
            return None
        arms.append((test, body))
    otherwise = _body(node.else_, reserved, names)
    if otherwise is None:
        return None

    shown_arms = [(test, renderer(body)) for test, body in arms]
    shown_otherwise = renderer(otherwise)

    def branch(scope: Mapping[str, Any]) -> str:
        for test, body in shown_arms:
            value = test(scope)
            if value is not UNDEFINED and value:
                return body(scope)
        return shown_otherwise(scope)

    return branch


Renderer = Callable[[Mapping[str, Any]], str]


def renderer(parts: list[Part]) -> Renderer:
    """One function for a template's parts: the text becomes a %-format pattern, so a render is a single
    formatting operation over the shown values instead of a join over every part."""
    pieces: list[str] = []
    getters: list[Getter] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part.replace("%", "%%"))
        else:
            pieces.append("%s")  # every getter here returns a str (`_shown`, `_if`): %s shows it as it is
            getters.append(part)
    pattern = "".join(pieces)
    if not getters:
        constant = "".join(part for part in parts if isinstance(part, str))
        return lambda scope: constant
    if len(getters) == 1:
        only = getters[0]
        return lambda scope: pattern % (only(scope),)
    if len(getters) == 2:
        first, second = getters
        return lambda scope: pattern % (first(scope), second(scope))
    every = tuple(getters)
    return lambda scope: pattern % tuple([getter(scope) for getter in every])


def _shown(getter: Getter) -> Getter:
    def show(scope: Mapping[str, Any]) -> str:
        value = getter(scope)
        return "" if value is UNDEFINED else str(value)

    return show


def _expression(node: nodes.Node, reserved: frozenset[str], names: set[str]) -> Getter | None:
    if isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in reserved:
        name = node.name
        names.add(name)
        return lambda scope: scope.get(name, UNDEFINED)
    if isinstance(node, nodes.Getattr) and node.attr not in _DICT_ATTRIBUTES and not node.attr.startswith("_"):
        attr = node.attr
        if isinstance(node.node, nodes.Name) and node.node.ctx == "load" and node.node.name not in reserved:
            # `profile.first_name`, the most common shape: one closure instead of two
            name = node.node.name
            names.add(name)

            def member_of_name(scope: Mapping[str, Any]) -> Any:
                value = scope.get(name, UNDEFINED)
                if type(value) is not dict:
                    raise Fallback
                return value.get(attr, UNDEFINED)

            return member_of_name
        found = _expression(node.node, reserved, names)
        if found is None:
            return None
        base: Getter = found  # a closure does not keep the narrowing of `found`

        def member(scope: Mapping[str, Any]) -> Any:
            value = base(scope)
            if type(value) is not dict:
                raise Fallback  # Undefined raises in Jinja, other objects have attributes
            return value.get(attr, UNDEFINED)

        return member
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and type(node.arg.value) is int:
        inner = _expression(node.node, reserved, names)
        if inner is None:
            return None
        container: Getter = inner
        index = node.arg.value

        def item(scope: Mapping[str, Any]) -> Any:
            value = container(scope)
            if type(value) not in (list, dict, str):
                raise Fallback  # Undefined and other objects: Jinja's own rules
            try:
                return value[index]
            except LookupError:
                return UNDEFINED

        return item
    if isinstance(node, nodes.Const) and type(node.value) in (str, int, float):
        value = node.value
        return lambda scope: value
    if isinstance(node, nodes.Or):
        left = _expression(node.left, reserved, names)
        right = _expression(node.right, reserved, names)
        if left is None or right is None:
            return None

        def either(scope: Mapping[str, Any]) -> Any:
            value = left(scope)
            if value is UNDEFINED or not value:
                return right(scope)
            return value

        return either
    return None
