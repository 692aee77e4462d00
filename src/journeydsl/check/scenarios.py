"""Scenario files beside the checked journeys: each event's `type` must be an event of the journey's schema.

`journeydsl test` only finds such a slip when the engine turns the event away at run time, as a failed scenario
that does not say which name is wrong. This pass reads the `*.scenario.yaml` files in the folders of the checked
journey files, with the front end's safe YAML, and reports an event type the schema does not declare (JD704),
with a did-you-mean, where it is written. It reads only `journey`, `scenarios[].journey` and
`scenarios[].events[].type`: the shape of the rest is the scenario reader's (JD701, `journeydsl test`).
"""

from __future__ import annotations

from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from journeydsl.check.context import SchemaIndex, checked_journeys
from journeydsl.check.suggest import did_you_mean, known_list
from journeydsl.diagnostics import Sink, codes
from journeydsl.project import Project
from journeydsl.syntax.safe_yaml import compose, span_of

SCENARIO_SUFFIXES = (".scenario.yaml", ".scenario.yml")


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
        for event in events.value:
            if isinstance(event, MappingNode):
                _check_event(_entries(event).get("type"), journey or "", index, path, sink)


def _check_event(node: Node | None, journey: str, index: SchemaIndex, path: str, sink: Sink) -> None:
    kind = _text(node)
    if node is None or kind is None or kind in index.events:
        return
    schema = index.schema.name
    hint = did_you_mean(kind, index.events) or f"the events of schema `{schema}`: {known_list(index.events)}"
    sink.report(
        codes.SCENARIO_UNKNOWN_EVENT,
        f"event type `{kind}` is not declared in schema `{schema}`, which journey `{journey}` uses",
        span_of(path, node),
        hint=hint,
    )


def _entries(node: MappingNode) -> dict[str, Node]:
    return {str(key.value): value for key, value in node.value if isinstance(key, ScalarNode)}


def _text(node: Node | None) -> str | None:
    return str(node.value) if isinstance(node, ScalarNode) and node.value not in (None, "") else None
