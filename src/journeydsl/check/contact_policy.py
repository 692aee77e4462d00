"""Contact policy checks (issue 19): a schema's `policy { … }` and the journeys that share it, and goals' `expect`.

The policy is checked once per schema (in the files being checked); its priority names against the journeys
of the project that use the schema; each journey's own caps against the shared caps of its schema. A second
`policy` block is the parser's JD009, like a second `profile`.
"""

from __future__ import annotations

import math

from journeydsl.check.context import checked_files, checked_journeys, schema_index
from journeydsl.check.suggest import did_you_mean, known_list
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import EXPERIENCES, ContactPolicy, Duration, Journey, Schema, SharedCap, Span
from journeydsl.project import Project

MAX_SETTLE = Duration(1, "d")  # longer, and every capped send is late by more than a day (JD508)


def check_contact_policy(project: Project, sink: Sink) -> None:
    users: dict[str, list[Journey]] = {}  # schema name -> the journeys of the project that use it
    for file in [*project.files, *project.neighbours]:
        for journey in file.journeys:
            if journey.uses is not None:
                users.setdefault(journey.uses, []).append(journey)
    for file in checked_files(project):
        for schema in file.schemas:
            if schema.policy is not None:
                _check_policy(schema, schema.policy, users.get(schema.name, []), sink)
    for _file, journey, index in checked_journeys(project):
        _check_expect(journey, sink)
        if index is not None and index.schema.policy is not None:
            _check_journey_caps(journey, index.schema.policy, sink)


def shared_caps(policy: ContactPolicy) -> dict[str, SharedCap]:
    """Channel -> its shared cap; the first of two wins, as in the plan (compile/plan.py, policy_dict)."""
    caps: dict[str, SharedCap] = {}
    for cap in policy.caps:
        caps.setdefault(cap.channel, cap)
    return caps


def _check_policy(schema: Schema, policy: ContactPolicy, users: list[Journey], sink: Sink) -> None:
    channels = schema_index(schema).channels
    seen: dict[str, SharedCap] = {}
    for cap in policy.caps:
        if cap.channel not in channels:
            sink.report(
                codes.UNKNOWN_CHANNEL,
                f"the contact policy caps channel `{cap.channel}`, which schema `{schema.name}` does not declare",
                cap.span,
                hint=did_you_mean(cap.channel, channels) or f"declared channels: {known_list(channels)}",
            )
        first = seen.setdefault(cap.channel, cap)
        if first is not cap:
            sink.report(
                codes.POLICY_CAP_TWICE,
                f"channel `{cap.channel}` is capped twice in the contact policy of schema `{schema.name}`"
                + _first_written(first.span),
                cap.span,
                hint="keep one shared cap per channel (the first one is used)",
            )
        if cap.max < 1 or cap.per.seconds == 0:
            what = f"a `max` of {cap.max} allows no send at all" if cap.max < 1 else "a window of 0 counts nothing"
            sink.report(
                codes.BAD_POLICY_CAP,
                f"`cap {cap.channel} {cap.max} per {cap.per} across journeys`: {what}",
                cap.span,
                hint="a shared cap allows at least 1 send per window of at least 1s, e.g. `cap email 3 per 7d`",
            )
    if policy.settle is not None and policy.settle.seconds > MAX_SETTLE.seconds:
        sink.report(
            codes.LONG_SETTLE,
            f"`settle {policy.settle}`: every send on a capped channel waits {policy.settle} before it goes out",
            dict(policy.item_spans).get("settle", policy.span),
            hint="a settle of a minute or a few covers the sends one event causes; the default is 1m",
        )
    if policy.priority is not None:
        _check_priority(schema, policy, users, sink)


def _check_priority(schema: Schema, policy: ContactPolicy, users: list[Journey], sink: Sink) -> None:
    priority = policy.priority
    assert priority is not None
    spans = priority.name_spans if len(priority.name_spans) == len(priority.names) else ()
    experiences = priority.kind == "experiences"
    # Experiences are a fixed vocabulary: a policy may rank one that no journey has yet (the next journey will),
    # and a check of some of the project's files cannot tell which ones the others have.
    have = {j.name for j in users}
    noun = "experience" if experiences else "journey"
    listed: dict[str, Span | None] = {}
    for position, name in enumerate(priority.names):
        span = spans[position] if spans else priority.span
        if name in listed:
            sink.report(
                codes.PRIORITY_NAME_TWICE,
                f"{noun} `{name}` is listed twice in the priority of schema `{schema.name}`"
                + _first_written(listed[name]),
                span,
                hint="a priority is an order: keep the place where it belongs",
            )
            continue
        listed[name] = span
        if experiences and name not in EXPERIENCES:
            sink.report(
                codes.UNKNOWN_PRIORITY_NAME,
                f"`{name}` is not an experience",
                span,
                hint=did_you_mean(name, EXPERIENCES) or f"experiences are {known_list(EXPERIENCES)}",
            )
        elif not experiences and users and name not in have:  # without the schema's journeys: nothing to say
            sink.report(
                codes.UNKNOWN_PRIORITY_NAME,
                f"no journey that uses schema `{schema.name}` is named `{name}`",
                span,
                hint=did_you_mean(name, have) or f"its journeys: {known_list(have)}",
            )


def _check_journey_caps(journey: Journey, policy: ContactPolicy, sink: Sink) -> None:
    shared = shared_caps(policy)
    for cap in journey.caps:
        limit = shared.get(cap.channel)
        if limit is None or cap.per.seconds == 0 or limit.per.seconds == 0:
            continue  # no shared cap on the channel, or a window JD507 (or nothing) refuses
        windows = math.ceil(limit.per.seconds / cap.per.seconds)
        allowed = cap.max * windows
        if allowed > limit.max:
            sink.report(
                codes.JOURNEY_CAP_ABOVE_POLICY,
                f"journey `{journey.name}`'s `cap {cap.channel} {cap.max} per {cap.per}` allows {allowed} sends in "
                f"{limit.per}, but the contact policy's `cap {cap.channel} {limit.max} per {limit.per} across "
                f"journeys` lets {limit.max} through over all journeys and suppresses the rest by priority",
                cap.span,
                hint=f"lower this cap to what the policy allows (e.g. `cap {cap.channel} {limit.max} per "
                f"{limit.per}`), or raise the policy's",
            )


def _check_expect(journey: Journey, sink: Sink) -> None:
    for goal in journey.goals:
        if goal.expect is not None and not 0 < goal.expect <= 100:
            shown = f"{goal.expect:g}"
            sink.report(
                codes.BAD_EXPECT,
                f"goal `{goal.name}` expects {shown}% of entries: a share is above 0% and at most 100%",
                goal.span,
                hint="write the expected conversion rate, e.g. `expect 12%`",
            )


def _first_written(span: Span | None) -> str:
    return f" (first at {span.line}:{span.col})" if span is not None else ""
