"""What the docs pages show, as plain data: one `JourneyPage` per journey, built from the IR.

Templates only lay this out; every decision about wording and order is made here, where it can be tested
without HTML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from journeydsl.diagnostics import Diagnostic
from journeydsl.ir import Cap, Duration, End, Experiment, Journey, Schema, Send, SourceFile, Step
from journeydsl.render.graph import ordered_stages, step_edges, step_kind
from journeydsl.syntax.printer import format_action, format_expr


@dataclass(frozen=True)
class StepRow:
    name: str
    kind: str
    actions: tuple[str, ...]
    transitions: tuple[tuple[str, str], ...]  # (label, target)
    outcome: str | None = None  # an end step's outcome (`end won_back`); "" for a plain `end`, None otherwise


@dataclass(frozen=True)
class StageSection:
    name: str
    steps: tuple[StepRow, ...]


@dataclass(frozen=True)
class ExperimentRow:
    step: str
    name: str
    variants: tuple[tuple[str, int, str, bool], ...]  # (name, weight, target, control)


@dataclass(frozen=True)
class TemplateRow:
    channel: str
    name: str
    steps: tuple[str, ...]
    path: str
    text: str | None  # None: the file does not exist


@dataclass(frozen=True)
class DiagnosticRow:
    severity: str
    code: str
    name: str
    message: str
    location: str
    hint: str


@dataclass
class JourneyPage:
    slug: str
    name: str
    title: str
    version: str
    owner: str
    team: str
    description: str
    tags: tuple[str, ...]
    experience: str
    source: str
    entry_event: str
    policies: list[tuple[str, str]] = field(default_factory=list)  # (policy, text)
    # name, event, where, within, value, expected (`expect 12%` as "12%", or "")
    goals: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    stages: list[StageSection] = field(default_factory=list)
    experiments: list[ExperimentRow] = field(default_factory=list)
    templates: list[TemplateRow] = field(default_factory=list)
    diagnostics: list[DiagnosticRow] = field(default_factory=list)
    svg: str = ""
    mermaid: str = ""

    @property
    def search_text(self) -> str:
        """What the index's filter box matches against."""
        parts = [self.name, self.title, self.owner, self.team, self.experience, self.entry_event, *self.tags]
        parts += [stage.name for stage in self.stages] + [goal[0] for goal in self.goals]
        parts += [experiment.name for experiment in self.experiments]
        return " ".join(part for part in parts if part).lower()


def _transitions(step: Step) -> tuple[tuple[str, str], ...]:
    return tuple((edge.label or "next", edge.target) for edge in step_edges(step))


def _policies(journey: Journey) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if journey.entry is not None:
        text = f"on {journey.entry.event}"
        if journey.entry.where is not None:
            text += f" where {format_expr(journey.entry.where)}"
        if journey.entry.key is not None:
            text += f" key {format_expr(journey.entry.key)}"
        rows.append(("entry", text))
    if journey.audience is not None:
        rows.append(("audience", format_expr(journey.audience)))
    reentry = journey.reentry
    if reentry is None:
        rows.append(("re-entry", "never (default)"))
    else:
        rows.append(("re-entry", f"after {reentry.after}" if reentry.mode == "after" else reentry.mode))
    for exit_ in journey.exits:
        rows.append(("exit", f"on {exit_.event}" + (f" where {format_expr(exit_.where)}" if exit_.where else "")))
    for cap in journey.caps:
        rows.append(("cap", f"{cap.channel}: at most {cap.max} per {cap.per}"))
    if journey.quiet is not None:
        rows.append(("quiet hours", f"{journey.quiet.start}-{journey.quiet.end}"))
    return rows


def _templates(journey: Journey, templates_dir: Path) -> list[TemplateRow]:
    used: dict[tuple[str, str], list[str]] = {}
    for step in journey.step_map().values():
        for action in step.actions:
            if isinstance(action, Send):
                used.setdefault((action.channel, action.template), []).append(step.name)
    rows = []
    for (channel, name), steps in used.items():
        path = templates_dir / "messages" / channel / f"{name}.j2"
        try:
            text: str | None = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
        rows.append(TemplateRow(channel, name, tuple(steps), str(path), text))
    return rows


def _diagnostic_row(diagnostic: Diagnostic) -> DiagnosticRow:
    return DiagnosticRow(
        str(diagnostic.severity),
        diagnostic.code.code,
        diagnostic.code.name,
        diagnostic.message,
        str(diagnostic.span) if diagnostic.span else "",
        diagnostic.hint or "",
    )


def _belongs_to(diagnostic: Diagnostic, source: SourceFile, journey: Journey) -> bool:
    """A diagnostic belongs to a journey when it points inside the journey's text (or its file, if unspanned)."""
    span = diagnostic.span
    if span is None or span.file != source.path:
        return False
    if journey.span is None:
        return True
    return journey.span.line <= span.line <= journey.span.end_line


def journey_page(
    source: SourceFile,
    journey: Journey,
    slug: str,
    templates_dir: Path,
    diagnostics: list[Diagnostic],
) -> JourneyPage:
    page = JourneyPage(
        slug=slug,
        name=journey.name,
        title=journey.title or journey.name,
        version=str(journey.version) if journey.version is not None else "",
        owner=journey.owner or "",
        team=journey.team or "",
        description=journey.description or "",
        tags=journey.tags,
        experience=journey.experience or "",
        source=source.path,
        entry_event=journey.entry.event if journey.entry else "",
        policies=_policies(journey),
    )
    for goal in journey.goals:
        page.goals.append(
            (
                goal.name,
                goal.event,
                format_expr(goal.where) if goal.where else "",
                str(goal.within) if goal.within else "",
                format_expr(goal.value) if goal.value else "",
                f"{goal.expect:g}%" if goal.expect is not None else "",
            )
        )
    for stage_name, steps in ordered_stages(journey):
        rows = []
        for step in steps:
            rows.append(
                StepRow(
                    step.name,
                    step_kind(step),
                    tuple(format_action(a) for a in step.actions),
                    _transitions(step),
                    (step.flow.outcome or "") if isinstance(step.flow, End) else None,
                )
            )
            if isinstance(step.flow, Experiment):
                page.experiments.append(
                    ExperimentRow(
                        step.name,
                        step.flow.name,
                        tuple((v.name, v.weight, v.target.name, v.control) for v in step.flow.variants),
                    )
                )
        page.stages.append(StageSection(stage_name, tuple(rows)))
    page.templates = _templates(journey, templates_dir)
    page.diagnostics = [_diagnostic_row(d) for d in diagnostics if _belongs_to(d, source, journey)]
    return page


# --------------------------------------------------------------------------- the contact pressure page (issue 19)

# The window a channel without a shared cap is looked at over: a week, the span a customer feels as "too much".
DEFAULT_WINDOW = Duration(7, "d")


@dataclass(frozen=True)
class OwnCapRow:
    """One journey that sends on a channel: its own cap, and the most that cap lets through in the window."""

    journey: str
    cap: str  # "3 per 1d", or "" when the journey has no cap on the channel
    most: int | None  # None: no own cap, so nothing of the journey's own bounds it


@dataclass(frozen=True)
class PressureChannel:
    """A channel of a schema: the policy's shared cap against the sum of the journeys' own caps over its window."""

    schema: str
    channel: str
    shared: str  # "3 per 7d" or "" when the policy has no cap on the channel
    shared_max: int | None
    window: str  # the shared cap's window, else DEFAULT_WINDOW
    journeys: tuple[OwnCapRow, ...]

    @property
    def most(self) -> int | None:
        """The most one customer could get in the window from the journeys' own caps alone; None: no bound."""
        if any(row.most is None for row in self.journeys):
            return None
        return sum(row.most or 0 for row in self.journeys)

    @property
    def verdict(self) -> str:
        """The own caps set against the shared one, in words."""
        most = "any number (a journey has no cap of its own)" if self.most is None else f"at most {self.most}"
        if self.shared_max is None:
            return f"no shared cap: the journeys' own caps allow {most} per {self.window}"
        if self.most is not None and self.most <= self.shared_max:
            return f"the journeys' own caps allow {most} per {self.window}, so the shared cap never binds"
        return f"the journeys' own caps allow {most} per {self.window}, so the shared cap of {self.shared_max} binds"


@dataclass
class PressurePage:
    channels: list[PressureChannel]
    simulated: Mapping[str, Any] | None = None  # `journeydsl pressure --format json` of a simulated stream


def _most_in_window(cap: Cap, window_s: int) -> int:
    """A cap of `max` per `per` counts the sends in (t - per, t]: in a window of `window_s` at most `max` sends in
    each of ceil(window / per) stretches of `per` (a zero-length cap window bounds nothing: every send is alone)."""
    if cap.per.seconds <= 0:
        return cap.max * max(1, window_s)
    return cap.max * max(1, math.ceil(window_s / cap.per.seconds))


def _channels_sent(journey: Journey) -> list[str]:
    found: dict[str, None] = {}
    for step in journey.step_map().values():
        for action in step.actions:
            if isinstance(action, Send):
                found.setdefault(action.channel, None)
    return list(found)


def pressure_page(
    journeys: Sequence[Journey], schemas: Mapping[str, Schema], simulated: Mapping[str, Any] | None = None
) -> PressurePage | None:
    """The page's content from the latest version of each journey; None when no journey sends (no page then)."""
    latest: dict[str, Journey] = {}
    for journey in journeys:
        held = latest.get(journey.name)
        if held is None or (journey.version or 0) >= (held.version or 0):
            latest[journey.name] = journey
    senders: dict[tuple[str, str], list[Journey]] = {}
    for journey in sorted(latest.values(), key=lambda j: j.name):
        for channel in _channels_sent(journey):
            senders.setdefault((journey.uses or "", channel), []).append(journey)
    if not senders:
        return None
    channels = []
    for (schema_name, channel), sending in sorted(senders.items()):
        schema = schemas.get(schema_name)
        policy = schema.policy if schema is not None else None
        shared = next((c for c in policy.caps if c.channel == channel), None) if policy is not None else None
        window = shared.per if shared is not None else DEFAULT_WINDOW
        rows = []
        for journey in sending:
            own = next((c for c in journey.caps if c.channel == channel), None)
            if own is None:
                rows.append(OwnCapRow(journey.name, "", None))
            else:
                rows.append(OwnCapRow(journey.name, f"{own.max} per {own.per}", _most_in_window(own, window.seconds)))
        channels.append(
            PressureChannel(
                schema=schema_name,
                channel=channel,
                shared=f"{shared.max} per {shared.per}" if shared is not None else "",
                shared_max=shared.max if shared is not None else None,
                window=str(window),
                journeys=tuple(rows),
            )
        )
    return PressurePage(channels, simulated)
