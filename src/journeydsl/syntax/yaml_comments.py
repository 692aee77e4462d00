"""Comments across `convert`: DSL comments written into the YAML text, YAML comments read into the IR.

The IR keeps a file's comments with their line (ir.Comment); the DSL printer puts them back by the lines of the
nodes around them. Going to YAML, PyYAML writes no comments, so this module does it after the dump: every IR node
with a span (a header item, a stage, a step, an action, a wait arm, a field, ...) is an anchor with the path of
keys and indexes it has in the YAML documents; the dumped text is composed again to find the line of each path. A
comment alone on its line goes above the YAML line of the first anchor after it, a trailing comment after the
YAML line of the innermost anchor on its line. Coming from YAML, `yaml_comments` finds the `#` comments of the
text (outside quoted and multi-line scalars) so the DSL printer places them like a DSL file's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from journeydsl.ir import (
    Comment,
    Flow,
    Journey,
    Schema,
    SourceFile,
    Span,
    flow_targets,
)

Path = tuple[str | int, ...]
FlowKey = Callable[[Flow], str]  # the YAML key a flow is written under: `next`, `wait`, `choose`, ...


@dataclass(frozen=True)
class _Anchor:
    start: int  # the DSL lines the node covers
    end: int
    path: Path  # (document index, key or list index, ...) in the YAML text


# --------------------------------------------------------------------------- DSL -> YAML


def add_comments(yaml_text: str, source: SourceFile, flow_key: FlowKey) -> str:
    """`yaml_text` (to_yaml of `source`) with the source's comments written where their nodes went.

    `flow_key` names the YAML key a flow is written under (the writer's own `flow_data`, passed in by the writer).
    """
    if not source.comments:
        return yaml_text
    anchors = sorted(_anchors(source, flow_key), key=lambda a: (a.start, len(a.path)))
    lines = yaml_text.split("\n")
    where = _yaml_lines(yaml_text)
    above: dict[int, list[str]] = {}
    after: dict[int, list[str]] = {}
    trailing_end: list[str] = []
    for comment in sorted(source.comments, key=lambda c: (c.line, c.col)):
        text = comment.text.rstrip()
        if comment.trailing:
            anchor = _innermost_on(anchors, comment.line)
            at = _line_of(where, anchor.path) if anchor else None
            if at is not None:
                after.setdefault(at, []).append(text)
                continue
        anchor = next((a for a in anchors if a.start > comment.line), None)
        at = _line_of(where, anchor.path) if anchor else None
        if at is None:
            trailing_end.append(text)
        else:
            above.setdefault(at, []).append(text)
    out: list[str] = []
    for number, line in enumerate(lines):
        indent = len(line) - len(line.lstrip(" "))
        out.extend(" " * indent + text for text in above.get(number, ()))
        out.append(line + "".join(f"  {text}" for text in after.get(number, ())))
    if trailing_end:
        if out and out[-1] == "":
            out.pop()
        out.extend([*trailing_end, ""])
    return "\n".join(out)


def _innermost_on(anchors: list[_Anchor], line: int) -> _Anchor | None:
    """The deepest anchor that starts on `line`, else the deepest that covers it."""
    starting = [a for a in anchors if a.start == line]
    if starting:
        return max(starting, key=lambda a: len(a.path))
    covering = [a for a in anchors if a.start <= line <= a.end]
    return max(covering, key=lambda a: len(a.path)) if covering else None


def _line_of(where: dict[Path, int], path: Path) -> int | None:
    """The YAML line of a path, or of its nearest parent the writer kept."""
    while path:
        if path in where:
            return where[path]
        path = path[:-1]
    return None


def _yaml_lines(text: str) -> dict[Path, int]:
    """Path -> the line (from 0) where its key or list item starts in the dumped YAML."""
    found: dict[Path, int] = {}
    for index, root in enumerate(yaml.compose_all(text, Loader=yaml.SafeLoader)):
        if root is not None:
            found[(index,)] = root.start_mark.line
            _walk_yaml(root, (index,), found)
    return found


def _walk_yaml(node: Node, path: Path, found: dict[Path, int]) -> None:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            found.setdefault(child, key.start_mark.line)
            _walk_yaml(value, child, found)
    elif isinstance(node, SequenceNode):
        for number, item in enumerate(node.value):
            child = (*path, number)
            found.setdefault(child, item.start_mark.line)
            _walk_yaml(item, child, found)


def _anchors(source: SourceFile, flow_key: FlowKey) -> Iterator[_Anchor]:
    """Every node with a span, with its YAML path; documents in to_yaml's order (schemas, then journeys)."""
    for index, schema in enumerate(source.schemas):
        yield from _schema_anchors(schema, index)
    for index, journey in enumerate(source.journeys, start=len(source.schemas)):
        yield from _journey_anchors(journey, index, flow_key)


def _anchor(span: Span | None, *path: str | int) -> Iterator[_Anchor]:
    if span is not None:
        yield _Anchor(span.line, span.end_line, path)


def _schema_anchors(schema: Schema, doc: int) -> Iterator[_Anchor]:
    if schema.span is not None:
        yield _Anchor(schema.span.line, schema.span.line, (doc, "schema"))
    for key, span in schema.item_spans:
        yield from _anchor(span, doc, key)
    for field_def in schema.profile:
        yield from _anchor(field_def.span, doc, "profile", field_def.name)
    for event in schema.events:
        yield from _anchor(event.span, doc, "events", event.name)
    for channel in schema.channels:
        yield from _anchor(channel.span, doc, "channels", channel.name)
    for number, integration in enumerate(schema.integrations):
        yield from _anchor(integration.span, doc, "integrations", number)
    policy = schema.policy
    if policy is not None:
        yield from _anchor(policy.span, doc, "policy")
        for number, cap in enumerate(policy.caps):
            yield from _anchor(cap.span, doc, "policy", "caps", number)
        if policy.priority is not None:
            yield from _anchor(policy.priority.span, doc, "policy", "priority")
        if policy.quiet is not None:
            yield from _anchor(policy.quiet.span, doc, "policy", "quiet")
        for key, span in policy.item_spans:
            yield from _anchor(span, doc, "policy", key)


def _journey_anchors(journey: Journey, doc: int, flow_key: FlowKey) -> Iterator[_Anchor]:
    if journey.span is not None:
        yield _Anchor(journey.span.line, journey.span.line, (doc, "journey"))
    for key, span in (*journey.item_spans, *journey.value_spans):
        yield from _anchor(span, doc, key)
    if journey.entry is not None:
        yield from _anchor(journey.entry.span, doc, "entry")
    if journey.audience is not None:
        yield from _anchor(journey.audience.span, doc, "audience")
    if journey.reentry is not None:
        yield from _anchor(journey.reentry.span, doc, "reentry")
    if journey.quiet is not None:
        yield from _anchor(journey.quiet.span, doc, "quiet")
    for number, exit_ in enumerate(journey.exits):
        yield from _anchor(exit_.span, doc, "exit", number)
    for number, goal in enumerate(journey.goals):
        yield from _anchor(goal.span, doc, "goals", number)
    for number, cap in enumerate(journey.caps):
        yield from _anchor(cap.span, doc, "caps", number)
    for number, migration in enumerate(journey.migrations):
        yield from _anchor(migration.span, doc, "migrate", number)
    for stage in journey.stages:
        yield from _anchor(stage.span, doc, "stages", stage.name)
        for step in stage.steps:
            path = (doc, "stages", stage.name, step.name)
            yield from _anchor(step.span, *path)
            for number, action in enumerate(step.actions):
                yield from _anchor(action.span, *path, "do", number)
            yield from _flow_anchors(step.flow, path, flow_key(step.flow))


def _flow_anchors(flow: Flow, path: Path, key: str) -> Iterator[_Anchor]:
    """The flow under its YAML key, and each arm (wait arm, branch, variant) by the span of its target.

    The key and the order of the arms are the YAML writer's own (`flow_data`, and `flow_targets` lists the targets
    in that order), so this adds no dispatch over the kinds of flow to keep in step with them.
    """
    yield from _anchor(flow.span, *path, key)
    items = (*path, key, "variants") if key == "experiment" else (*path, key)
    for number, target in enumerate(flow_targets(flow)):
        yield from _anchor(target.span, *items, number)


# --------------------------------------------------------------------------- YAML -> IR


def yaml_comments(text: str, roots: list[Node]) -> tuple[Comment, ...]:
    """The `#` comments of a YAML text, skipping the lines inside multi-line scalars of the composed `roots`."""
    inside: set[int] = set()
    for root in roots:
        _scalar_lines(root, inside, set())
    found: list[Comment] = []
    for number, line in enumerate(text.split("\n")):
        if number in inside:
            continue
        col = _comment_start(line)
        if col is not None:
            trailing = line[:col].strip() != ""
            found.append(Comment(line[col:].rstrip(), number + 1, col + 1, trailing))
    return tuple(found)


def _scalar_lines(node: Node, inside: set[int], seen: set[int]) -> None:
    """The lines (from 0) after the first line of each multi-line scalar: they hold no comment."""
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ScalarNode):
            first, last = current.start_mark.line, current.end_mark.line
            if last > first:
                inside.update(range(first + 1, last + 1))
                if current.style in ("|", ">"):
                    inside.discard(last)  # a block scalar's end mark is on the line after its text
                    inside.update(range(first + 1, last))
        elif isinstance(current, MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)


def _comment_start(line: str) -> int | None:
    """The column (from 0) of the `#` that starts a comment on a YAML line, outside quotes; None without one."""
    quote = ""
    previous = " "
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                if quote == "'" and line[index + 1 : index + 2] == "'":
                    index += 1  # '' is a quote inside a single-quoted scalar
                else:
                    quote = ""
        elif char in "'\"" and previous in " \t[{,:-?":
            quote = char
        elif char == "#" and previous in " \t":
            return index
        previous = char
        index += 1
    return None
