"""Serialized expressions (docs/bundle-format.md, tags of plan_format.EXPR_TAGS) -> Python closures, built at load.

Never `eval`: each array node becomes a small closure over its children. Evaluation is null-safe
(a missing or null operand makes comparisons false and arithmetic null); the few errors that
remain (division by zero, adding a string to a number) raise `ExprError`, which the engine turns
into an `error` action record.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any, Final

from journeydsl.runtime.plan_format import EXPR_TAGS
from journeydsl.runtime.state import ENTERED, VARIANT


class ExprError(Exception):
    """An expression failed at run time; the engine records it and goes on."""


class Scope:
    """What an expression can see: the profile, the current event, the instance, and `now`."""

    __slots__ = ("profile", "event", "instance", "now")

    def __init__(
        self, profile: dict[str, Any], event: dict[str, Any] | None, instance: list[Any] | None, now: float
    ) -> None:
        self.profile = profile
        self.event = event
        self.instance = instance
        self.now = now


Fn = Callable[[Scope], Any]


class PlanError(ValueError):
    """A serialized expression that the runtime does not understand (a malformed bundle)."""


def compile_expr(node: Any) -> Fn:
    """Turn one serialized expression into a closure; raises PlanError on a malformed node."""
    if not isinstance(node, list) or not node or not isinstance(node[0], str):
        raise PlanError(f"malformed expression: {node!r}")
    tag = node[0]
    builder = _BUILDERS.get(tag)
    if builder is None:
        raise PlanError(f"unknown expression tag {tag!r}")
    return builder(node)


def compile_optional(node: Any) -> Fn | None:
    return None if node is None else compile_expr(node)


def truthy(value: Any) -> bool:
    """Conditions: only a real `true` counts; null and anything else is false."""
    return value is True


# --------------------------------------------------------------------------- leaves


def _lit(node: list[Any]) -> Fn:
    value = node[1] if len(node) > 1 else None
    return lambda scope: value


def _ref(node: list[Any]) -> Fn:
    path = node[1:]
    if path == ["now"]:
        return lambda scope: scope.now
    if len(path) != 2:
        raise PlanError(f"malformed name: {node!r}")
    root, name = path
    if root == "profile":
        return lambda scope: scope.profile.get(name)
    if root == "event":

        def event_field(scope: Scope) -> Any:
            event = scope.event
            return None if event is None else event.get(name)

        return event_field
    if root == "journey":
        if name == "entered_at":
            return lambda scope: None if scope.instance is None else scope.instance[ENTERED]
        if name == "variant":
            return lambda scope: None if scope.instance is None else scope.instance[VARIANT]
    raise PlanError(f"unknown name {'.'.join(map(str, path))!r}")


def _list(node: list[Any]) -> Fn:
    items = [compile_expr(item) for item in node[1:]]
    return lambda scope: [item(scope) for item in items]


# --------------------------------------------------------------------------- operators


def _not(node: list[Any]) -> Fn:
    operand = compile_expr(node[1])

    def negate(scope: Scope) -> Any:
        value = operand(scope)
        return None if value is None else not truthy(value)

    return negate


def _neg(node: list[Any]) -> Fn:
    operand = compile_expr(node[1])

    def minus(scope: Scope) -> Any:
        value = operand(scope)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExprError(f"cannot negate {type(value).__name__}")
        return bounded(-value, "-")

    return minus


def _and(node: list[Any]) -> Fn:
    left, right = compile_expr(node[1]), compile_expr(node[2])
    return lambda scope: truthy(left(scope)) and truthy(right(scope))


def _or(node: list[Any]) -> Fn:
    left, right = compile_expr(node[1]), compile_expr(node[2])
    return lambda scope: truthy(left(scope)) or truthy(right(scope))


def _is_null_literal(node: Any) -> bool:
    return isinstance(node, list) and len(node) >= 1 and node[0] == "lit" and (len(node) == 1 or node[1] is None)


def _equality(node: list[Any]) -> Fn:
    left, right = compile_expr(node[1]), compile_expr(node[2])
    negated = node[0] == "!="
    if _is_null_literal(node[1]) or _is_null_literal(node[2]):
        # `x == null` is an explicit null test, the one comparison where null is a value.
        if negated:
            return lambda scope: left(scope) != right(scope)
        return lambda scope: left(scope) == right(scope)

    def compare(scope: Scope) -> bool:
        a = left(scope)
        if a is None:
            return False
        b = right(scope)
        if b is None:
            return False
        return bool(a != b) if negated else bool(a == b)

    return compare


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _ordering(node: list[Any]) -> Fn:
    left, right = compile_expr(node[1]), compile_expr(node[2])
    op = _ORDER[node[0]]

    def compare(scope: Scope) -> bool:
        a = left(scope)
        if a is None:
            return False
        b = right(scope)
        if b is None:
            return False
        try:
            return bool(op(a, b))
        except TypeError:
            return False

    return compare


def _membership(node: list[Any]) -> Fn:
    left, right = compile_expr(node[1]), compile_expr(node[2])
    negated = node[0] == "not in"

    def member(scope: Scope) -> bool:
        a = left(scope)
        b = right(scope)
        if a is None or b is None:
            return False
        try:
            found = a in b
        except TypeError:
            return False
        return (not found) if negated else found

    return member


def _number(value: Any, op: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExprError(f"`{op}` needs numbers, got {type(value).__name__}")
    return value


# The integers a record can carry (JSON encoders write 64 bits; orjson, as JSON, takes -2**63 .. 2**64 - 1).
INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**64 - 1


def bounded(value: Any, op: str) -> Any:
    """A computed number, refused when no record could hold it (an integer beyond 64 bits, an infinite float)."""
    if type(value) is int:
        if INT_MIN <= value <= INT_MAX:
            return value
    elif type(value) is not float or math.isfinite(value):
        return value
    raise ExprError(f"the result of `{op}` is out of range: {value!r:.40}")


def _arith(node: list[Any]) -> Fn:
    left, right = compile_expr(node[1]), compile_expr(node[2])
    op = node[0]

    def compute(scope: Scope) -> Any:
        a = left(scope)
        if a is None:
            return None
        b = right(scope)
        if b is None:
            return None
        if op == "+" and isinstance(a, str) and isinstance(b, str):
            return a + b
        if op == "+" and isinstance(a, list) and isinstance(b, list):
            return a + b
        a, b = _number(a, op), _number(b, op)
        if op == "+":
            return bounded(a + b, op)
        if op == "-":
            return bounded(a - b, op)
        if op == "*":
            return bounded(a * b, op)
        if b == 0:
            raise ExprError(f"division by zero in `{op}`")
        try:
            return bounded(a / b if op == "/" else a % b, op)
        except OverflowError as err:  # int / int beyond a float's range
            raise ExprError(f"the result of `{op}` is out of range") from err

    return compute


# --------------------------------------------------------------------------- functions


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ExprError(f"{name}() needs a string, got {type(value).__name__}")
    return value


def _f_lower(args: list[Any], scope: Scope) -> Any:
    return None if args[0] is None else _text(args[0], "lower").lower()


def _f_upper(args: list[Any], scope: Scope) -> Any:
    return None if args[0] is None else _text(args[0], "upper").upper()


def _f_len(args: list[Any], scope: Scope) -> Any:
    value = args[0]
    if value is None:
        return None
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise ExprError(f"len() needs a string or list, got {type(value).__name__}")


def _f_contains(args: list[Any], scope: Scope) -> Any:
    haystack, needle = args[0], args[1]
    if haystack is None or needle is None:
        return False
    try:
        return needle in haystack
    except TypeError:
        return False


def _f_starts_with(args: list[Any], scope: Scope) -> Any:
    text, prefix = args[0], args[1]
    if not isinstance(text, str) or not isinstance(prefix, str):
        return False
    return text.startswith(prefix)


def _f_coalesce(args: list[Any], scope: Scope) -> Any:
    for value in args:
        if value is not None:
            return value
    return None


def _numbers(args: list[Any], name: str) -> list[Any]:
    values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    present = [v for v in values if v is not None]
    for value in present:
        _number(value, name)
    return present


def _f_min(args: list[Any], scope: Scope) -> Any:
    values = _numbers(args, "min")
    return min(values) if values else None


def _f_max(args: list[Any], scope: Scope) -> Any:
    values = _numbers(args, "max")
    return max(values) if values else None


def _f_abs(args: list[Any], scope: Scope) -> Any:
    return None if args[0] is None else bounded(abs(_number(args[0], "abs")), "abs")


def _f_round(args: list[Any], scope: Scope) -> Any:
    if args[0] is None:
        return None
    digits = args[1] if len(args) > 1 else 0
    if digits is None:
        return None
    number, places = _number(args[0], "round"), _number(digits, "round")
    if not -400 <= places <= 400:
        raise ExprError(f"round() takes 0 to 400 digits, got {places!r}")
    try:
        value = round(number, int(places))
        return bounded(int(value) if len(args) == 1 else value, "round")
    except (OverflowError, ValueError) as err:  # round() of an infinite or NaN value
        raise ExprError(f"round() of {number!r} is out of range") from err


def _f_days_since(args: list[Any], scope: Scope) -> Any:
    return None if args[0] is None else (scope.now - _number(args[0], "days_since")) / 86400.0


def _f_hours_since(args: list[Any], scope: Scope) -> Any:
    return None if args[0] is None else (scope.now - _number(args[0], "hours_since")) / 3600.0


_FUNCTIONS: dict[str, tuple[int, int, Callable[[list[Any], Scope], Any]]] = {
    # name: (min args, max args, implementation)
    "lower": (1, 1, _f_lower),
    "upper": (1, 1, _f_upper),
    "len": (1, 1, _f_len),
    "contains": (2, 2, _f_contains),
    "starts_with": (2, 2, _f_starts_with),
    "coalesce": (1, 64, _f_coalesce),
    "min": (1, 64, _f_min),
    "max": (1, 64, _f_max),
    "abs": (1, 1, _f_abs),
    "round": (1, 2, _f_round),
    "days_since": (1, 1, _f_days_since),
    "hours_since": (1, 1, _f_hours_since),
}


def _call(node: list[Any]) -> Fn:
    if len(node) < 2 or not isinstance(node[1], str):
        raise PlanError(f"malformed call: {node!r}")
    spec = _FUNCTIONS.get(node[1])
    if spec is None:
        raise PlanError(f"unknown function {node[1]!r}")
    low, high, impl = spec
    args = [compile_expr(arg) for arg in node[2:]]
    if not low <= len(args) <= high:
        raise PlanError(f"{node[1]}() takes {low}-{high} arguments, got {len(args)}")

    # Fixed arities build the argument list as a display (no comprehension frame per call); every
    # argument is still evaluated, in order, before the function runs.
    if len(args) == 1:
        (first,) = args
        return lambda scope: impl([first(scope)], scope)
    if len(args) == 2:
        first, second = args
        return lambda scope: impl([first(scope), second(scope)], scope)

    def call(scope: Scope) -> Any:
        return impl([arg(scope) for arg in args], scope)

    return call


_BUILDERS: dict[str, Callable[[list[Any]], Fn]] = {
    "lit": _lit,
    "dur": _lit,
    "ref": _ref,
    "list": _list,
    "not": _not,
    "neg": _neg,
    "and": _and,
    "or": _or,
    "==": _equality,
    "!=": _equality,
    "<": _ordering,
    "<=": _ordering,
    ">": _ordering,
    ">=": _ordering,
    "in": _membership,
    "not in": _membership,
    "+": _arith,
    "-": _arith,
    "*": _arith,
    "/": _arith,
    "%": _arith,
    "call": _call,
}

# The tags are the format's, from its one table (plan_format.EXPR_TAGS): a tag there without a builder here, or the
# reverse, stops the runtime when it is imported, not at the first plan that uses the tag.
if _BUILDERS.keys() != EXPR_TAGS.keys():  # pragma: no cover - a tag added to one side only
    raise ImportError(
        f"runtime/expr.py and plan_format.EXPR_TAGS disagree: {sorted(_BUILDERS.keys() ^ EXPR_TAGS.keys())}"
    )
