"""The plan.json format (docs/bundle-format.md) as a JSON Schema, and the complete check of a plan at load.

The runtime's door for plans: `runtime/bundle.py` calls `validate_plan` on every plan.json and `validate_index`
on index.json before the engine sees them. `PLAN_SCHEMA` and `INDEX_SCHEMA` (Draft 2020-12) are generated from
the typed format in `plan_format.py` (`schema_of`: objects from the TypedDicts, value types from their hints,
ranges from `plan_format.RULES`, expressions from `plan_format.EXPR_TAGS`), so the types the compiler writes and
the runtime reads and the schema that checks them are one definition; tests/compile/plan-1.schema.json holds the
generated schema, so a change to the format shows as a change to that file. `validate_plan` adds what a schema
cannot say: every step target names a step of this plan, step ids run 0..n-1, a wait's `order` lists exactly
its arms, each migration comes from an older version (once) and moves or keeps an old step but not both,
expressions nest at most MAX_EXPR_DEPTH deep and call known functions with a number of arguments they take,
schema types nest at most MAX_TYPE_DEPTH deep. A plan that passes loads into `Plan` and runs: a
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
import types
from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

from journeydsl.runtime.expr import _FUNCTIONS, PlanError
from journeydsl.runtime.plan_format import (
    EXPR_TAGS,
    FORMAT,
    REF_ROOTS,
    RULES,
    Def,
    IndexJson,
    Items,
    Name,
    PlanJson,
    Rule,
    Scalar,
    Seconds,
)

# The limits live with the format; they are named here too, where the front end (syntax/limits.py) reads them.
from journeydsl.runtime.plan_format import MAX_DURATION_S as MAX_DURATION_S
from journeydsl.runtime.plan_format import MAX_EXPR_DEPTH as MAX_EXPR_DEPTH
from journeydsl.runtime.plan_format import MAX_JSON_DEPTH as MAX_JSON_DEPTH
from journeydsl.runtime.plan_format import MAX_SAFE_INTEGER as MAX_SAFE_INTEGER
from journeydsl.runtime.plan_format import MAX_TYPE_DEPTH as MAX_TYPE_DEPTH

UNARY_TAGS: Final = tuple(tag for tag, spec in EXPR_TAGS.items() if spec.kind == "unary")
BINARY_TAGS: Final = tuple(tag for tag, spec in EXPR_TAGS.items() if spec.kind == "binary")


# --------------------------------------------------------------------------- the schema, generated from the types

_JSON_TYPES: Final[dict[type, str]] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _tagged(head: dict[str, Any], *operands: dict[str, Any]) -> dict[str, Any]:
    """A JSON array of exactly these items."""
    return {
        "type": "array",
        "prefixItems": [head, *operands],
        "minItems": 1 + len(operands),
        "maxItems": 1 + len(operands),
    }


def _one_of(values: list[Any]) -> dict[str, Any]:
    return {"const": values[0]} if len(values) == 1 else {"enum": values}


class _Generator:
    """Type hints -> JSON Schema. Collects the `Def` definitions it meets in `defs`.

    TypedDict -> an object of exactly its keys (those not `NotRequired` required); `list[T]` -> an array of T;
    `dict[str, T]` -> an object of any keys with T values; `Literal` -> const or enum; a union of plain JSON types
    -> `type` with a list, any other union -> `anyOf` (null first); `Annotated` adds the keywords of its
    `Rule`s, makes a fixed array of its `Items`, or names a definition (`Def`) to refer to.
    """

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}

    def schema(self, hint: object) -> dict[str, Any]:
        origin, args = get_origin(hint), get_args(hint)
        if origin is Annotated:
            inner, *meta = args
            named = [m.name for m in meta if isinstance(m, Def)]
            if named:
                if named[0] not in self.defs:
                    self.defs[named[0]] = {}  # a placeholder first: a definition may refer to itself (a list's item)
                    rest = [m for m in meta if not isinstance(m, Def)]
                    self.defs[named[0]] = self._expr() if named[0] == "expr" else self._annotated(inner, rest)
                return {"$ref": f"#/$defs/{named[0]}"}
            return self._annotated(inner, meta)
        if origin is Literal:
            return _one_of(list(args))
        if hint in _JSON_TYPES:
            return {"type": _JSON_TYPES[hint]}
        if origin is list:
            return {"type": "array", "items": self.schema(args[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.schema(args[1])}
        if origin is Union or origin is types.UnionType:
            return self._union(list(args))
        if isinstance(hint, type) and hasattr(hint, "__total__"):  # a TypedDict
            return self._object(hint)
        raise TypeError(f"the plan format has no JSON Schema for {hint!r}")

    def _annotated(self, inner: object, meta: list[object]) -> dict[str, Any]:
        items = [m for m in meta if isinstance(m, Items)]
        schema = _tagged(*(self.schema(t) for t in items[0].types)) if items else self.schema(inner)
        for rule in meta:
            if isinstance(rule, Rule):
                schema.update(RULES[rule.name])
        return schema

    def _union(self, members: list[Any]) -> dict[str, Any]:
        if all(member in _JSON_TYPES for member in members):
            return {"type": [_JSON_TYPES[member] for member in members]}
        null = [{"type": "null"}] if type(None) in members else []
        return {"anyOf": null + [self.schema(member) for member in members if member is not type(None)]}

    def _object(self, typed: type) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        # `__required_keys__` cannot be trusted under `from __future__ import annotations` (Python 3.11 sees
        # strings there), so NotRequired is read from the evaluated hints.
        for key, hint in get_type_hints(typed, include_extras=True).items():
            if get_origin(hint) is NotRequired:
                hint = get_args(hint)[0]
            else:
                required.append(key)
                if get_origin(hint) is Required:
                    hint = get_args(hint)[0]
            properties[key] = self.schema(hint)
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}

    def _expr(self) -> dict[str, Any]:
        """An expression: a tagged union written with if/then on the tag, not anyOf: a validator then checks each
        node against the one shape its tag names, where anyOf would try every shape on every level (exponential in
        depth)."""
        expr = {"$ref": "#/$defs/expr"}
        by_kind: dict[str, list[str]] = {}
        for tag, spec in EXPR_TAGS.items():
            by_kind.setdefault(spec.kind, []).append(tag)
        shapes: list[dict[str, Any]] = []
        for kind, tags in by_kind.items():
            head = _one_of(tags)
            if kind == "lit":
                then = _tagged(head, self.schema(Scalar))
            elif kind == "dur":
                then = _tagged(head, self.schema(Seconds))
            elif kind == "ref":
                then = {"anyOf": self._names(head)}
            elif kind == "list":
                then = {"prefixItems": [head], "items": expr}
            elif kind == "unary":
                then = _tagged(head, expr)
            elif kind == "binary":
                then = _tagged(head, expr, expr)
            elif kind == "call":
                then = {"prefixItems": [head, {"enum": sorted(_FUNCTIONS)}], "items": expr, "minItems": 2}
            else:  # pragma: no cover - a kind added to plan_format.ExprKind and not here
                raise TypeError(f"no schema for expression kind {kind!r}")
            shapes.append({"if": {"prefixItems": [{"enum": tags}]}, "then": then})
        return {"type": "array", "minItems": 1, "prefixItems": [{"enum": list(EXPR_TAGS)}], "allOf": shapes}

    def _names(self, head: dict[str, Any]) -> list[dict[str, Any]]:
        """The shapes of `["ref", …]`, from plan_format.REF_ROOTS: roots taking any field name share one shape."""
        any_field = [root for root, attributes in REF_ROOTS.items() if attributes is None]
        shapes: list[dict[str, Any]] = []
        for root, attributes in REF_ROOTS.items():
            if attributes == ():
                shapes.append(_tagged(head, {"const": root}))
            elif attributes is None:
                if root == any_field[0]:
                    shapes.append(_tagged(head, _one_of(any_field), self.schema(Name)))
            else:
                shapes.append(_tagged(head, {"const": root}, _one_of(list(attributes))))
        return shapes


def schema_of(root: type, name: str, title: str) -> dict[str, Any]:
    """The Draft 2020-12 schema of one document of the format (`PlanJson`, `IndexJson`), with its definitions."""
    generator = _Generator()
    body = generator.schema(root)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://journeydsl.invalid/schemas/{name}-{FORMAT}.json",
        "title": title,
        **body,
        "$defs": generator.defs,
    }


PLAN_SCHEMA: Final[dict[str, Any]] = schema_of(
    PlanJson, "plan", f"journeydsl plan.json, format {FORMAT} (docs/bundle-format.md)"
)
INDEX_SCHEMA: Final[dict[str, Any]] = schema_of(
    IndexJson, "index", f"journeydsl index.json, format {FORMAT} (docs/bundle-format.md)"
)

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


def validate_plan(raw: Any) -> PlanJson:
    """`raw` (a decoded plan.json) as the plan the runtime can load and run; PlanFormatError if it is not one."""
    _check_depth(raw)
    steps = raw.get("steps") if isinstance(raw, dict) else None
    validator = _Validator(PLAN_SCHEMA, len(steps) if isinstance(steps, list) else 0)
    validator.check(raw, PLAN_SCHEMA, "$")
    for index, step in enumerate(raw["steps"]):
        if step["id"] != index:
            raise PlanFormatError(
                f"$.steps[{index}].id", f"step ids run 0..n-1 in order: expected {index}, got {step['id']}"
            )
        flow = step["flow"]
        if flow["kind"] == "wait" and "order" in flow:
            _check_order(flow["on"], flow["order"], f"$.steps[{index}].flow.order")
    _check_migrations(raw.get("migrations", []), raw["version"])
    plan: PlanJson = raw
    return plan


def _check_migrations(migrations: list[dict[str, Any]], version: int) -> None:
    """Each migration comes from an older version, once, and moves or keeps an old step, not both.

    The targets are step ids, checked against the plan's steps by the schema's `step_id`; whether the sources
    are steps of the old version only a bundle holding both can tell (compile/keep.py checks it at build).
    """
    seen: set[int] = set()
    for index, migration in enumerate(migrations):
        path = f"$.migrations[{index}]"
        source = migration["from"]
        if source >= version:
            raise PlanFormatError(f"{path}.from", f"migrates from version {source}, not below this plan's {version}")
        if source in seen:
            raise PlanFormatError(f"{path}.from", f"a second migration from version {source}")
        seen.add(source)
        both = sorted(set(migration["moves"]) & set(migration["keep"]))
        if both:
            raise PlanFormatError(f"{path}.keep", f"{_shown(both[0])} is both moved and kept")
        if len(set(migration["keep"])) != len(migration["keep"]):
            raise PlanFormatError(f"{path}.keep", "names a step twice")


def _check_order(on: dict[str, list[Any]], order: list[str], path: str) -> None:
    """A wait's `order` names each event type of `on` once per arm, and nothing else."""
    arms, named = Counter({event: len(table) for event, table in on.items()}), Counter(order)
    for event in sorted(arms.keys() | named.keys()):
        if arms[event] != named[event]:
            raise PlanFormatError(
                path,
                f"names {_shown(event)} {named[event]} time{'s' if named[event] != 1 else ''}, but `on` holds "
                f"{arms[event]} arm{'s' if arms[event] != 1 else ''} of it",
            )


def validate_index(raw: Any) -> IndexJson:
    """`raw` (a decoded index.json) as an index of the format; PlanFormatError if it does not have its shape."""
    _check_depth(raw)
    _Validator(INDEX_SCHEMA, 0).check(raw, INDEX_SCHEMA, "$")
    index: IndexJson = raw
    return index


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


# The JSON type of a decoded value: the scalar types of `_JSON_TYPES`, bool before int (a bool is an int).
_VALUE_TYPES: Final[dict[type, str]] = {bool: "boolean", **_JSON_TYPES, list: "array", dict: "object"}


def _json_type(value: Any) -> str:
    kind = _VALUE_TYPES.get(type(value))
    if kind is None:
        kind = next((name for cls, name in _VALUE_TYPES.items() if isinstance(value, cls)), type(value).__name__)
    return kind


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
