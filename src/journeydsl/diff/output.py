"""The diff as text (for a terminal or a review comment), JSON (for tools) or SVG (the coloured diagram)."""

from __future__ import annotations

import json

from journeydsl.diff.model import ADDED, REMOVED, Change, pair_journeys
from journeydsl.diff.visual import diff_graph
from journeydsl.ir import Journey
from journeydsl.render.graphviz_backend import graph_to_dot
from journeydsl.render.runner import render_dot

_MARK = {ADDED: "+", REMOVED: "-"}


def _value(change: Change) -> str:
    if change.kind == ADDED:
        return f": {change.new}" if change.new else ""
    if change.kind == REMOVED:
        return f": {change.old}" if change.old else ""
    return f": {change.old} => {change.new}"


def render_text(changes: list[Change], old_label: str, new_label: str) -> str:
    lines = [f"--- {old_label}", f"+++ {new_label}"]
    if not changes:
        lines.append("no semantic differences")
    current: tuple[str, str] | None = None
    for change in changes:
        if (change.scope, change.journey) != current:
            current = (change.scope, change.journey)
            lines.append(f"{change.scope} {change.journey}:")
        mark = _MARK.get(change.kind, "~")
        lines.append(f"  {mark} {change.area} {change.subject}{_value(change)}")
    counts = {kind: sum(1 for c in changes if c.kind == kind) for kind in ("added", "removed", "changed")}
    lines.append(f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed")
    return "\n".join(lines) + "\n"


def render_json(changes: list[Change], old_label: str, new_label: str) -> str:
    document = {"old": old_label, "new": new_label, "changes": [change.as_dict() for change in changes]}
    return json.dumps(document, indent=2) + "\n"


def _name(pair: tuple[Journey | None, Journey | None]) -> str:
    journey = pair[1] or pair[0]
    return journey.name if journey is not None else ""


def diff_dot(old: Journey | None, new: Journey | None, changes: list[Change]) -> str:
    name = _name((old, new))
    mine = [change for change in changes if change.journey == name and change.scope == "journey"]
    return str(graph_to_dot(diff_graph(old, new, mine)).source)


def render_svg(
    old_journeys: list[Journey], new_journeys: list[Journey], changes: list[Change], journey: str | None
) -> str:
    """The SVG of one journey's diff: the one named, or the only one there is."""
    pairs = pair_journeys(old_journeys, new_journeys)
    if journey is not None:
        pairs = [pair for pair in pairs if _name(pair) == journey]
        if not pairs:
            raise ValueError(f"no journey named {journey!r} on either side")
    if len(pairs) != 1:
        names = ", ".join(sorted({_name(pair) for pair in pairs}))
        raise ValueError(f"the files hold several journeys ({names}); choose one with --journey NAME")
    old, new = pairs[0]
    return render_dot(diff_dot(old, new, changes), "svg").decode("utf-8")
