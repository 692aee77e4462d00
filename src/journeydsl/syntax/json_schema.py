"""The JSON Schema (2020-12) of the YAML form, for editor completion (`journeydsl schema`).

It describes one YAML document: a journey or a schema. It is built from small
named pieces under `$defs` so editors show a description at every key. The
loader stays the authority (it reports positions and parses expressions); this
schema only has to accept everything the writer produces and every example.
"""

from __future__ import annotations

from typing import Any

from journeydsl.ir import CONFLICT_MODES, EXPERIENCES
from journeydsl.syntax.durations import DURATION_PATTERN
from journeydsl.syntax.limits import MAX_SAFE_INTEGER

SCHEMA_ID = "https://journeydsl.dev/schema/journey.schema.json"

_NAME = r"^[a-z_][a-z0-9_]*$"
_DURATION = f"^{DURATION_PATTERN}$"
_FLOWS = ("next", "wait", "choose", "experiment", "end")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = (), description: str | None = None) -> dict[str, Any]:
    """A closed object: editors complete exactly these keys."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _names_to(value: dict[str, Any], description: str) -> dict[str, Any]:
    """A mapping keyed by names (stages, steps, fields)."""
    return {
        "type": "object",
        "propertyNames": _ref("name"),
        "additionalProperties": value,
        "description": description,
    }


def _only(flow: str, extra: dict[str, Any] | None = None, also: tuple[str, ...] = ()) -> dict[str, Any]:
    """A step whose one flow is `flow`: the other flow keys are absent."""
    others = [k for k in _FLOWS if k != flow and k not in also]
    schema: dict[str, Any] = {
        "required": [flow, *also],
        "not": {"anyOf": [{"required": [k]} for k in others]},
    }
    if extra:
        schema["properties"] = extra
    return schema


def _defs() -> dict[str, Any]:
    expression = {
        "type": ["string", "number", "boolean"],
        "description": 'An expression, e.g. `profile.segment != "churned"`; quote string literals inside it.',
    }
    with_args = _names_to(_ref("expression"), "Template or payload values: `name: EXPRESSION`.")
    on_where = {"on": _ref("name"), "where": _ref("expression")}
    quiet = {
        "type": "string",
        "pattern": r"^\s*[0-9]{1,2}:[0-9]{2}\s*-\s*[0-9]{1,2}:[0-9]{2}\s*$",
        "description": "No sends in these hours, e.g. 21:00-08:00.",
    }
    cap = _obj(
        {
            "channel": _ref("name"),
            "max": {"type": "integer", "minimum": 0, "maximum": MAX_SAFE_INTEGER},
            "per": _ref("duration"),
        },
        required=("channel", "max", "per"),
    )
    names = {"type": "array", "items": _ref("name")}
    return {
        "name": {"type": "string", "pattern": _NAME, "description": "An identifier: [a-z_][a-z0-9_]*"},
        "duration": {"type": "string", "pattern": _DURATION, "description": "An integer and a unit: 30s 15m 12h 7d 2w"},
        "expression": expression,
        "type": {
            "type": "string",
            "pattern": r"^\s*(string|number|bool|timestamp|duration|list\s*<.+>|enum\s*\(.*\))\s*\??\s*$",
            "description": "A type: string number bool timestamp duration list<T> enum(a, b); `?` = nullable",
        },
        "schema": _obj(
            {
                "schema": {**_ref("name"), "description": "The schema's name, used by a journey's `uses`."},
                "profile": _names_to(_ref("type"), "Profile fields and their types."),
                "events": _names_to(
                    {"anyOf": [{"type": "null"}, _names_to(_ref("type"), "The event's fields.")]},
                    "Event types and their fields (every event also has id, type and at).",
                ),
                "channels": _names_to(
                    {
                        "anyOf": [
                            {"type": "null"},
                            _obj(
                                {
                                    "cost": {"type": "number", "description": "Cost of one send."},
                                    "requires": {
                                        "type": "string",
                                        "pattern": r"^profile\.[a-z_][a-z0-9_]*$",
                                        "description": "The consent a send needs, e.g. profile.consent_email.",
                                    },
                                }
                            ),
                        ]
                    },
                    "Delivery channels.",
                ),
                "integrations": {
                    "type": "array",
                    "items": _ref("name"),
                    "description": "The integrations journeys may `call`; once any is listed, every call is checked.",
                },
                "policy": _obj(
                    {
                        "caps": {
                            "type": "array",
                            "items": cap,
                            "description": "Caps per channel over every journey that uses the schema.",
                        },
                        "priority": {
                            "oneOf": [
                                _obj({"journeys": names}, required=("journeys",)),
                                _obj(
                                    {"experiences": {"type": "array", "items": {"enum": list(EXPERIENCES)}}},
                                    required=("experiences",),
                                ),
                            ],
                            "description": "Who wins a contested send, first listed first: journeys or experiences.",
                        },
                        "quiet": {**quiet, "description": "No sends of any journey in these hours."},
                        "settle": {
                            **_ref("duration"),
                            "description": "How long a capped send waits for the sends it competes with (1m).",
                        },
                        "conflict": {
                            "enum": list(CONFLICT_MODES),
                            "description": "What a send that loses becomes: dropped (suppress) or sent later (delay).",
                        },
                    },
                    description="The contact policy every journey that uses the schema shares.",
                ),
            },
            required=("schema",),
            description="A schema: profile fields, event types, channels, integrations and its contact policy.",
        ),
        "journey": _obj(
            {
                "journey": {**_ref("name"), "description": "The journey's id."},
                "title": {"type": "string"},
                "version": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_SAFE_INTEGER,
                    "description": "Required: an integer >= 1.",
                },
                "owner": {"type": "string", "description": "The accountable journey product manager."},
                "team": {"type": "string"},
                "description": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "experience": {"enum": list(EXPERIENCES), "description": "The kind of connected experience."},
                "uses": {**_ref("name"), "description": "The schema this journey is checked against."},
                "entry": _obj(
                    {**on_where, "key": {**_ref("expression"), "description": "Instance key, e.g. event.cart_id."}},
                    required=("on",),
                    description="The event that starts an instance.",
                ),
                "audience": {**_ref("expression"), "description": "Profile filter checked at entry."},
                "reentry": {
                    "type": "string",
                    "pattern": rf"^\s*(never|always|after\s+{DURATION_PATTERN})\s*$",
                    "description": "never | always | after DURATION (default never).",
                },
                "exit": {"type": "array", "items": _obj(on_where, required=("on",)), "description": "Exit rules."},
                "goals": {
                    "type": "array",
                    "items": _obj(
                        {
                            "name": _ref("name"),
                            **on_where,
                            "within": _ref("duration"),
                            "value": {**_ref("expression"), "description": "A number: the conversion's value."},
                            "expect": {
                                "type": "string",
                                "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$",
                                "description": "The share of entries expected to reach the goal, e.g. 12%.",
                            },
                        },
                        required=("name", "on"),
                    ),
                },
                "caps": {"type": "array", "items": cap, "description": "Frequency caps per channel."},
                "quiet": quiet,
                "stages": _names_to(
                    {"anyOf": [{"type": "null"}, _names_to(_ref("step"), "The stage's steps, in order.")]},
                    "Stages in order (recognize, request, respond, repeat); the first step is the entry step.",
                ),
                "migrate": {
                    "type": "array",
                    "items": _obj(
                        {
                            "from": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_SAFE_INTEGER,
                                "description": "The older version whose instances move into this one.",
                            },
                            "moves": _names_to(_ref("name"), "Old step -> the step of this version it moves to."),
                            "keep": {
                                "type": "array",
                                "items": _ref("name"),
                                "description": "Old steps whose instances stay on the old version.",
                            },
                        },
                        required=("from",),
                    ),
                    "description": "How instances of older versions move into this one, one entry per old version.",
                },
            },
            required=("journey",),
            description="A journey.",
        ),
        "step": {
            **_obj(
                {
                    "do": {"type": "array", "items": _ref("action"), "description": "Actions, in order."},
                    "next": {**_ref("name"), "description": "Go on to this step (with `wait: DURATION`: after it)."},
                    "wait": {
                        "anyOf": [_ref("duration"), {"type": "array", "items": _ref("wait_arm")}],
                        "description": "A duration (with `next`) or a list of arms; the first to come wins.",
                    },
                    "choose": {"type": "array", "items": _ref("branch"), "description": "First true branch wins."},
                    "experiment": _ref("experiment"),
                    "end": {"anyOf": [_ref("name"), {"type": "null"}], "description": "End, with an outcome."},
                },
                description="Zero or more actions (`do`), then exactly one flow.",
            ),
            "oneOf": [
                _only("next"),
                _only("wait", {"wait": _ref("duration")}, also=("next",)),
                _only("wait", {"wait": {"type": "array"}}),
                _only("choose"),
                _only("experiment"),
                _only("end"),
            ],
        },
        "action": {
            "oneOf": [
                _obj(
                    {
                        "send": _obj(
                            {"channel": _ref("name"), "template": _ref("name"), "with": with_args},
                            required=("channel", "template"),
                            description="Render a template and deliver it on a channel.",
                        )
                    },
                    required=("send",),
                ),
                _obj(
                    {
                        "set": _obj(
                            {
                                "field": {"type": "string", "pattern": r"^profile\.[a-z_][a-z0-9_]*$"},
                                "value": _ref("expression"),
                            },
                            required=("field", "value"),
                            description="Update a profile field.",
                        )
                    },
                    required=("set",),
                ),
                _obj(
                    {
                        "emit": _obj(
                            {"event": _ref("name"), "with": with_args},
                            required=("event",),
                            description="Raise an event for this customer.",
                        )
                    },
                    required=("emit",),
                ),
                _obj(
                    {
                        "call": _obj(
                            {"name": _ref("name"), "with": with_args},
                            required=("name",),
                            description="Call an external integration.",
                        )
                    },
                    required=("call",),
                ),
            ]
        },
        "wait_arm": {
            "oneOf": [
                _obj({**on_where, "next": _ref("name")}, required=("on", "next")),
                _obj({"after": _ref("duration"), "next": _ref("name")}, required=("after", "next")),
                _obj({"at": _ref("expression"), "next": _ref("name")}, required=("at", "next")),
            ]
        },
        "branch": {
            "oneOf": [
                _obj({"when": _ref("expression"), "next": _ref("name")}, required=("when", "next")),
                _obj({"otherwise": _ref("name")}, required=("otherwise",)),
            ]
        },
        "experiment": _obj(
            {
                "name": _ref("name"),
                "variants": {
                    "type": "array",
                    "items": {
                        **_obj(
                            {
                                "name": _ref("name"),
                                "control": {"type": "boolean", "description": "The holdout arm."},
                                "weight": {
                                    "anyOf": [
                                        {"type": "integer", "minimum": 0, "maximum": 100},
                                        {"type": "string", "pattern": r"^\s*[0-9]+\s*%$"},
                                    ],
                                    "description": "Percent of customers; weights sum to 100.",
                                },
                                "next": _ref("name"),
                            },
                            required=("weight", "next"),
                        ),
                        "anyOf": [{"required": ["name"]}, {"required": ["control"]}],
                    },
                },
            },
            required=("name", "variants"),
            description="A deterministic split of customers.",
        ),
    }


def journey_json_schema() -> dict[str, Any]:
    """The JSON Schema of one YAML document (a journey or a schema)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "journeydsl YAML form",
        "description": "One journey or one schema per YAML document (SPEC section 4).",
        "oneOf": [_ref("journey"), _ref("schema")],
        "$defs": _defs(),
    }
