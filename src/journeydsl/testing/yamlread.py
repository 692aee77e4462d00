"""Scenario YAML: text -> the one document's nodes -> plain values, on the front end's safe YAML.

It sits on syntax/safe_yaml.py, the layer the journey reader shares: the text is composed (never loaded), only
the standard data tags pass, aliases are counted and their expansion bounded, nesting is bounded, and every
node keeps its marks, which `safe_yaml.span_of` turns into a 1-based `Span`. What is particular to scenario
files is here: one document per file, and values built from nodes (timestamps become RFC 3339 text).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import Span
from journeydsl.syntax.safe_yaml import STD, Budget, Document, ExpansionLimit, report_expansion, scalar_value, span_of
from journeydsl.syntax.safe_yaml import compose as compose_documents


def compose(text: str, path: str, sink: Sink) -> Document | None:
    """The single document of `text`; syntax errors (JD003), a second document and unsafe YAML are reported."""
    documents = compose_documents(text, path, sink, single=True)
    if not documents:
        if not sink.diagnostics:
            sink.report(codes.SCENARIO_STRUCTURE, "the scenario file is empty", Span(path, 1, 1, 1, 1))
        return None
    return documents[0]


class ValueReader:
    """Turns the nodes of one document into Python values, within the document's expansion budget."""

    def __init__(self, path: str, sink: Sink, budget: Budget) -> None:
        self.path = path
        self.sink = sink
        self._budget = budget
        self._expanded = False

    def value(self, node: Node) -> Any:
        """The plain value of a node (dicts, lists, scalars); None where it had to report a problem."""
        try:
            self._budget.spend()
        except ExpansionLimit:
            if not self._expanded:  # report once per file
                self._expanded = True
                report_expansion(self.sink, span_of(self.path, node))
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
            value = scalar_value(node)
        except ValueError as err:  # e.g. a timestamp with month 13
            message = f"malformed value {node.value!r}: {err}"
            self.sink.report(codes.SCENARIO_BAD_VALUE, message, span_of(self.path, node))
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
    tag = node.tag.removeprefix(STD)
    return {"str": "text", "int": "a number", "float": "a number", "bool": "a boolean", "null": "null"}.get(
        tag, f"a {tag}"
    )
