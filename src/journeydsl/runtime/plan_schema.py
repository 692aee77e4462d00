"""The plan.json format (docs/bundle-format.md) as a JSON Schema, and the complete check of a plan at load.

`PLAN_SCHEMA` is a Draft 2020-12 JSON Schema of one plan; `validate_plan` checks a decoded plan against it
and adds what a schema cannot say: every step target names a step of this plan, step ids run 0..n-1,
expressions nest at most MAX_EXPR_DEPTH deep and call known functions with a number of arguments they
take, schema types nest at most MAX_TYPE_DEPTH deep. A plan that passes loads into `Plan` and runs: a
hand-made or corrupted one is refused when the bundle is loaded, with the JSON path of the problem, never
part-way through a stream of events.

The schema is interpreted here (the keywords it uses: type, const, enum, minimum, maximum, minLength,
properties, required, additionalProperties, prefixItems, items, minItems, maxItems, anyOf, allOf, if,
then, $ref: KEYWORDS) rather than by the `jsonschema` package, so the runtime keeps its few dependencies
(bundle.py says which); the tests check with `jsonschema` that the schema is a valid Draft 2020-12 schema
and that every plan the compiler writes passes both. One stricter point: an integer is a JSON number
written without a fraction (`3`, not `3.0`), since the runtime indexes steps with it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

from journeydsl.runtime.expr import _FUNCTIONS, PlanError

# Numbers a journey may hold: JSON readers in other languages keep integers exact up to 2**53 - 1, and the
# runtime's stores (orjson, SQLite INTEGER) take 64 bits at most. The front end refuses larger ones (JD012).
MAX_SAFE_INTEGER: Final = 2**53 - 1
# Durations: 100,000 days (about 273 years), far beyond any journey's wait and far inside the calendar the
# runtime formats times in (up to the year 9999).
MAX_DURATION_S: Final = 100_000 * 86_400
# Nesting of one expression (a leaf is 1, `a + b` is 2) and of one schema type (`list<list<string>>` is 3):
# the front end refuses deeper ones (JD011), and the runtime turns expressions into closures recursively.
MAX_EXPR_DEPTH: Final = 64
MAX_TYPE_DEPTH: Final = 64
# Any JSON value in a plan: the format itself is 8 levels above an expression.
MAX_JSON_DEPTH: Final = MAX_EXPR_DEPTH + 16

UNARY_TAGS: Final = ("not", "neg")
BINARY_TAGS: Final = ("or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/", "%")
LEAF_TAGS: Final = ("lit", "dur", "ref")
EXPR_TAGS: Final = (*LEAF_TAGS, "list", *UNARY_TAGS, *BINARY_TAGS, "call")
TYPE_NAMES: Final = ("string", "number", "bool", "timestamp", "duration", "list", "enum")


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def _nullable(name: str) -> dict[str, Any]:
    return {"anyOf": [{"type": "null"}, _ref(name)]}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object with exactly these keys (all required unless `required` says otherwise)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def _map_of(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": value}


def _tagged(tag: dict[str, Any], *operands: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "array",
        "prefixItems": [tag, *operands],
        "minItems": 1 + len(operands),
        "maxItems": 1 + len(operands),
    }


def _when(tags: list[str], then: dict[str, Any]) -> dict[str, Any]:
    return {"if": {"prefixItems": [{"enum": tags}]}, "then": then}


def _kind(kind: str, properties: dict[str, Any]) -> dict[str, Any]:
    return _object({"kind": {"const": kind}, **properties})


_NAME = {"type": "string", "minLength": 1}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_INTEGER = {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER}
_NUMBER = {"type": "number", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER}
_ARGS = _map_of(_ref("expr"))

_DEFS: dict[str, Any] = {
    "step_id": {"type": "integer", "minimum": 0, "maximum": MAX_SAFE_INTEGER},
    "duration": {"type": "number", "minimum": 0, "maximum": MAX_DURATION_S},
    "scalar": {
        "type": ["null", "boolean", "string", "number"],
        "minimum": -MAX_SAFE_INTEGER,
        "maximum": MAX_SAFE_INTEGER,
    },
    # A tagged union written with if/then on the tag, not anyOf: a validator then checks each node against
    # the one shape its tag names, where anyOf would try every shape on every level (exponential in depth).
    "expr": {
        "type": "array",
        "minItems": 1,
        "prefixItems": [{"enum": list(EXPR_TAGS)}],
        "allOf": [
            _when(["lit"], _tagged({"const": "lit"}, _ref("scalar"))),
            _when(["dur"], _tagged({"const": "dur"}, _ref("duration"))),
            _when(
                ["ref"],
                {
                    "anyOf": [
                        _tagged({"const": "ref"}, {"const": "now"}),
                        _tagged({"const": "ref"}, {"enum": ["profile", "event"]}, _NAME),
                        _tagged({"const": "ref"}, {"const": "journey"}, {"enum": ["entered_at", "variant"]}),
                    ]
                },
            ),
            _when(["list"], {"prefixItems": [{"const": "list"}], "items": _ref("expr")}),
            _when(list(UNARY_TAGS), _tagged({"enum": list(UNARY_TAGS)}, _ref("expr"))),
            _when(list(BINARY_TAGS), _tagged({"enum": list(BINARY_TAGS)}, _ref("expr"), _ref("expr"))),
            _when(
                ["call"],
                {
                    "prefixItems": [{"const": "call"}, {"enum": sorted(_FUNCTIONS)}],
                    "items": _ref("expr"),
                    "minItems": 2,
                },
            ),
        ],
    },
    "type": {
        "type": "object",
        "properties": {
            "type": {"enum": list(TYPE_NAMES)},
            "nullable": {"type": "boolean"},
            "members": {"type": "array", "items": {"type": "string"}},
            "item": _ref("type"),
        },
        "required": ["type", "nullable"],
        "additionalProperties": False,
    },
    "fields": _map_of(_ref("type")),
    "schema": _object(
        {
            "name": _TEXT_OR_NULL,
            "profile": _ref("fields"),
            "events": _map_of(_ref("fields")),
            "channels": _map_of(_object({"cost": _NUMBER, "requires": _TEXT_OR_NULL})),
        }
    ),
    "action": {
        "anyOf": [
            _kind("send", {"channel": _NAME, "template": _NAME, "args": _ARGS}),
            _kind("set", {"field": _NAME, "value": _ref("expr")}),
            _kind("emit", {"event": _NAME, "args": _ARGS}),
            _kind("call", {"name": _NAME, "args": _ARGS}),
        ]
    },
    "flow": {
        "anyOf": [
            _kind("goto", {"to": _ref("step_id")}),
            _kind("sleep", {"after_s": _ref("duration"), "to": _ref("step_id")}),
            _kind(
                "wait",
                {
                    "on": _map_of(
                        {
                            "type": "array",
                            "minItems": 1,
                            "items": _tagged(_nullable("expr"), _ref("step_id")),
                        }
                    ),
                    "timeout": {
                        "anyOf": [
                            {"type": "null"},
                            _object({"after_s": _ref("duration"), "to": _ref("step_id")}),
                            _object({"at": _ref("expr"), "to": _ref("step_id")}),
                        ]
                    },
                },
            ),
            _kind(
                "choose",
                {
                    "branches": {"type": "array", "items": _tagged(_ref("expr"), _ref("step_id"))},
                    "otherwise": _nullable("step_id"),
                },
            ),
            _kind(
                "experiment",
                {
                    "name": _NAME,
                    "variants": {
                        "type": "array",
                        "minItems": 1,
                        "items": _object(
                            {
                                "name": _NAME,
                                "weight": {"type": "integer", "minimum": 0, "maximum": 100},
                                "to": _ref("step_id"),
                                "control": {"type": "boolean"},
                            }
                        ),
                    },
                },
            ),
            _kind("end", {"outcome": _TEXT_OR_NULL}),
        ]
    },
    "step": _object(
        {
            "id": _ref("step_id"),
            "name": _NAME,
            "stage": _TEXT_OR_NULL,
            "line": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_SAFE_INTEGER},
            "actions": {"type": "array", "items": _ref("action")},
            "flow": _ref("flow"),
        }
    ),
}

PLAN_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://journeydsl.invalid/schemas/plan-1.json",
    "title": "journeydsl plan.json, format 1 (docs/bundle-format.md)",
    **_object(
        {
            "format": {"const": 1},
            "journey": _NAME,
            "version": {"type": "integer", "minimum": 1, "maximum": MAX_SAFE_INTEGER},
            "source": _TEXT_OR_NULL,
            "title": _TEXT_OR_NULL,
            "owner": _TEXT_OR_NULL,
            "experience": _TEXT_OR_NULL,
            "schema": _ref("schema"),
            "entry": _object(
                {
                    "event": _NAME,
                    "where": _nullable("expr"),
                    "key": _nullable("expr"),
                    "audience": _nullable("expr"),
                }
            ),
            "reentry": _object({"mode": {"enum": ["never", "always", "after"]}, "after_s": _nullable("duration")}),
            "exits": _map_of({"type": "array", "items": _object({"where": _nullable("expr")})}),
            "goals": {
                "type": "array",
                "items": _object(
                    {
                        "name": _NAME,
                        "event": _NAME,
                        "where": _nullable("expr"),
                        "within_s": _nullable("duration"),
                        "value": _nullable("expr"),
                    }
                ),
            },
            "caps": _map_of(_object({"max": _INTEGER, "per_s": _ref("duration")})),
            "quiet": {
                "anyOf": [
                    {"type": "null"},
                    _object(
                        {
                            "start_min": {"type": "integer", "minimum": 0, "maximum": 1439},
                            "end_min": {"type": "integer", "minimum": 0, "maximum": 1439},
                        }
                    ),
                ]
            },
            "entry_step": _ref("step_id"),
            "steps": {"type": "array", "minItems": 1, "items": _ref("step")},
        }
    ),
    "$defs": _DEFS,
}

# index.json (docs/bundle-format.md): event type -> [[journey, version], ...], and journey -> latest version.
_REFS = {"type": "array", "items": _tagged(_NAME, {"type": "integer", "minimum": 1, "maximum": MAX_SAFE_INTEGER})}
INDEX_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://journeydsl.invalid/schemas/index-1.json",
    "title": "journeydsl index.json, format 1 (docs/bundle-format.md)",
    **_object(
        {
            "entries": _map_of(_REFS),
            "exits": _map_of(_REFS),
            "goals": _map_of(_REFS),
            "latest": _map_of({"type": "integer", "minimum": 1, "maximum": MAX_SAFE_INTEGER}),
        }
    ),
    "$defs": {},
}

# The keywords `_Validator` understands; a test keeps the schemas within them. The rest only annotate.
KEYWORDS: Final = frozenset(
    {
        "type",
        "const",
        "enum",
        "minimum",
        "maximum",
        "minLength",
        "properties",
        "required",
        "additionalProperties",
        "prefixItems",
        "items",
        "minItems",
        "maxItems",
        "anyOf",
        "allOf",
        "if",
        "then",
        "$ref",
    }
)
ANNOTATIONS: Final = frozenset({"$schema", "$id", "$defs", "title", "description", "$comment"})


class PlanFormatError(PlanError):
    """A plan (or index) that does not follow the format; `path` is the JSON path of the problem."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def validate_plan(raw: Any) -> None:
    """Raise PlanFormatError unless `raw` (a decoded plan.json) is a plan the runtime can load and run."""
    _check_depth(raw)
    steps = raw.get("steps") if isinstance(raw, dict) else None
    validator = _Validator(PLAN_SCHEMA, len(steps) if isinstance(steps, list) else 0)
    validator.check(raw, PLAN_SCHEMA, "$")
    for index, step in enumerate(raw["steps"]):
        if step["id"] != index:
            raise PlanFormatError(
                f"$.steps[{index}].id", f"step ids run 0..n-1 in order: expected {index}, got {step['id']}"
            )


def validate_index(raw: Any) -> None:
    """Raise PlanFormatError unless `raw` (a decoded index.json) has the format's shape."""
    _check_depth(raw)
    _Validator(INDEX_SCHEMA, 0).check(raw, INDEX_SCHEMA, "$")


# --------------------------------------------------------------------------- the interpreter


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPE_WORDS = {
    "null": "null",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "a list",
    "object": "an object",
}

# How a message names a value of these definitions.
_DEF_WORDS = {"expr": "an expression", "step_id": "a step id", "duration": "a duration in seconds"}


def _key_path(path: str, key: str) -> str:
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{path}["{escaped if len(escaped) <= 60 else escaped[:60] + "…"}"]'


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _has_type(value: Any, name: str) -> bool:
    kind = _json_type(value)
    if name == "number":
        return kind == "integer" or (kind == "number" and math.isfinite(value))
    return kind == name


def _check_depth(raw: Any) -> None:
    """Bound the nesting of the whole document before the recursive checks walk it."""
    stack: list[tuple[Any, int]] = [(raw, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise PlanFormatError("$", f"nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


class _Invalid(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason


class _Validator:
    """Checks one document against a schema of the keywords in KEYWORDS, plus the plan's own rules."""

    def __init__(self, root: Mapping[str, Any], steps: int) -> None:
        self.defs: Mapping[str, Any] = root.get("$defs", {})
        self.steps = steps
        self.expr_depth = 0
        self.expr_root = "$"
        self.type_depth = 0

    def check(self, value: Any, schema: Mapping[str, Any], path: str) -> None:
        try:
            self._check(value, schema, path)
        except _Invalid as err:
            raise PlanFormatError(err.path, err.reason) from None

    # ------------------------------------------------------------------ keywords

    def _check(self, value: Any, schema: Mapping[str, Any], path: str) -> None:
        ref = schema.get("$ref")
        if ref is not None:
            self._ref(value, ref.rsplit("/", 1)[-1], path)
            return
        if "anyOf" in schema:
            self._any_of(value, schema["anyOf"], path)
        kinds = schema.get("type")
        if kinds is not None:
            allowed = [kinds] if isinstance(kinds, str) else kinds
            if not any(_has_type(value, kind) for kind in allowed):
                if _json_type(value) == "number" and "number" in allowed:
                    raise _Invalid(path, f"{_shown(value)} is not a finite number")
                words = " or ".join(_TYPE_WORDS[kind] for kind in allowed)
                if _json_type(value) == "number" and "integer" in allowed:
                    raise _Invalid(path, f"expected {words} (written without a fraction), got {_shown(value)}")
                raise _Invalid(path, f"expected {words}, got {_TYPE_WORDS.get(_json_type(value), 'a value')}")
        if "const" in schema and not _same(value, schema["const"]):
            raise _Invalid(path, f"expected {_shown(schema['const'])}, got {_shown(value)}")
        if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
            options = ", ".join(str(option) for option in schema["enum"])
            raise _Invalid(path, f"{_shown(value)} is not one of: {options}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                raise _Invalid(path, f"{_shown(value)} is below the minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                raise _Invalid(path, f"{_shown(value)} is above the maximum {schema['maximum']}")
        if isinstance(value, str) and len(value) < schema.get("minLength", 0):
            raise _Invalid(path, "expected a non-empty string")
        if isinstance(value, dict):
            self._object(value, schema, path)
        elif isinstance(value, list):
            self._array(value, schema, path)
        for part in schema.get("allOf", ()):
            self._check(value, part, path)
        if "if" in schema and "then" in schema and self._valid(value, schema["if"], path):
            self._check(value, schema["then"], path)

    def _valid(self, value: Any, schema: Mapping[str, Any], path: str) -> bool:
        try:
            self._check(value, schema, path)
        except _Invalid:
            return False
        return True

    def _object(self, value: dict[str, Any], schema: Mapping[str, Any], path: str) -> None:
        properties: Mapping[str, Any] = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                raise _Invalid(path, f"missing key {key!r}")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            where = _key_path(path, str(key))
            if key in properties:
                self._check(item, properties[key], where)
            elif extra is False:
                raise _Invalid(where, f"unexpected key {_shown(key)}")
            elif isinstance(extra, Mapping):
                self._check(item, extra, where)

    def _array(self, value: list[Any], schema: Mapping[str, Any], path: str) -> None:
        low, high = schema.get("minItems"), schema.get("maxItems")
        if low is not None and len(value) < low or high is not None and len(value) > high:
            if low == high:
                raise _Invalid(path, f"expected a list of {low} items, got {len(value)}")
            if high is None:
                raise _Invalid(
                    path, f"expected a list of at least {low} item{'s' if low != 1 else ''}, got {len(value)}"
                )
            raise _Invalid(path, f"expected a list of {low} to {high} items, got {len(value)}")
        prefix: list[Any] = schema.get("prefixItems", [])
        for index, item in enumerate(value[: len(prefix)]):
            self._check(item, prefix[index], f"{path}[{index}]")
        rest = schema.get("items")
        if rest is not None:
            for index in range(len(prefix), len(value)):
                self._check(value[index], rest, f"{path}[{index}]")

    def _any_of(self, value: Any, branches: list[Mapping[str, Any]], path: str) -> None:
        """The branches whose type and tag (`kind` of an object, first item of a list) fit decide the message."""
        typed = [b for b in branches if self._type_fits(value, b)]
        if not typed:
            words = list(dict.fromkeys(word for b in branches for word in self._words_of(b)))
            raise _Invalid(path, f"expected {' or '.join(words)}, got {_TYPE_WORDS.get(_json_type(value), 'a value')}")
        tagged = [b for b in typed if self._tag_fits(value, b)]
        if not tagged:
            tags = sorted({str(t) for b in typed for t in self._tags_of(b)})
            if isinstance(value, dict):
                raise _Invalid(
                    _key_path(path, "kind"),
                    f"unknown kind {_shown(value.get('kind'))}; expected one of: {', '.join(tags)}",
                )
            head = value[0] if value else None
            raise _Invalid(f"{path}[0]", f"unknown expression tag {_shown(head)}; expected one of: {', '.join(tags)}")
        best: _Invalid | None = None
        for branch in tagged:
            try:
                self._check(value, branch, path)
                return
            except _Invalid as err:
                if best is None or len(err.path) > len(best.path):
                    best = err
        assert best is not None
        raise best

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self.defs[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _types_of(self, schema: Mapping[str, Any]) -> list[str]:
        schema = self._resolve(schema)
        if "anyOf" in schema:
            return [kind for branch in schema["anyOf"] for kind in self._types_of(branch)]
        kinds = schema.get("type", list(_TYPE_WORDS))
        return [kinds] if isinstance(kinds, str) else list(kinds)

    def _words_of(self, schema: Mapping[str, Any]) -> list[str]:
        ref = schema.get("$ref")
        if ref is not None and ref.rsplit("/", 1)[-1] in _DEF_WORDS:
            return [_DEF_WORDS[ref.rsplit("/", 1)[-1]]]
        return [_TYPE_WORDS[kind] for kind in self._types_of(schema)]

    def _type_fits(self, value: Any, schema: Mapping[str, Any]) -> bool:
        kinds = self._types_of(schema)
        return any(_has_type(value, kind) for kind in kinds) or (_json_type(value) == "number" and "number" in kinds)

    def _tags_of(self, schema: Mapping[str, Any]) -> list[Any]:
        """The values the tag of this branch may take; [] when it has no tag."""
        schema = self._resolve(schema)
        if "anyOf" in schema:
            return [tag for branch in schema["anyOf"] for tag in self._tags_of(branch)]
        if schema.get("type") == "object":
            head = schema.get("properties", {}).get("kind")
        elif schema.get("type") == "array" and schema.get("prefixItems"):
            head = schema["prefixItems"][0]
        else:
            return []
        if head is None:
            return []
        head = self._resolve(head)
        if "const" in head:
            return [head["const"]]
        return list(head.get("enum", []))

    def _tag_fits(self, value: Any, schema: Mapping[str, Any]) -> bool:
        tags = self._tags_of(schema)
        if not tags or not isinstance(self._resolve(schema).get("type"), str):
            return True
        if isinstance(value, dict):
            tag = value.get("kind")
        elif isinstance(value, list):
            tag = value[0] if value else None
        else:
            return True
        return any(_same(tag, option) for option in tags)

    # ------------------------------------------------------------------ the plan's own rules

    def _ref(self, value: Any, name: str, path: str) -> None:
        schema = self.defs[name]
        if name == "step_id":
            if type(value) is int and not 0 <= value < self.steps:
                raise _Invalid(path, f"step {value} does not exist (the plan has {self.steps} steps)")
        elif name == "expr":
            self.expr_depth += 1
            if self.expr_depth == 1:
                self.expr_root = path
            try:
                if self.expr_depth > MAX_EXPR_DEPTH:
                    raise _Invalid(self.expr_root, f"the expression is nested more than {MAX_EXPR_DEPTH} levels deep")
                self._check(value, schema, path)
                _check_arity(value, path)
            finally:
                self.expr_depth -= 1
            return
        elif name == "type":
            self.type_depth += 1
            try:
                if self.type_depth > MAX_TYPE_DEPTH:
                    raise _Invalid(path, f"the type is nested more than {MAX_TYPE_DEPTH} levels deep")
                self._check(value, schema, path)
                _check_type(value, path)
            finally:
                self.type_depth -= 1
            return
        self._check(value, schema, path)


def _same(value: Any, expected: Any) -> bool:
    """JSON equality: `true` is not `1`."""
    return (
        type(value) is type(expected)
        and value == expected
        or (
            _json_type(value) in ("integer", "number")
            and _json_type(expected) in ("integer", "number")
            and value == expected
        )
    )


def _check_arity(node: list[Any], path: str) -> None:
    if node[0] != "call":
        return
    low, high, _ = _FUNCTIONS[node[1]]
    count = len(node) - 2
    if not low <= count <= high:
        takes = str(low) if low == high else f"{low} to {high}"
        raise _Invalid(path, f"{node[1]}() takes {takes} argument{'s' if high != 1 else ''}, got {count}")


def _check_type(spec: dict[str, Any], path: str) -> None:
    kind = spec["type"]
    if "members" in spec and kind != "enum":
        raise _Invalid(_key_path(path, "members"), f"only an enum type has members, not {kind}")
    if "item" in spec and kind != "list":
        raise _Invalid(_key_path(path, "item"), f"only a list type has an item type, not {kind}")
    if kind == "enum" and "members" not in spec:
        raise _Invalid(path, "an enum type needs its members")
