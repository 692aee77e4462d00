"""Name checks: duplicates, required header items, and every name outside expressions.

Expression names (`profile.F`, `event.F`, functions) are resolved by the typing pass, which needs
them anyway; this pass covers step targets, events, channels, schemas, `set` fields and `emit` fields.
"""

from __future__ import annotations

from collections.abc import Iterable

from journeydsl.check.context import SchemaIndex, checked_files, checked_journeys, header_span
from journeydsl.check.suggest import did_you_mean, known_list
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import EXPERIENCES, CallAction, Emit, Journey, Send, SetProfile, Span, Wait, flow_targets
from journeydsl.project import Project


def _where(span: Span | None) -> str:
    return f" (first at {span.file}:{span.line})" if span else ""


def _duplicates(sink: Sink, kind: str, items: Iterable[tuple[str, Span | None]], scope: str = "") -> None:
    """Report every repeat of a name after its first use."""
    seen: dict[str, Span | None] = {}
    for name, span in items:
        if name in seen:
            sink.report(
                codes.DUPLICATE_NAME,
                f"{kind} `{name}` is defined twice{scope}",
                span,
                hint=f"rename one of them{_where(seen[name])}",
            )
        else:
            seen[name] = span


def check_duplicates(project: Project, sink: Sink) -> None:
    """Journeys (same name and version), schemas, stages, steps, goals, `with` arguments, schema members.

    The one place that reports a name written twice, for both forms: the parsers keep every entry.
    """
    files = checked_files(project)
    journeys: dict[tuple[str, int | None], Span | None] = {}
    for file in files:
        for journey in file.journeys:
            key = (journey.name, journey.version)
            if key in journeys:
                version = f" version {journey.version}" if journey.version is not None else ""
                sink.report(
                    codes.DUPLICATE_NAME,
                    f"journey `{journey.name}`{version} is defined twice",
                    journey.span,
                    hint=f"give it another name or a new version{_where(journeys[key])}",
                )
            else:
                journeys[key] = journey.span
    _duplicates(sink, "schema", ((s.name, s.span) for f in files for s in f.schemas))
    for file in files:
        for schema in file.schemas:
            scope = f" in schema `{schema.name}`"
            _duplicates(sink, "profile field", ((f.name, f.span) for f in schema.profile), scope)
            _duplicates(sink, "event", ((e.name, e.span) for e in schema.events), scope)
            _duplicates(sink, "channel", ((c.name, c.span) for c in schema.channels), scope)
            _duplicates(sink, "integration", ((i.name, i.span) for i in schema.integrations), scope)
            for event in schema.events:
                _duplicates(sink, "field", ((f.name, f.span) for f in event.fields), f" in event `{event.name}`")
        for journey in file.journeys:
            scope = f" in journey `{journey.name}`"
            _duplicates(sink, "stage", ((s.name, s.span) for s in journey.stages), scope)
            _duplicates(sink, "step", ((s.name, s.span) for s in journey.steps()), scope)
            _duplicates(sink, "goal", ((g.name, g.span) for g in journey.goals), scope)
            for step in journey.steps():
                for action in step.actions:
                    if not isinstance(action, SetProfile):  # every other action may have a `with` map
                        args = ((arg.name, arg.span or action.span) for arg in action.args)
                        _duplicates(sink, "`with` argument", args, f" in step `{step.name}`")


def check_header(project: Project, sink: Sink) -> None:
    """`version`, `entry` and `uses` are required; `experience` must be one of the four."""
    known_schemas = project.schemas()
    for _file, journey, _index in checked_journeys(project):
        if journey.version is None or journey.version < 1:
            sink.report(
                codes.MISSING_VERSION,
                f"journey `{journey.name}` has no `version`",
                journey.span,
                hint="add `version 1` (an integer >= 1; bump it when the journey changes)",
            )
        if journey.entry is None:
            sink.report(
                codes.MISSING_ENTRY,
                f"journey `{journey.name}` has no `entry on EVENT`",
                journey.span,
                hint="add the event that starts the journey, e.g. `entry on quote_requested`",
            )
        if journey.uses is None:
            sink.report(
                codes.MISSING_SCHEMA,
                f"journey `{journey.name}` has no `uses SCHEMA`, so its names and types cannot be checked",
                journey.span,
                hint=f"add `uses NAME`; known schemas: {known_list(known_schemas)}",
            )
        elif journey.uses not in known_schemas:
            sink.report(
                codes.UNKNOWN_SCHEMA,
                f"schema `{journey.uses}` is not defined in the files checked or next to this journey",
                header_span(journey, "uses"),
                hint=did_you_mean(journey.uses, known_schemas) or f"known schemas: {known_list(known_schemas)}",
            )
        if journey.experience is not None and journey.experience not in EXPERIENCES:
            sink.report(
                codes.UNKNOWN_EXPERIENCE,
                f"`{journey.experience}` is not a connected experience",
                header_span(journey, "experience"),
                hint=did_you_mean(journey.experience, EXPERIENCES) or f"use one of {known_list(EXPERIENCES)}",
            )


def check_step_targets(project: Project, sink: Sink) -> None:
    for _file, journey, _index in checked_journeys(project):
        steps = journey.step_map()
        for step in journey.steps():
            for target in flow_targets(step.flow):
                if target.name not in steps:
                    sink.report(
                        codes.UNKNOWN_STEP,
                        f"step `{target.name}` does not exist in journey `{journey.name}`",
                        target.span,
                        hint=did_you_mean(target.name, steps) or f"steps: {known_list(steps)}",
                    )


def _unknown_event(sink: Sink, index: SchemaIndex, name: str, span: Span | None) -> None:
    if name not in index.events:
        sink.report(
            codes.UNKNOWN_EVENT,
            f"event `{name}` is not declared in schema `{index.schema.name}`",
            span,
            hint=did_you_mean(name, index.events) or f"declared events: {known_list(index.events)}",
        )


def _event_names(journey: Journey) -> Iterable[tuple[str, Span | None]]:
    if journey.entry:
        yield journey.entry.event, journey.entry.span
    for exit_ in journey.exits:
        yield exit_.event, exit_.span
    for goal in journey.goals:
        yield goal.event, goal.span
    for step in journey.steps():
        for action in step.actions:
            if isinstance(action, Emit):
                yield action.event, action.span
        if isinstance(step.flow, Wait):
            for arm in step.flow.arms:
                yield arm.event, arm.span


def check_schema_names(project: Project, sink: Sink) -> None:
    """Events, channels, integrations, `set` fields and `emit` fields against the journey's schema."""
    for _file, journey, index in checked_journeys(project):
        if index is None:
            continue
        for name, span in _event_names(journey):
            _unknown_event(sink, index, name, span)
        channels = [(cap.channel, cap.span) for cap in journey.caps]
        integrations = {integration.name for integration in index.schema.integrations}
        for step in journey.steps():
            for action in step.actions:
                if isinstance(action, Send):
                    channels.append((action.channel, action.span))
                elif isinstance(action, CallAction) and integrations and action.name not in integrations:
                    sink.report(
                        codes.UNKNOWN_INTEGRATION,
                        f"integration `{action.name}` is not declared in schema `{index.schema.name}`",
                        action.span,
                        hint=did_you_mean(action.name, integrations)
                        or f"declared integrations: {known_list(integrations)}; or declare "
                        f"`integration {action.name}` in the schema",
                    )
                elif isinstance(action, SetProfile) and action.field not in index.profile:
                    sink.report(
                        codes.UNKNOWN_FIELD,
                        f"profile field `{action.field}` is not declared in schema `{index.schema.name}`",
                        action.span,
                        hint=did_you_mean(action.field, index.profile, "profile.")
                        or f"profile fields: {known_list(index.profile)}",
                    )
                elif isinstance(action, Emit) and action.event in index.events:
                    fields = index.events[action.event]
                    for arg in action.args:
                        if arg.name not in fields:
                            sink.report(
                                codes.UNKNOWN_FIELD,
                                f"event `{action.event}` has no field `{arg.name}`",
                                arg.span or action.span,
                                hint=did_you_mean(arg.name, fields) or f"its fields: {known_list(fields)}",
                            )
        for name, span in channels:
            if name not in index.channels:
                sink.report(
                    codes.UNKNOWN_CHANNEL,
                    f"channel `{name}` is not declared in schema `{index.schema.name}`",
                    span,
                    hint=did_you_mean(name, index.channels) or f"declared channels: {known_list(index.channels)}",
                )


def check_schema_consents(project: Project, sink: Sink) -> None:
    """A channel's `requires` must name a profile field of its own schema."""
    for file in checked_files(project):
        for schema in file.schemas:
            profile = {f.name: f.type for f in schema.profile}
            for channel in schema.channels:
                if channel.requires is not None and channel.requires in profile:
                    kind = profile[channel.requires]
                    if kind.name != "bool":
                        sink.report(
                            codes.TYPE_MISMATCH,
                            f"channel `{channel.name}` requires `profile.{channel.requires}`, a {kind.name}; "
                            "a consent is a bool",
                            channel.span,
                            "name a bool profile field, e.g. `requires profile.consent_email`",
                        )
                elif channel.requires is not None:
                    sink.report(
                        codes.UNKNOWN_FIELD,
                        f"channel `{channel.name}` requires `profile.{channel.requires}`, which is not declared",
                        channel.span,
                        hint=did_you_mean(channel.requires, profile, "profile.")
                        or "declare it in `profile { … }` as a bool",
                    )
