"""Migrations (`migrate from N { old -> new; keep old }`): JD112, JD113, JD114.

A migration names steps of two versions: targets are steps of this version, sources and kept steps steps of
version N. The targets are always checked. The old steps can be checked only when the project holds version N of
the same journey (`journeydsl check journeys/ journeys/x.journey@HEAD~1`); without it, `build --keep PREVIOUS`
checks them against the kept plan (compile/keep.py `migration_problems`), which says the same in other words.

With the old version known, one more thing is cheap to tell: after a move the instance's current `event` is still
the one that brought it into its old step (check/eventflow.py gives those event types), so a target step that
reads an `event` field none of them has would read null. That is reported as JD112 too: the move names a step
that does not fit, and the fix is the same (another target, or keep the step).
"""

from __future__ import annotations

from collections.abc import Iterator

from journeydsl.check.context import SchemaIndex, checked_journeys
from journeydsl.check.eventflow import event_sets
from journeydsl.check.suggest import did_you_mean, known_list
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import Choose, Expr, Journey, Migration, Name, SetProfile, Sleep, Span, Step, Wait, sub_expressions
from journeydsl.project import Project

# Fields every event has, whatever its type (check/types.py types them).
_BUILTIN_EVENT_FIELDS = frozenset({"id", "type", "at"})


def check_migrations(project: Project, sink: Sink) -> None:
    versions: dict[tuple[str, int], Journey] = {}
    for journey in project.journeys():
        if journey.version is not None:
            versions.setdefault((journey.name, journey.version), journey)  # duplicates: JD101's
    for _file, journey, index in checked_journeys(project):
        seen: dict[int, Migration] = {}
        for migration in journey.migrations:
            usable = _check_version(journey, migration, seen, sink)
            _check_names(journey, migration, sink)
            old = versions.get((journey.name, migration.from_version)) if usable else None
            if old is not None:
                _check_against_old(journey, migration, old, index, sink)


def _check_version(journey: Journey, migration: Migration, seen: dict[int, Migration], sink: Sink) -> bool:
    """JD114 for the block's version; whether the block comes from an older version not migrated before."""
    source = migration.from_version
    if journey.version is not None and source >= journey.version:
        sink.report(
            codes.MIGRATION_BAD_VERSION,
            f"journey `{journey.name}` version {journey.version} migrates from version {source}, which is not older",
            migration.span,
            hint="version 1 has nothing to migrate from"
            if journey.version == 1
            else f"migrate from version {journey.version - 1}"
            if journey.version == 2
            else f"migrate from an earlier version (1 to {journey.version - 1})",
        )
        return False
    first = seen.get(source)
    if first is not None:
        line = f" (the first is on line {first.span.line})" if first.span is not None else ""
        sink.report(
            codes.MIGRATION_BAD_VERSION,
            f"journey `{journey.name}` migrates from version {source} twice{line}",
            migration.span,
            hint="put the moves and kept steps of one old version in one `migrate` block",
        )
        return False
    seen[source] = migration
    return True


def _kept(migration: Migration) -> Iterator[tuple[str, Span | None]]:
    spans = migration.keep_spans if len(migration.keep_spans) == len(migration.keep) else ()
    for index, name in enumerate(migration.keep):
        yield name, spans[index] if spans else migration.span


def _check_names(journey: Journey, migration: Migration, sink: Sink) -> None:
    """JD114 for a step moved twice, kept twice or both; JD112 for a target that is not a step of this version."""
    version = migration.from_version
    moved: set[str] = set()
    for move in migration.moves:
        if move.source in moved:
            message = f"step `{move.source}` of version {version} is moved twice"
            sink.report(codes.MIGRATION_BAD_VERSION, message, move.span, hint="keep one move")
        moved.add(move.source)
    kept: set[str] = set()
    for name, span in _kept(migration):
        if name in moved:
            message = f"step `{name}` of version {version} is both moved and kept"
            sink.report(codes.MIGRATION_BAD_VERSION, message, span, hint="its instances either move or stay: keep one")
        elif name in kept:
            sink.report(codes.MIGRATION_BAD_VERSION, f"step `{name}` is kept twice", span, hint="name it once")
        kept.add(name)
    steps = journey.step_map()
    for move in migration.moves:
        if move.target not in steps:
            hint = did_you_mean(move.target, steps) or f"steps of this version: {known_list(steps)}"
            message = f"`{move.target}` is not a step of journey `{journey.name}` version {journey.version}"
            sink.report(codes.MIGRATION_UNKNOWN_STEP, message, move.span, hint=hint)


def _check_against_old(
    journey: Journey, migration: Migration, old: Journey, index: SchemaIndex | None, sink: Sink
) -> None:
    """JD112 for old steps that do not exist (and targets reading event fields the moved instances lack), JD113
    for old steps where instances wait and that the block leaves out."""
    version = migration.from_version
    old_steps = old.step_map()
    for name, span in [*((move.source, move.span) for move in migration.moves), *_kept(migration)]:
        if name not in old_steps:
            hint = did_you_mean(name, old_steps) or f"steps of version {version}: {known_list(old_steps)}"
            message = f"`{name}` is not a step of journey `{journey.name}` version {version}"
            sink.report(codes.MIGRATION_UNKNOWN_STEP, message, span, hint=hint)
    named = {move.source for move in migration.moves} | set(migration.keep)
    for step in old_steps.values():
        if isinstance(step.flow, (Wait, Sleep)) and step.name not in named:
            sink.report(
                codes.MIGRATION_INCOMPLETE,
                f"instances of version {version} can wait at `{step.name}`, which this migration neither moves nor "
                "keeps",
                migration.span,
                hint=f"add `{step.name} -> STEP` (a step of this version) or `keep {step.name}`",
            )
    if index is not None:
        _check_events(journey, migration, old, index, sink)


def _check_events(journey: Journey, migration: Migration, old: Journey, index: SchemaIndex, sink: Sink) -> None:
    current = event_sets(old)
    steps = journey.step_map()
    for move in migration.moves:
        target = steps.get(move.target)
        arriving = current.get(move.source, frozenset())
        # Unreachable old steps, or event types the schema does not declare (JD103's): nothing to compare with.
        if target is None or not arriving or not all(event in index.events for event in arriving):
            continue
        for field in _event_reads(target):
            if field in _BUILTIN_EVENT_FIELDS or any(field in index.events[event] for event in arriving):
                continue
            types = ", ".join(f"`{event}`" for event in sorted(arriving))
            sink.report(
                codes.MIGRATION_UNKNOWN_STEP,
                f"`{move.target}` reads `event.{field}`, but instances moved from `{move.source}` of version "
                f"{migration.from_version} come with the event that brought them there ({types}), "
                f"which has no field `{field}`",
                move.span,
                hint="move them to a step that does not read it, or keep them on the old version",
            )
            break  # one per move: the first field it lacks says enough


def _event_reads(step: Step) -> Iterator[str]:
    """`event.F` read from the current event in the step: its actions, a choose's conditions, a wait's `at`.

    A wait arm's `where` reads the arriving event, not the current one, so it is left out.
    """
    roots: list[Expr] = []
    for action in step.actions:
        if isinstance(action, SetProfile):
            roots.append(action.value)
        else:
            roots.extend(arg.value for arg in action.args)
    flow = step.flow
    if isinstance(flow, Choose):
        roots.extend(branch.condition for branch in flow.branches)
    elif isinstance(flow, Wait) and flow.timeout is not None and flow.timeout.at is not None:
        roots.append(flow.timeout.at)
    while roots:
        expr = roots.pop(0)
        if isinstance(expr, Name) and len(expr.path) == 2 and expr.path[0] == "event":
            yield expr.path[1]
        roots[:0] = sub_expressions(expr)
