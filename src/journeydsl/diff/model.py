"""The semantic diff of two versions of a journey file, as a list of `Change` records.

Journeys match by name, steps by name, transitions by (step, key) where the key names the arm and not its
target (`on:contract_signed`, `when:2`, `variant:friendly`), so retargeting an arm or editing a guard or a
weight is one "changed" record rather than a removal plus an addition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from journeydsl.ir import Journey, Step
from journeydsl.render.graph import Edge, ordered_stages, step_edges, step_kind
from journeydsl.syntax.printer import format_action, format_expr, format_percent

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class Change:
    kind: str  # added | removed | changed
    area: str  # journey, header, policy, goal, step, transition, guard, weight, timer, actions, stage
    journey: str
    subject: str  # what changed, e.g. "step nudge", "nudge -> variant friendly"
    old: str | None = None
    new: str | None = None
    step: str | None = None  # the step it belongs to, for colouring the diagram
    edge_key: str | None = None
    scope: str = "journey"  # what `journey` names: a journey, or a schema (diff/schemas.py)

    def as_dict(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {
            "kind": self.kind,
            "area": self.area,
            "journey": self.journey,
            "subject": self.subject,
            "old": self.old,
            "new": self.new,
        }
        if self.scope != "journey":  # a schema's change names its schema, not a journey
            found = {"kind": self.kind, "area": self.area, self.scope: found.pop("journey"), **found}
        return found


def _header(journey: Journey) -> dict[str, str]:
    items = {
        "title": journey.title,
        "version": None if journey.version is None else str(journey.version),
        "owner": journey.owner,
        "team": journey.team,
        "description": journey.description,
        "tags": ", ".join(journey.tags) if journey.tags else None,
        "experience": journey.experience,
        "uses": journey.uses,
    }
    return {key: value for key, value in items.items() if value is not None}


def _policies(journey: Journey) -> dict[str, str]:
    """Every policy as `key -> text`; keys are what identifies one (exit by event, cap by channel)."""
    found: dict[str, str] = {}
    if journey.entry is not None:
        entry = journey.entry
        text = f"on {entry.event}"
        text += f" where {format_expr(entry.where)}" if entry.where else ""
        text += f" key {format_expr(entry.key)}" if entry.key else ""
        found["entry"] = text
    if journey.audience is not None:
        found["audience"] = format_expr(journey.audience)
    reentry = journey.reentry
    found["reentry"] = "never" if reentry is None else (f"after {reentry.after}" if reentry.after else reentry.mode)
    for index, exit_ in enumerate(journey.exits):
        key = f"exit on {exit_.event}"
        key = key if key not in found else f"{key} #{index + 1}"
        found[key] = f"on {exit_.event}" + (f" where {format_expr(exit_.where)}" if exit_.where else "")
    for cap in journey.caps:
        found[f"cap {cap.channel}"] = f"{cap.max} per {cap.per}"
    if journey.quiet is not None:
        found["quiet"] = f"{journey.quiet.start}-{journey.quiet.end}"
    return found


def _goals(journey: Journey) -> dict[str, str]:
    found: dict[str, str] = {}
    for goal in journey.goals:
        text = f"on {goal.event}"
        text += f" where {format_expr(goal.where)}" if goal.where else ""
        text += f" within {goal.within}" if goal.within else ""
        text += f" value {format_expr(goal.value)}" if goal.value else ""
        text += f" expect {format_percent(goal.expect)}" if goal.expect is not None else ""
        found.setdefault(goal.name, text)
    return found


def _compare_maps(old: dict[str, str], new: dict[str, str], area: str, journey: str, prefix: str = "") -> list[Change]:
    changes: list[Change] = []
    for key in [*old, *(k for k in new if k not in old)]:
        subject = f"{prefix}{key}"
        if key not in new:
            changes.append(Change(REMOVED, area, journey, subject, old=old[key]))
        elif key not in old:
            changes.append(Change(ADDED, area, journey, subject, new=new[key]))
        elif old[key] != new[key]:
            changes.append(Change(CHANGED, area, journey, subject, old=old[key], new=new[key]))
    return changes


def _stage_of(journey: Journey) -> dict[str, str]:
    found: dict[str, str] = {}
    for stage, steps in ordered_stages(journey):
        for step in steps:
            found.setdefault(step.name, stage)
    return found


def _edge_area(edge: Edge) -> str:
    """What a change of an edge's label means for a reviewer."""
    if edge.kind in ("when", "on"):
        return "guard"
    if edge.kind in ("variant", "control"):
        return "weight"
    if edge.kind in ("after", "at", "sleep"):
        return "timer"
    return "transition"


def _edge_text(edge: Edge) -> str:
    return f"{edge.label} -> {edge.target}" if edge.label else f"-> {edge.target}"


def _describe_edge(edge: Edge) -> str:
    kind, _, rest = edge.key.partition(":")
    arm = {"when": f"when #{rest}", "on": f"on {rest}", "variant": f"variant {rest}"}.get(kind, kind)
    return f"{edge.source} {arm}"


def _compare_edges(old: Step | None, new: Step | None, journey: str) -> list[Change]:
    old_edges = {edge.key: edge for edge in step_edges(old)} if old else {}
    new_edges = {edge.key: edge for edge in step_edges(new)} if new else {}
    changes: list[Change] = []
    for key in [*old_edges, *(k for k in new_edges if k not in old_edges)]:
        before, after = old_edges.get(key), new_edges.get(key)
        if after is None and before is not None:
            changes.append(
                Change(
                    REMOVED,
                    "transition",
                    journey,
                    _describe_edge(before),
                    old=_edge_text(before),
                    step=before.source,
                    edge_key=key,
                )
            )
        elif before is None and after is not None:
            changes.append(
                Change(
                    ADDED,
                    "transition",
                    journey,
                    _describe_edge(after),
                    new=_edge_text(after),
                    step=after.source,
                    edge_key=key,
                )
            )
        elif before is not None and after is not None:
            if before.label != after.label:
                changes.append(
                    Change(
                        CHANGED,
                        _edge_area(after),
                        journey,
                        _describe_edge(after),
                        old=before.label,
                        new=after.label,
                        step=after.source,
                        edge_key=key,
                    )
                )
            if before.target != after.target:
                changes.append(
                    Change(
                        CHANGED,
                        "transition",
                        journey,
                        _describe_edge(after),
                        old=f"-> {before.target}",
                        new=f"-> {after.target}",
                        step=after.source,
                        edge_key=key,
                    )
                )
    return changes


def _compare_steps(old: Journey, new: Journey) -> list[Change]:
    name = new.name
    old_steps, new_steps = old.step_map(), new.step_map()
    old_stage, new_stage = _stage_of(old), _stage_of(new)
    changes: list[Change] = []
    for step_name in [*old_steps, *(s for s in new_steps if s not in old_steps)]:
        before, after = old_steps.get(step_name), new_steps.get(step_name)
        subject = step_name
        if after is None and before is not None:
            changes.append(Change(REMOVED, "step", name, subject, old=step_kind(before), step=step_name))
        elif before is None and after is not None:
            changes.append(
                Change(
                    ADDED, "step", name, subject, new=f"{step_kind(after)} in {new_stage[step_name]}", step=step_name
                )
            )
        elif before is not None and after is not None:
            if old_stage[step_name] != new_stage[step_name]:
                changes.append(
                    Change(CHANGED, "stage", name, subject, old_stage[step_name], new_stage[step_name], step_name)
                )
            if step_kind(before) != step_kind(after):
                changes.append(Change(CHANGED, "step", name, subject, step_kind(before), step_kind(after), step_name))
            old_actions = "; ".join(format_action(a) for a in before.actions)
            new_actions = "; ".join(format_action(a) for a in after.actions)
            if old_actions != new_actions:
                changes.append(
                    Change(
                        CHANGED, "actions", name, subject, old_actions or "(none)", new_actions or "(none)", step_name
                    )
                )
            flow_old, flow_new = before.flow, after.flow
            if getattr(flow_old, "name", None) != getattr(flow_new, "name", None):
                changes.append(
                    Change(
                        CHANGED,
                        "experiment",
                        name,
                        subject,
                        getattr(flow_old, "name", None),
                        getattr(flow_new, "name", None),
                        step_name,
                    )
                )
            if getattr(flow_old, "outcome", None) != getattr(flow_new, "outcome", None):
                changes.append(
                    Change(
                        CHANGED,
                        "outcome",
                        name,
                        subject,
                        getattr(flow_old, "outcome", None),
                        getattr(flow_new, "outcome", None),
                        step_name,
                    )
                )
        changes.extend(_compare_edges(before, after, name))
    return changes


def diff_journey(old: Journey, new: Journey) -> list[Change]:
    """Every semantic difference between two versions of one journey, in reading order."""
    name = new.name
    changes = _compare_maps(_header(old), _header(new), "header", name)
    changes += _compare_maps(_policies(old), _policies(new), "policy", name)
    changes += _compare_maps(_goals(old), _goals(new), "goal", name, prefix="goal ")
    changes += _compare_steps(old, new)
    return changes


def pair_journeys(old: Sequence[Journey], new: Sequence[Journey]) -> list[tuple[Journey | None, Journey | None]]:
    """Match journeys by name (several of one name pair up in order); unmatched ones stand alone."""
    pairs: list[tuple[Journey | None, Journey | None]] = []
    remaining = list(old)
    for journey in new:
        match = next((candidate for candidate in remaining if candidate.name == journey.name), None)
        if match is not None:
            remaining.remove(match)
        pairs.append((match, journey))
    # Removed journeys go first in source order of the old file, so the output reads top to bottom.
    return [(journey, None) for journey in remaining] + pairs


def diff_journeys(old: Sequence[Journey], new: Sequence[Journey]) -> list[Change]:
    changes: list[Change] = []
    for before, after in pair_journeys(old, new):
        if before is None and after is not None:
            changes.append(Change(ADDED, "journey", after.name, f"journey {after.name}", new=f"v{after.version}"))
        elif after is None and before is not None:
            changes.append(Change(REMOVED, "journey", before.name, f"journey {before.name}", old=f"v{before.version}"))
        elif before is not None and after is not None:
            changes.extend(diff_journey(before, after))
    return changes
