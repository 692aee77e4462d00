"""Scenario files beside the checked journeys, against the journey's schema: event types, event data, profiles.

`journeydsl test` only finds such slips when the engine turns an event away at run time (or, for a misspelt
field, silently reads null), as a failed scenario that does not say which name is wrong. This pass reads the
`*.scenario.yaml` files in the folders of the checked journey files, with the front end's safe YAML, and reports
where it is written: an event type the schema does not declare (JD704), and an event's `data` or a `profile`
field the schema does not declare or a value of the wrong type (`"55"` for a number, JD705), with did-you-mean
hints. It reads `journey`, and of each scenario `journey`, `profile` and `events` (`type`, `data`, `profile`):
the shape of the rest is the scenario reader's (JD701, `journeydsl test`).
"""

from __future__ import annotations

import re
from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from journeydsl.check.context import SchemaIndex, checked_journeys
from journeydsl.check.suggest import did_you_mean, known_list
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import TypeRef
from journeydsl.project import Project
from journeydsl.syntax.limits import clip
from journeydsl.syntax.printer import format_type
from journeydsl.syntax.safe_yaml import (
    BOOL_TAG,
    FLOAT_TAG,
    INT_TAG,
    NULL_TAG,
    TIMESTAMP_TAG,
    compose,
    span_of,
)

SCENARIO_SUFFIXES = (".scenario.yaml", ".scenario.yml")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?")


def scenario_files_beside(project: Project) -> list[Path]:
    """The scenario files in the folders of the project's checked journey files, sorted, once each."""
    folders = {Path(file.path).parent for file, _journey, _index in checked_journeys(project)}
    found: set[Path] = set()
    for folder in folders:
        try:
            found.update(p for p in folder.iterdir() if p.is_file() and p.name.endswith(SCENARIO_SUFFIXES))
        except OSError:
            continue  # a folder that vanished or cannot be listed: nothing to check there
    return sorted(found)


def check_scenario_events(project: Project, sink: Sink) -> None:
    indexes: dict[str, SchemaIndex] = {}
    for _file, journey, index in checked_journeys(project):
        if index is not None:
            indexes.setdefault(journey.name, index)
    if not indexes:
        return
    for path in scenario_files_beside(project):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # `journeydsl test` reports an unreadable scenario file (JD010)
        _check_file(text, str(path), indexes, sink)


def _check_file(text: str, path: str, indexes: dict[str, SchemaIndex], sink: Sink) -> None:
    # Its own sink: a scenario file's YAML errors are the scenario reader's to report, not the checker's.
    documents = compose(text, path, Sink(), single=True)
    if not documents or not isinstance(documents[0].root, MappingNode):
        return
    root = _entries(documents[0].root)
    default = _text(root.get("journey"))
    scenarios = root.get("scenarios")
    if not isinstance(scenarios, SequenceNode):
        return
    for scenario in scenarios.value:
        if not isinstance(scenario, MappingNode):
            continue
        entries = _entries(scenario)
        journey = _text(entries.get("journey")) or default
        index = indexes.get(journey or "")
        events = entries.get("events")
        if index is None or not isinstance(events, SequenceNode):
            continue  # a journey not checked here (JD703 is `test`'s), or no events list (JD701)
        _check_values(entries.get("profile"), index.profile, "profile", f"schema `{index.schema.name}`", path, sink)
        for event in events.value:
            if isinstance(event, MappingNode):
                event_entries = _entries(event)
                kind = _text(event_entries.get("type"))
                if _check_event(event_entries.get("type"), journey or "", index, path, sink) and kind:
                    fields = index.events[kind]
                    _check_values(event_entries.get("data"), fields, "data", f"event `{kind}`", path, sink)
                where = f"schema `{index.schema.name}`"
                _check_values(event_entries.get("profile"), index.profile, "profile", where, path, sink)


def _check_event(node: Node | None, journey: str, index: SchemaIndex, path: str, sink: Sink) -> bool:
    """Whether the event's type is declared; reports it when it is not."""
    kind = _text(node)
    if node is None or kind is None:
        return False
    if kind in index.events:
        return True
    schema = index.schema.name
    hint = did_you_mean(kind, index.events) or f"the events of schema `{schema}`: {known_list(index.events)}"
    sink.report(
        codes.SCENARIO_UNKNOWN_EVENT,
        f"event type `{kind}` is not declared in schema `{schema}`, which journey `{journey}` uses",
        span_of(path, node),
        hint=hint,
    )
    return False


def _check_values(node: Node | None, fields: dict[str, TypeRef], what: str, owner: str, path: str, sink: Sink) -> None:
    """Each `name: value` of an event's data or a profile: a declared field, and a value its type accepts."""
    if not isinstance(node, MappingNode):
        return  # absent, or not a mapping (JD701)
    for key, value in node.value:
        name = str(key.value) if isinstance(key, ScalarNode) else None
        if name is None:
            continue
        ref = fields.get(name)
        if ref is None:
            suggestion = did_you_mean(name, fields) or f"its fields: {known_list(fields)}"
            message = f"{what} field `{name}` is not declared in {owner}: the engine would never read it"
            sink.report(codes.SCENARIO_BAD_DATA, message, span_of(path, key), hint=suggestion)
            continue
        problem = _misfit(value, ref)
        if problem is not None:
            wrong, hint = problem
            sink.report(codes.SCENARIO_BAD_DATA, f"{what} field `{name}` {wrong}", span_of(path, value), hint=hint)


def _misfit(node: Node, ref: TypeRef) -> tuple[str, str | None] | None:
    """Why a YAML value does not fit a field's type (message, hint), or None when it does."""
    if isinstance(node, ScalarNode) and node.tag == NULL_TAG:
        return None if ref.nullable else ("must not be null", "give it a value, or make the field nullable (`?`)")
    kind = ref.name
    if kind == "list":
        return None if isinstance(node, SequenceNode) else ("must be a list", "e.g. `[a, b]`")
    if not isinstance(node, ScalarNode):
        return (f"must be a {format_type(ref)}, not a {'list' if isinstance(node, SequenceNode) else 'mapping'}", None)
    text = str(node.value)
    quoted = node.style in ("'", '"')
    if kind == "number":
        if node.tag in (INT_TAG, FLOAT_TAG):
            return None
        if quoted and _NUMBER.fullmatch(text.strip()):
            return ("needs a number, got the string " + f'"{text}"', f"write it without quotes: `{text.strip()}`")
        return (f"needs a number, got `{clip(text, 40)}`", None)
    if kind == "bool":
        return None if node.tag == BOOL_TAG else (f"needs true or false, got `{clip(text, 40)}`", None)
    if kind in ("string", "enum") and node.tag in (INT_TAG, FLOAT_TAG, BOOL_TAG):
        return (f"needs a string, got the {_tag_word(node.tag)} `{text}`", f'quote it: `"{text}"`')
    if kind == "enum" and text not in ref.members:
        hint = did_you_mean(text, ref.members) or f"its members: {known_list(ref.members)}"
        return (f"must be one of {format_type(ref).rstrip('?')}, got `{clip(text, 40)}`", hint)
    if kind == "timestamp" and node.tag != TIMESTAMP_TAG and not _TIMESTAMP.fullmatch(text.strip()):
        return (f"needs an RFC 3339 time, got `{clip(text, 40)}`", "e.g. `2026-01-01T10:00:00Z`")
    return None


def _tag_word(tag: str) -> str:
    return {INT_TAG: "number", FLOAT_TAG: "number", BOOL_TAG: "boolean"}.get(tag, "value")


def _entries(node: MappingNode) -> dict[str, Node]:
    return {str(key.value): value for key, value in node.value if isinstance(key, ScalarNode)}


def _text(node: Node | None) -> str | None:
    return str(node.value) if isinstance(node, ScalarNode) and node.value not in (None, "") else None
