"""Emit loops across journeys (JD505): A's entry emits what enters B, B's what enters A, with no wait.

For each journey we collect the events its entry can emit within the entering event, i.e. from the
steps reached from the entry step through `->`, `choose` and `experiment` only (a step's actions run
before its flow, so a step that waits still emits). Journey A points at journey B when it emits B's
entry event; every cycle of two or more journeys is an error, reported at each journey's emit.
"""

from __future__ import annotations

from journeydsl.check.context import checked_journeys
from journeydsl.check.graph import instant_targets, strongly_connected
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import Emit, Journey
from journeydsl.project import Project


def instant_emits(journey: Journey) -> list[Emit]:
    """The emits that run in the same event as the entry, in the order they are found."""
    steps = journey.step_map()
    entry = journey.entry_step
    if entry is None:
        return []
    found: list[Emit] = []
    seen = {entry.name}
    work = [entry.name]
    while work:
        step = steps[work.pop()]
        found.extend(a for a in step.actions if isinstance(a, Emit))
        for name in instant_targets(step):
            if name in steps and name not in seen:
                seen.add(name)
                work.append(name)
    return found


def _key(journey: Journey) -> str:
    return f"{journey.name}@{journey.version}"


def check_emit_loops(project: Project, sink: Sink) -> None:
    journeys = {_key(j): j for _f, j, _i in checked_journeys(project)}
    entered_by: dict[str, list[str]] = {}
    for key, journey in journeys.items():
        if journey.entry is not None:
            entered_by.setdefault(journey.entry.event, []).append(key)
    emits = {key: instant_emits(journey) for key, journey in journeys.items()}
    edges: dict[str, list[str]] = {}
    for key, found in emits.items():
        # A journey re-entering itself is not a loop: its instance is still active, so no new one starts.
        edges[key] = sorted({other for e in found for other in entered_by.get(e.event, []) if other != key})
    for component in strongly_connected(sorted(journeys), edges):
        if len(component) < 2:
            continue
        members = set(component)
        for key in sorted(component):
            journey = journeys[key]
            for emit in emits[key]:
                targets = [o for o in entered_by.get(emit.event, []) if o in members and o != key]
                if targets:
                    names = ", ".join(f"`{journeys[t].name}`" for t in targets)
                    sink.report(
                        codes.EMIT_LOOP,
                        f"journey `{journey.name}` emits `{emit.event}` right after entry, which enters {names}; "
                        f"journeys {', '.join(f'`{journeys[k].name}`' for k in sorted(component))} "
                        "emit each other's entry events with no wait between",
                        emit.span,
                        "put a `wait` before one of the emits, or enter on a different event",
                    )
                    break
