"""The outline of a file (document symbols): schemas with their events and channels, journeys with stages and
steps, each with its whole range and the range of its name."""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types

from journeydsl.ir import SourceFile, Span
from journeydsl.lsp.index import Index, Text

Kind = types.SymbolKind
ToRange = Callable[[Span], types.Range]


def _name_span(index: Index, path: str, kind: str, key: tuple[str, ...], fallback: Span) -> Span:
    for symbol in index.in_file(path):
        if symbol.definition and symbol.kind == kind and symbol.key == key:
            return symbol.span
    return fallback


def _node(
    name: str, kind: Kind, whole: Span, name_span: Span, to_range: ToRange, detail: str = ""
) -> types.DocumentSymbol:
    return types.DocumentSymbol(
        name=name, kind=kind, range=to_range(whole), selection_range=to_range(name_span), detail=detail or None
    )


def _contained(outer: types.Range, inner: types.Range) -> types.Range:
    """The client rejects a selection range outside its symbol's range; widen the whole range to hold it."""
    start = min((outer.start.line, outer.start.character), (inner.start.line, inner.start.character))
    end = max((outer.end.line, outer.end.character), (inner.end.line, inner.end.character))
    return types.Range(types.Position(*start), types.Position(*end))


def outline(source: SourceFile, text: str, index: Index, to_range: ToRange) -> list[types.DocumentSymbol]:
    path = source.path
    lines = Text(text)
    found: list[types.DocumentSymbol] = []

    def make(
        name: str, kind: Kind, whole: Span | None, key_kind: str, key: tuple[str, ...], detail: str = ""
    ) -> types.DocumentSymbol | None:
        if whole is None:
            return None
        node = _node(name, kind, whole, _name_span(index, path, key_kind, key, whole), to_range, detail)
        node.range = _contained(node.range, node.selection_range)
        return node

    for schema in source.schemas:
        top = make(schema.name, Kind.Struct, schema.span, "schema", (schema.name,), "schema")
        if top is None:
            continue
        children = [make(e.name, Kind.Event, e.span, "event", (schema.name, e.name)) for e in schema.events]
        children += [make(c.name, Kind.EnumMember, c.span, "channel", (schema.name, c.name)) for c in schema.channels]
        top.children = [child for child in children if child is not None]
        found.append(top)
    for journey in source.journeys:
        top = make(journey.name, Kind.Module, journey.span, "journey", (journey.name,), journey.title or "journey")
        if top is None:
            continue
        stages: list[types.DocumentSymbol] = []
        for stage in journey.stages:
            if stage.span is None:
                continue
            name_span = lines.find(stage.span, stage.name, r"\bstage\s+") or stage.span
            node = _node(stage.name, Kind.Namespace, stage.span, name_span, to_range, "stage")
            node.range = _contained(node.range, node.selection_range)
            steps = [make(s.name, Kind.Function, s.span, "step", (path, journey.name, s.name)) for s in stage.steps]
            node.children = [step for step in steps if step is not None]
            stages.append(node)
        top.children = stages
        found.append(top)
    return found
