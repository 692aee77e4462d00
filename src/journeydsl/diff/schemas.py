"""The semantic diff of schemas: profile fields, events and their fields, channels, integrations and the policy.

Schemas match by name; fields, events, channels and integrations by name inside them, so a type edited in place
is one "changed" record. A journey's behaviour can change with its schema alone (a field made nullable, a
channel's consent), which is why a review of a schema file needs this as much as a journey's diff.
"""

from __future__ import annotations

from collections.abc import Sequence

from journeydsl.diff.model import ADDED, CHANGED, REMOVED, Change
from journeydsl.ir import DEFAULT_SETTLE, ChannelDef, ContactPolicy, FieldDef, Schema
from journeydsl.syntax.printer import format_literal, format_type

SCHEMA = "schema"


def _fields(fields: Sequence[FieldDef]) -> dict[str, str]:
    found: dict[str, str] = {}
    for field_def in fields:
        found.setdefault(field_def.name, format_type(field_def.type))
    return found


def _channel(channel: ChannelDef) -> str:
    text = f"cost {format_literal(channel.cost)}"
    return text + (f" requires profile.{channel.requires}" if channel.requires else "")


def _policy(policy: ContactPolicy | None) -> dict[str, str]:
    """The contact policy item by item, as it acts (an unwritten settle is the 1m it means): a cap changed, the
    priority reordered, quiet hours moved each show as one change."""
    if policy is None:
        return {}
    found: dict[str, str] = {}
    for cap in policy.caps:
        found.setdefault(f"cap {cap.channel}", f"{cap.max} per {cap.per} across journeys")
    if policy.priority is not None:
        found["priority"] = f"{policy.priority.kind} [{', '.join(policy.priority.names)}]"
    if policy.quiet is not None:
        found["quiet"] = f"{policy.quiet.start}-{policy.quiet.end}"
    found["settle"] = str(policy.settle if policy.settle is not None else DEFAULT_SETTLE)
    found["conflict"] = policy.conflict
    return found


def _compare(old: dict[str, str], new: dict[str, str], area: str, schema: str, what: str) -> list[Change]:
    changes: list[Change] = []
    for key in [*old, *(k for k in new if k not in old)]:
        subject = f"{what} {key}" if what else key
        if key not in new:
            changes.append(Change(REMOVED, area, schema, subject, old=old[key] or None, scope=SCHEMA))
        elif key not in old:
            changes.append(Change(ADDED, area, schema, subject, new=new[key] or None, scope=SCHEMA))
        elif old[key] != new[key]:
            changes.append(Change(CHANGED, area, schema, subject, old=old[key], new=new[key], scope=SCHEMA))
    return changes


def diff_schema(old: Schema, new: Schema) -> list[Change]:
    """Every difference between two versions of one schema, in the order a schema is written."""
    name = new.name
    changes = _compare(_fields(old.profile), _fields(new.profile), "profile", name, "")
    old_events = {event.name: event for event in old.events}
    new_events = {event.name: event for event in new.events}
    for event in [*old_events, *(e for e in new_events if e not in old_events)]:
        before, after = old_events.get(event), new_events.get(event)
        if after is None and before is not None:
            changes.append(Change(REMOVED, "event", name, event, old=_field_list(before.fields), scope=SCHEMA))
        elif before is None and after is not None:
            changes.append(Change(ADDED, "event", name, event, new=_field_list(after.fields), scope=SCHEMA))
        elif before is not None and after is not None:
            changes += _compare(_fields(before.fields), _fields(after.fields), "event", name, f"{event} field")
    channels_old = {c.name: _channel(c) for c in old.channels}
    channels_new = {c.name: _channel(c) for c in new.channels}
    changes += _compare(channels_old, channels_new, "channel", name, "")
    integrations_old = {i.name: "" for i in old.integrations}
    integrations_new = {i.name: "" for i in new.integrations}
    changes += _compare(integrations_old, integrations_new, "integration", name, "")
    changes += _compare(_policy(old.policy), _policy(new.policy), "policy", name, "")
    return changes


def _field_list(fields: Sequence[FieldDef]) -> str:
    return "{ " + ", ".join(f"{n}: {t}" for n, t in _fields(fields).items()) + " }" if fields else "{}"


def diff_schemas(old: Sequence[Schema], new: Sequence[Schema]) -> list[Change]:
    """Schemas matched by name: added, removed, or compared item by item."""
    old_by_name = {schema.name: schema for schema in old}
    new_by_name = {schema.name: schema for schema in new}
    changes: list[Change] = []
    for name in [*old_by_name, *(n for n in new_by_name if n not in old_by_name)]:
        before, after = old_by_name.get(name), new_by_name.get(name)
        if after is None:
            changes.append(Change(REMOVED, SCHEMA, name, name, scope=SCHEMA))
        elif before is None:
            changes.append(Change(ADDED, SCHEMA, name, name, scope=SCHEMA))
        else:
            changes += diff_schema(before, after)
    return changes
