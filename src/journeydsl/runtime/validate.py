"""Event checks against the schema held in the plans; what does not fit goes to the dead letters.

Built once per engine: event type -> [(field, check, is_timestamp, type text)]. Data fields that are
timestamps are turned into epoch seconds here, so expressions compare numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from journeydsl.runtime.expr import INT_MAX, INT_MIN
from journeydsl.runtime.plan import Plan
from journeydsl.runtime.timeparse import TimeError, in_range, parse_rfc3339

Check = Callable[[Any], bool]
FieldRule = tuple[str, Check, bool, str]


def is_number(value: Any) -> bool:
    """A JSON number (bool is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_number_in_range(value: Any) -> bool:
    """A JSON number that records can carry: an integer of at most 64 bits, a finite float."""
    if type(value) is int:
        return INT_MIN <= value <= INT_MAX
    return type(value) is float and value - value == 0.0  # inf - inf and nan - nan are nan


def _is_timestamp(value: Any) -> bool:
    if is_number(value):
        return in_range(value)  # epoch seconds inside years 1..9999 (1e300 would break every `at` it reached)
    if not isinstance(value, str):
        return False
    try:
        parse_rfc3339(value)
    except TimeError:
        return False
    return True


def type_check(spec: dict[str, Any]) -> Check:
    """A predicate for one schema type (nullability is handled by the caller)."""
    name = spec.get("type")
    if name == "string":
        return lambda value: isinstance(value, str)
    if name in ("number", "duration"):
        return _is_number_in_range
    if name == "bool":
        return lambda value: isinstance(value, bool)
    if name == "timestamp":
        return _is_timestamp
    if name == "enum":
        members = frozenset(spec.get("members") or ())
        return lambda value: isinstance(value, str) and value in members
    if name == "list":
        item = type_check(spec.get("item") or {})
        return lambda value: isinstance(value, list) and all(v is None or item(v) for v in value)
    return lambda value: True


def type_text(spec: dict[str, Any]) -> str:
    name = str(spec.get("type"))
    if name == "enum":
        return "enum(" + ", ".join(spec.get("members") or ()) + ")"
    if name == "list":
        return f"list<{type_text(spec.get('item') or {})}>"
    return name


# Value types that pass a schema type without calling its check: JSON decoders give exactly these, so
# most fields are settled by one `type(value) in ...`; any other value goes through the full check.
_PLAIN: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    # Floats decoded from JSON are finite; integers pass once their range is checked (in the loops below). Timestamps
    # given as numbers get the full check (their range), strings are parsed (and converted).
    "number": frozenset({int, float}),
    "duration": frozenset({int, float}),
    "bool": frozenset({bool}),
}
_NONE: frozenset[type] = frozenset()
# The plain path takes integers the compiled build holds unboxed (63 bits), compared without a call; a larger one
# takes the full check against the 64-bit range (`_is_number_in_range`).
_LOW: Final = -(2**62)
_HIGH: Final = 2**62 - 1


def _rules(fields: dict[str, dict[str, Any]]) -> list[FieldRule]:
    return [(name, type_check(spec), spec.get("type") == "timestamp", type_text(spec)) for name, spec in fields.items()]


def _plain(fields: dict[str, dict[str, Any]]) -> dict[str, frozenset[type]]:
    return {name: _PLAIN.get(str(spec.get("type")), _NONE) for name, spec in fields.items()}


def _members(spec: dict[str, Any]) -> frozenset[str] | None:
    if spec.get("type") != "enum":
        return None
    return frozenset(member for member in spec.get("members") or () if isinstance(member, str))


class Validator:
    def __init__(self, plans: Iterable[Plan]) -> None:
        events: dict[str, dict[str, dict[str, Any]]] = {}
        profile: dict[str, dict[str, Any]] = {}
        # Newer versions come later and win, so a field's latest declaration decides.
        for plan in sorted(plans, key=lambda p: (p.journey, p.version)):
            for event, fields in plan.event_types.items():
                events.setdefault(event, {}).update(fields)
            profile.update(plan.profile_types)
        self.events: dict[str, list[FieldRule]] = {event: _rules(fields) for event, fields in events.items()}
        self.profile: dict[str, FieldRule] = {rule[0]: rule for rule in _rules(profile)}
        self._event_plain = {
            event: [(rule, plain[rule[0]]) for rule in self.events[event]]
            for event, plain in ((event, _plain(fields)) for event, fields in events.items())
        }
        plain = _plain(profile)
        # name -> the JSON value types that pass without a call (one lookup per patched field); the rest of a
        # field's check, for the values that do not: (enum members or None, rule).
        self._profile_plain: dict[str, frozenset[type]] = plain
        self._profile_rest: dict[str, tuple[frozenset[str] | None, FieldRule]] = {
            name: (_members(spec), self.profile[name]) for name, spec in profile.items()
        }

    def data(self, event_type: str, data: dict[str, Any]) -> str | None:
        """Check and convert (timestamps -> epoch) `data` in place; the reason when it does not fit."""
        for rule, plain in self._event_plain[event_type]:
            name = rule[0]
            value = data.get(name)
            if value is None or (type(value) in plain and (type(value) is not int or _LOW <= value <= _HIGH)):
                continue  # missing or null (expressions are null-safe), or a plain JSON value of the type
            reason = _fit(data, value, rule, "data")
            if reason is not None:
                return reason
        return None

    def profile_patch(self, patch: dict[str, Any]) -> str | None:
        """Check and convert `patch` in place, dropping the fields the schema does not declare (no journey can
        read them, and a store would keep whatever came: megabytes, or nesting no encoder writes)."""
        plain = self._profile_plain
        undeclared = None
        for name, value in patch.items():
            types = plain.get(name)
            if types is None:
                undeclared = [name] if undeclared is None else [*undeclared, name]
                continue
            if value is None or (type(value) in types and (type(value) is not int or _LOW <= value <= _HIGH)):
                continue
            reason = self._profile_field(patch, name, value)
            if reason is not None:
                return reason
        if undeclared is not None:
            for name in undeclared:
                del patch[name]
        return None

    def _profile_field(self, patch: dict[str, Any], name: str, value: Any) -> str | None:
        """The check of one field that is not a plain JSON value of its type (enums, timestamps as text, lists)."""
        members, rule = self._profile_rest[name]
        if members is not None and type(value) is str and value in members:
            return None
        return _fit(patch, value, rule, "profile")


def _fit(values: dict[str, Any], value: Any, rule: FieldRule, where: str) -> str | None:
    """The full check of one field's value (not a plain JSON value of its type): a timestamp given as text is
    converted to epoch seconds in `values`; the reason when the value does not fit."""
    name, check, is_timestamp, text = rule
    if is_timestamp and isinstance(value, str):
        try:
            values[name] = parse_rfc3339(value)
            return None
        except TimeError:
            pass
    elif check(value):
        return None
    return f"{where}.{name} must be {text}, got {_json_type(value)} {value!r}"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
