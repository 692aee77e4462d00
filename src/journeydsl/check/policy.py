"""Policy checks: journeys as products (owner, goals), consent rules, and exits that undo entries."""

from __future__ import annotations

from journeydsl.check.context import checked_journeys
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import Send
from journeydsl.project import Project


def check_policy(project: Project, sink: Sink) -> None:
    for _file, journey, index in checked_journeys(project):
        if not journey.owner:
            sink.report(
                codes.MISSING_OWNER,
                f"journey `{journey.name}` has no `owner`: nobody is accountable for it",
                journey.span,
                'add `owner "name@example.com"` (the journey product manager)',
            )
        if not journey.goals:
            sink.report(
                codes.MISSING_GOAL,
                f"journey `{journey.name}` has no `goal`, so its ROI cannot be measured",
                journey.span,
                "add e.g. `goal signed on contract_signed within 30d value event.amount`",
            )
        if journey.entry is not None:
            for exit_ in journey.exits:
                if exit_.event == journey.entry.event:
                    sink.report(
                        codes.EXIT_ON_ENTRY_EVENT,
                        f"`exit on {exit_.event}` is also the entry event: a second `{exit_.event}` ends the "
                        "instance the first one started",
                        exit_.span,
                        "exit on another event, or use `reentry` to control repeated entries",
                    )
        if index is None:
            continue
        # One note per channel and journey (at its first send), not one per send: it is about the channel.
        noted: set[str] = set()
        for step in journey.steps():
            for action in step.actions:
                if not isinstance(action, Send) or action.channel in noted or action.channel not in index.channels:
                    continue
                if index.channels[action.channel] is None:
                    noted.add(action.channel)
                    sink.report(
                        codes.NO_CONSENT_RULE,
                        f"channel `{action.channel}` has no `requires`: sends on it in journey `{journey.name}` "
                        "go out without a consent check",
                        action.span,
                        f"if `{action.channel}` needs consent, add `requires profile.FIELD` to the channel",
                    )
