"""IR -> the YAML form (SPEC section 4): what `journeydsl convert --to yaml` prints.

Each schema and journey becomes one YAML document (schemas first), separated by
`---`. Keys come in one fixed order, expressions are printed by the DSL printer
and emitted as YAML strings, and `load_yaml(to_yaml(x))` gives back the same IR.
"""

from __future__ import annotations

import re
from typing import Any, assert_never

import yaml

from journeydsl.ir import (
    Action,
    Arg,
    CallAction,
    Choose,
    ContactPolicy,
    Emit,
    End,
    Experiment,
    Expr,
    Flow,
    Goto,
    Journey,
    Migration,
    Schema,
    Send,
    SetProfile,
    Sleep,
    SourceFile,
    Step,
    TypeRef,
    Variant,
    Wait,
)
from journeydsl.syntax.printer import format_expr, format_percent
from journeydsl.syntax.yaml_comments import add_comments

_BOOL_TAG = "tag:yaml.org,2002:bool"


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes the key `on` plain, as SPEC section 4 does.

    YAML 1.1 reads a plain `on` as a boolean, so the stock dumper quotes it; our loader
    reads keys as written, so `on:` is safe here. Every other boolean word stays quoted.
    Lists are indented under their key, as in the SPEC's examples.
    """

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


class _Block(dict[str, Any]):
    """A mapping always written in block style (a schema's profile would be one very long flow line)."""


def _represent_block(dumper: yaml.SafeDumper, data: _Block) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=False)


_Dumper.add_representer(_Block, _represent_block)


class _BlockList(list[Any]):
    """A list always written one item per line (a schema's integrations: each may carry its own comment)."""


def _represent_block_list(dumper: yaml.SafeDumper, data: _BlockList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=False)


_Dumper.add_representer(_BlockList, _represent_block_list)

# Line breaks YAML knows beyond \n and \r: the emitter writes them raw in plain or single-quoted
# scalars, where reading folds them into spaces, so such strings are double-quoted (and escaped).
_UNICODE_BREAKS = re.compile("[\x85\u2028\u2029]")


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = '"' if _UNICODE_BREAKS.search(data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


_Dumper.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
}
_Dumper.add_implicit_resolver(
    _BOOL_TAG,
    re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|off|Off|OFF)$"),
    list("yYnNtTfFoO"),
)


def to_yaml(source: SourceFile) -> str:
    """The YAML form of every schema and journey in `source`, one document each, with the source's comments."""
    documents: list[dict[str, Any]] = [schema_data(s) for s in source.schemas]
    documents += [journey_data(j) for j in source.journeys]
    text: str = yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=None,  # leaf mappings and lists in flow style: `- {on: x, next: y}`
        allow_unicode=True,
        width=1_000_000,  # never fold a long expression over lines: columns inside it stay exact
    )
    return add_comments(text, source, lambda flow: next(iter(flow_data(flow))))


# --------------------------------------------------------------------------- schema


def type_text(type_ref: TypeRef) -> str:
    """`string?`, `list<string>`, `enum(a, b)`, as the DSL writes them."""
    if type_ref.name == "list":
        text = f"list<{type_text(type_ref.item) if type_ref.item else 'string'}>"
    elif type_ref.name == "enum":
        text = f"enum({', '.join(type_ref.members)})"
    else:
        text = type_ref.name
    return text + ("?" if type_ref.nullable else "")


def schema_data(schema: Schema) -> dict[str, Any]:
    data: dict[str, Any] = {"schema": schema.name}
    if schema.profile:
        data["profile"] = _Block((f.name, type_text(f.type)) for f in schema.profile)
    if schema.events:
        data["events"] = _Block((e.name, {f.name: type_text(f.type) for f in e.fields}) for e in schema.events)
    if schema.channels:
        channels: dict[str, Any] = {}
        for channel in schema.channels:
            body: dict[str, Any] = {"cost": channel.cost}
            if channel.requires is not None:
                body["requires"] = f"profile.{channel.requires}"
            channels[channel.name] = body
        data["channels"] = _Block(channels)
    if schema.policy is not None:  # after the channels it caps, as the DSL printer puts it
        data["policy"] = policy_data(schema.policy)
    if schema.integrations:
        data["integrations"] = _BlockList(integration.name for integration in schema.integrations)
    return data


def policy_data(policy: ContactPolicy) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if policy.caps:
        data["caps"] = [{"channel": c.channel, "max": c.max, "per": str(c.per)} for c in policy.caps]
    if policy.priority is not None:
        data["priority"] = {policy.priority.kind: list(policy.priority.names)}
    if policy.quiet is not None:
        data["quiet"] = f"{policy.quiet.start}-{policy.quiet.end}"
    if policy.settle is not None:
        data["settle"] = str(policy.settle)
    if policy.conflict != "suppress" or "conflict" in dict(policy.item_spans):  # as the DSL printer does
        data["conflict"] = policy.conflict
    return _Block(data)


# --------------------------------------------------------------------------- journey


def journey_data(journey: Journey) -> dict[str, Any]:
    data: dict[str, Any] = {"journey": journey.name}
    for key in ("title", "version", "owner", "team", "description"):
        value = getattr(journey, key)
        if value is not None:
            data[key] = value
    if journey.tags:
        data["tags"] = list(journey.tags)
    for key in ("experience", "uses"):
        value = getattr(journey, key)
        if value is not None:
            data[key] = value
    if journey.entry is not None:
        entry: dict[str, Any] = {"on": journey.entry.event}
        if journey.entry.where is not None:
            entry["where"] = format_expr(journey.entry.where)
        if journey.entry.key is not None:
            entry["key"] = format_expr(journey.entry.key)
        data["entry"] = entry
    if journey.audience is not None:
        data["audience"] = format_expr(journey.audience)
    if journey.reentry is not None:
        after = f" {journey.reentry.after}" if journey.reentry.after is not None else ""
        data["reentry"] = journey.reentry.mode + after
    if journey.exits:
        data["exit"] = [_on_where(x.event, x.where) for x in journey.exits]
    if journey.goals:
        goals = []
        for goal in journey.goals:
            item: dict[str, Any] = {"name": goal.name, "on": goal.event}
            if goal.where is not None:
                item["where"] = format_expr(goal.where)
            if goal.within is not None:
                item["within"] = str(goal.within)
            if goal.value is not None:
                item["value"] = format_expr(goal.value)
            if goal.expect is not None:
                item["expect"] = format_percent(goal.expect)
            goals.append(item)
        data["goals"] = goals
    if journey.caps:
        data["caps"] = [{"channel": c.channel, "max": c.max, "per": str(c.per)} for c in journey.caps]
    if journey.quiet is not None:
        data["quiet"] = f"{journey.quiet.start}-{journey.quiet.end}"
    if journey.stages:
        data["stages"] = {stage.name: {step.name: step_data(step) for step in stage.steps} for stage in journey.stages}
    if journey.migrations:
        data["migrate"] = [migration_data(m) for m in journey.migrations]
    return data


def migration_data(migration: Migration) -> dict[str, Any]:
    data: dict[str, Any] = {"from": migration.from_version}
    if migration.moves:
        # A source moved twice (an error the checker reports) cannot be two keys of one mapping: the first stays.
        moves: dict[str, str] = {}
        for move in migration.moves:
            moves.setdefault(move.source, move.target)
        data["moves"] = moves
    if migration.keep:
        data["keep"] = list(migration.keep)
    return data


def _on_where(event: str, where: Expr | None) -> dict[str, Any]:
    item: dict[str, Any] = {"on": event}
    if where is not None:
        item["where"] = format_expr(where)
    return item


def step_data(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if step.actions:
        data["do"] = [action_data(action) for action in step.actions]
    data.update(flow_data(step.flow))
    return data


def _args(args: tuple[Arg, ...]) -> dict[str, Any]:
    return {"with": {arg.name: format_expr(arg.value) for arg in args}} if args else {}


def action_data(action: Action) -> dict[str, Any]:
    if isinstance(action, Send):
        return {"send": {"channel": action.channel, "template": action.template, **_args(action.args)}}
    if isinstance(action, SetProfile):
        return {"set": {"field": f"profile.{action.field}", "value": format_expr(action.value)}}
    if isinstance(action, Emit):
        return {"emit": {"event": action.event, **_args(action.args)}}
    if isinstance(action, CallAction):
        return {"call": {"name": action.name, **_args(action.args)}}
    assert_never(action)  # mypy flags this line when ir.Action gains a kind not written above


def flow_data(flow: Flow) -> dict[str, Any]:
    if isinstance(flow, Goto):
        return {"next": flow.target.name}
    if isinstance(flow, Sleep):
        return {"wait": str(flow.duration), "next": flow.target.name}
    if isinstance(flow, Wait):
        arms: list[dict[str, Any]] = []
        for arm in flow.arms:
            arms.append({**_on_where(arm.event, arm.where), "next": arm.target.name})
        if flow.timeout is not None:
            timeout = flow.timeout
            when = {"after": str(timeout.after)} if timeout.after is not None else {}
            if timeout.at is not None:
                when = {"at": format_expr(timeout.at)}
            arms.append({**when, "next": timeout.target.name})
        return {"wait": arms}
    if isinstance(flow, Choose):
        branches: list[dict[str, Any]] = [
            {"when": format_expr(branch.condition), "next": branch.target.name} for branch in flow.branches
        ]
        if flow.otherwise is not None:
            branches.append({"otherwise": flow.otherwise.name})
        return {"choose": branches}
    if isinstance(flow, Experiment):
        return {"experiment": {"name": flow.name, "variants": [variant_data(v) for v in flow.variants]}}
    if isinstance(flow, End):
        return {"end": flow.outcome}
    assert_never(flow)  # mypy flags this line when ir.Flow gains a kind not written above


def variant_data(variant: Variant) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if not variant.control or variant.name != "control":
        data["name"] = variant.name
    if variant.control:
        data["control"] = True
    data["weight"] = variant.weight
    data["next"] = variant.target.name
    return data
