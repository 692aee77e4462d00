"""Time helpers of the runtime: RFC 3339 <-> epoch seconds, quiet-hour arithmetic.

The engine keeps every time as epoch seconds (float) and durations as seconds,
so expressions compare and add plain numbers; only records and templates see
RFC 3339 text again.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as dtime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class TimeError(ValueError):
    """A text that is not an RFC 3339 timestamp with a time zone."""


# "00".."59": two-digit fields of the common form, parsed by one lookup (int() on a slice would also take " 1",
# "+1" or other scripts' digits) and formatted by one index.
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]
_TWO_DIGIT_VALUES = {text: n for n, text in enumerate(_TWO_DIGITS)}
# "YYYY-MM-DD" -> epoch seconds of that midnight UTC, and day number -> "YYYY-MM-DDT"; bounded, as a stream moves
# on through its days.
_DAY_STARTS: dict[str, int] = {}
_DAY_PREFIXES: dict[int, str] = {}
_DAYS_KEPT = 4096


def parse_rfc3339(text: str) -> float:
    """`2026-01-01T10:00:00Z` (or with an offset) -> epoch seconds; raises TimeError otherwise."""
    # Nearly every event carries the form `YYYY-MM-DDTHH:MM:SSZ`. Once its day is known (the general path below
    # has read a time on that day), the seconds are arithmetic: in the compiled build (docs/decisions.md) that is
    # a tenth of the cost of `fromisoformat` and `timestamp`. Anything else, or any doubt, takes the general path.
    if len(text) == 20 and text[19] == "Z" and text[10] == "T" and text[13] == ":" and text[16] == ":":
        day = _DAY_STARTS.get(text[:10])
        if day is not None:
            hour = _TWO_DIGIT_VALUES.get(text[11:13], 99)
            minute = _TWO_DIGIT_VALUES.get(text[14:16], 99)
            second = _TWO_DIGIT_VALUES.get(text[17:19], 99)
            if hour < 24 and minute < 60 and second < 60:
                return float(day + hour * 3600 + minute * 60 + second)
        return _parse_generally(text, learn_day=True)
    return _parse_generally(text, learn_day=False)


def _parse_generally(text: str, learn_day: bool) -> float:
    # fromisoformat accepts more than RFC 3339 (dates alone, no zone): insist on a date, a time and a zone.
    if len(text) < 20 or text[4] != "-" or text[10] not in "Tt ":
        raise TimeError(f"not an RFC 3339 timestamp: {text!r}")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as err:
        raise TimeError(f"not an RFC 3339 timestamp: {text!r}") from err
    if parsed.tzinfo is None:
        raise TimeError(f"RFC 3339 timestamp without a time zone: {text!r}")
    epoch = parsed.timestamp()
    if learn_day:  # a valid `YYYY-MM-DDTHH:MM:SSZ`: whole seconds in UTC
        if len(_DAY_STARTS) >= _DAYS_KEPT:
            _DAY_STARTS.clear()
        _DAY_STARTS[text[:10]] = int(epoch) - (parsed.hour * 3600 + parsed.minute * 60 + parsed.second)
    return epoch


def parse_time(value: str | int | float) -> float:
    """An RFC 3339 text or epoch seconds (`--until`, `advance`)."""
    if isinstance(value, bool):
        raise TimeError(f"not a time: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        return parse_rfc3339(text)


def format_time(epoch: float) -> str:
    """Epoch seconds -> `2026-01-01T10:00:00Z` (fractions kept to the millisecond when present)."""
    whole = int(epoch // 1)
    day, second = divmod(whole, 86400)
    prefix = _DAY_PREFIXES.get(day)
    if prefix is None:  # `strftime` once per day: it costs more than the rest of this function together
        if len(_DAY_PREFIXES) >= _DAYS_KEPT:
            _DAY_PREFIXES.clear()
        prefix = _DAY_PREFIXES[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
    text = prefix + _TWO_DIGITS[second // 3600] + ":" + _TWO_DIGITS[second // 60 % 60] + ":" + _TWO_DIGITS[second % 60]
    fraction = epoch - whole
    if fraction >= 0.0005:
        return f"{text}.{round(fraction * 1000):03d}Z"
    return text + "Z"


@lru_cache(maxsize=512)
def zone(name: object) -> ZoneInfo | timezone:
    """An IANA zone by name, or UTC when the name is missing or unknown."""
    if not isinstance(name, str) or not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return UTC


def quiet_end(now: float, start_min: int, end_min: int, tz: ZoneInfo | timezone) -> float | None:
    """If `now` lies inside the quiet window [start, end) in `tz`, the epoch time the window ends; else None."""
    if tz is UTC and now % 1 == 0:
        # UTC has no offset: for whole seconds (datetime rounds fractions to microseconds) the minute of the
        # day and the window's end are arithmetic, no datetime is built.
        local: datetime | None = None
        minute = int(now // 60 % 1440)
    else:
        local = datetime.fromtimestamp(now, tz)
        minute = local.hour * 60 + local.minute
    if start_min == end_min:
        return None
    if start_min < end_min:
        inside = start_min <= minute < end_min
    else:  # the window wraps midnight, e.g. 21:00-08:00
        inside = minute >= start_min or minute < end_min
    if not inside:
        return None
    if local is None:  # UTC, whole seconds: the window's end is arithmetic too
        day_start = now - now % 86400
        return float(day_start + end_min * 60 + (86400 if minute >= end_min else 0))
    day: date = local.date()
    if minute >= end_min:
        day = day + timedelta(days=1)
    ends = datetime.combine(day, dtime(end_min // 60, end_min % 60), tzinfo=tz)
    return ends.timestamp()
