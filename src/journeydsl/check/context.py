"""What every pass needs: the journeys to check, their schema, and per-schema lookup tables.

Lookups are built once per schema object (not per expression) so the checker stays linear in the
size of the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from journeydsl.diagnostics import codes
from journeydsl.ir import EventDef, Journey, Schema, SourceFile, Span, TypeRef
from journeydsl.project import Project

# Parse diagnostics after which a file's IR is incomplete and checking it would only add noise.
FATAL_CODES = frozenset(
    c.code
    for c in (
        codes.SYNTAX_ERROR,
        codes.UNEXPECTED_EOF,
        codes.YAML_SYNTAX,
        codes.YAML_STRUCTURE,
        codes.YAML_UNSAFE,
        codes.FILE_ERROR,
    )
)


@dataclass
class SchemaIndex:
    schema: Schema
    profile: dict[str, TypeRef] = field(default_factory=dict)
    events: dict[str, dict[str, TypeRef]] = field(default_factory=dict)
    event_defs: dict[str, EventDef] = field(default_factory=dict)
    channels: dict[str, str | None] = field(default_factory=dict)  # name -> requires

    @classmethod
    def build(cls, schema: Schema) -> SchemaIndex:
        index = cls(schema)
        for f in schema.profile:
            index.profile.setdefault(f.name, f.type)
        for event in schema.events:
            index.event_defs.setdefault(event.name, event)
            fields = index.events.setdefault(event.name, {})
            for f in event.fields:
                fields.setdefault(f.name, f.type)
        for channel in schema.channels:
            index.channels.setdefault(channel.name, channel.requires)
        return index


_INDEXES: dict[int, tuple[Schema, SchemaIndex]] = {}


def schema_index(schema: Schema) -> SchemaIndex:
    """The lookup tables of a schema, cached by identity (the schema object is kept alive with it)."""
    hit = _INDEXES.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    if len(_INDEXES) > 256:  # a long-lived process (tests, an editor server) should not grow without bound
        _INDEXES.clear()
    index = SchemaIndex.build(schema)
    _INDEXES[id(schema)] = (schema, index)
    return index


def checked_files(project: Project) -> list[SourceFile]:
    """The named files whose parse left a usable IR."""
    broken = {d.span.file for d in project.diagnostics if d.span is not None and d.code.code in FATAL_CODES}
    return [file for file in project.files if file.path not in broken]


def checked_journeys(project: Project) -> list[tuple[SourceFile, Journey, SchemaIndex | None]]:
    """Each journey to check, with its file and the index of its schema (None when it has none)."""
    schemas = project.schemas()
    found: list[tuple[SourceFile, Journey, SchemaIndex | None]] = []
    for file in checked_files(project):
        for journey in file.journeys:
            schema = schemas.get(journey.uses) if journey.uses else None
            found.append((file, journey, schema_index(schema) if schema else None))
    return found


def header_span(journey: Journey, keyword: str) -> Span | None:
    """The span of a header item's value (`experience curated_offer`, `uses: shops`); else the journey's."""
    for key, span in journey.value_spans:
        if key == keyword:
            return span
    return journey.span
