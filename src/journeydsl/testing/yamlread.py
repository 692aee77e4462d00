"""Safe, positioned reading of scenario YAML: text -> composed nodes -> plain values.

Scenario files are read with `yaml.compose` (never `yaml.load`), so no tag can
build an object; only the standard scalar/collection tags are accepted, and
alias expansion is bounded by a node budget (a "billion laughs" file is an
error, not a hang). Every node keeps its pyyaml marks, which `span_of` turns
into a 1-based `Span` (pyyaml counts from 0).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import Span

_STD = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(_STD + name for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp"))
NODE_BUDGET = 100_000  # nodes visited when turning a document into values, aliases included


def span_of(node: Node, path: str) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def compose(text: str, path: str, sink: Sink) -> Node | None:
    """Compose the single document of `text`; YAML syntax errors become JD003 with a position."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = err.problem or err.context or "malformed YAML"
        sink.report(codes.YAML_SYNTAX, f"YAML syntax error: {problem}", Span(path, line, col, line, col + 1))
        return None
    except yaml.YAMLError as err:  # e.g. a second document: no mark to point at
        sink.report(codes.YAML_SYNTAX, f"YAML error: {err}", Span(path, 1, 1, 1, 1))
        return None
    if node is None:
        sink.report(codes.SCENARIO_STRUCTURE, "the scenario file is empty", Span(path, 1, 1, 1, 1))
        return None
    bad = [n for n in _distinct_nodes(node) if n.tag not in ALLOWED_TAGS]
    for n in bad:
        sink.report(
            codes.YAML_UNSAFE,
            f"the YAML tag `{n.tag}` is not allowed in a scenario file",
            span_of(n, path),
            hint="scenario files hold plain mappings, lists, strings, numbers, booleans and times",
        )
    return None if bad else node


def _distinct_nodes(root: Node) -> list[Node]:
    """Every node once, even when aliases share it (so this walk cannot blow up)."""
    seen: set[int] = set()
    order: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack.extend((value, key))
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))
    return order


class ValueReader:
    """Turns nodes into Python values, reporting disallowed tags and runaway aliases."""

    def __init__(self, path: str, sink: Sink) -> None:
        self.path = path
        self.sink = sink
        self._budget = NODE_BUDGET
        self._constructor = SafeConstructor()

    def value(self, node: Node) -> Any:
        """The plain value of a node (dicts, lists, scalars); None where it had to report a problem."""
        self._budget -= 1
        if self._budget < 0:
            if self._budget == -1:  # report once per file
                self.sink.report(
                    codes.YAML_UNSAFE,
                    f"the document expands to more than {NODE_BUDGET} nodes (aliases too deep)",
                    span_of(node, self.path),
                )
            return None
        if isinstance(node, MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                result[str(self.value(key_node))] = self.value(value_node)
            return result
        if isinstance(node, SequenceNode):
            return [self.value(item) for item in node.value]
        return self.scalar(node)

    def scalar(self, node: Node) -> Any:
        try:
            value = self._constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as err:  # e.g. a timestamp with month 13
            message = f"malformed value {node.value!r}: {err}"
            self.sink.report(codes.SCENARIO_BAD_VALUE, message, span_of(node, self.path))
            return None
        # Times inside event data and profiles travel as RFC 3339 text, as in a JSON event.
        if isinstance(value, dt.datetime):
            return rfc3339(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return value


def rfc3339(moment: dt.datetime) -> str:
    """`2026-01-01T10:00:00Z` for UTC, the ISO offset otherwise; naive times are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def is_mapping(node: Node | None) -> bool:
    return isinstance(node, MappingNode)


def is_sequence(node: Node | None) -> bool:
    return isinstance(node, SequenceNode)


def is_scalar(node: Node | None) -> bool:
    return isinstance(node, ScalarNode)


def kind_of(node: Node) -> str:
    """A word for the shape of a node, for messages: mapping, list, text, number, …"""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = node.tag.removeprefix(_STD)
    return {"str": "text", "int": "a number", "float": "a number", "bool": "a boolean", "null": "null"}.get(
        tag, f"a {tag}"
    )
