"""Durations written as text (`7d`, `90m`): the one definition every reader of a duration uses.

It sits on the IR (the units are ir.DURATION_UNITS) and the input limits (at most MAX_DURATION_S), below the
DSL transformer, the YAML form and its JSON Schema, and the scenario reader (testing/scenario.py), which
all read durations with it. A duration is ASCII digits and one unit; the DSL's grammar takes a wider token
(`1.5h`, `3days`) so that it can say what is wrong with it, and splits it with `split_token`.
"""

from __future__ import annotations

import re
from typing import Final

from journeydsl.ir import DURATION_UNITS, Duration, Span
from journeydsl.syntax.limits import MAX_DURATION_S, parse_number

UNITS: Final = "".join(DURATION_UNITS)  # "smhdw"
# One duration as a regular expression, for the JSON Schema of the YAML form as well.
DURATION_PATTERN: Final = f"[0-9]+[{UNITS}]"
_ONE = re.compile(f"([0-9]+)([{UNITS}])")
_SEVERAL = re.compile(f"(?:{DURATION_PATTERN})+")


def split_duration(text: str) -> tuple[str, str] | None:
    """`7d` -> ("7", "d"); None unless the text is a whole number and one unit."""
    match = _ONE.fullmatch(text)
    return (match.group(1), match.group(2)) if match else None


def split_token(text: str) -> tuple[str, str]:
    """A DSL duration token -> its number (digits, maybe a fraction) and the rest, which should be a unit."""
    digits = len(text) - len(text.lstrip("0123456789."))
    return text[:digits], text[digits:]


def bounded_duration(amount: str, unit: str, span: Span | None = None) -> tuple[Duration, bool]:
    """The duration of `amount` (digits) `unit`s, and whether it is at most MAX_DURATION_S.

    A longer one becomes the longest that fits in its unit, so the caller reports it once and goes on.
    """
    value = parse_number(amount)
    if value is None or value * DURATION_UNITS[unit] > MAX_DURATION_S:
        return Duration(MAX_DURATION_S // DURATION_UNITS[unit], unit, span=span), False
    return Duration(int(value), unit, span=span), True


def total_seconds(text: str) -> tuple[int, bool] | None:
    """`8d12h` -> (734400, True): durations written one after another (a scenario's `advance`).

    None when the text is not that; False with MAX_DURATION_S when the total is longer than that.
    """
    if _SEVERAL.fullmatch(text) is None:
        return None
    total = 0
    for amount, unit in _ONE.findall(text):
        duration, fits = bounded_duration(amount, unit)
        total += duration.seconds
        if not fits or total > MAX_DURATION_S:
            return MAX_DURATION_S, False
    return total, True
