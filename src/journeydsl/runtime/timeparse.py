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


_DAYS: dict[str, float] = {}  # "YYYY-MM-DD" -> epoch seconds of its midnight UTC (valid dates only)
_DAYS_MAX = 100_000
_DIGITS = frozenset("0123456789")


def parse_rfc3339(text: str) -> float:
    """`2026-01-01T10:00:00Z` (or with an offset) -> epoch seconds; raises TimeError otherwise."""
    # Fast path for the common whole-second UTC shape: the midnight of each date is computed once, the
    # time of day by arithmetic. Anything else (offsets, fractions, odd values) takes the general path.
    if len(text) == 20 and text[19] == "Z" and text[13] == ":" and text[16] == ":" and text[10] in "Tt ":
        clock = text[11:13] + text[14:16] + text[17:19]
        if _DIGITS.issuperset(clock):
            hour, minute, second = int(clock[0:2]), int(clock[2:4]), int(clock[4:6])
            if hour < 24 and minute < 60 and second < 60:
                midnight = _DAYS.get(text[:10])
                if midnight is None:
                    try:
                        midnight = _parse_general(text[:10] + "T00:00:00Z")
                    except TimeError:
                        return _parse_general(text)  # raises, naming the whole text
                    if len(_DAYS) >= _DAYS_MAX:
                        _DAYS.clear()
                    _DAYS[text[:10]] = midnight
                return midnight + (hour * 3600 + minute * 60 + second)
    return _parse_general(text)


def _parse_general(text: str) -> float:
    # fromisoformat accepts more than RFC 3339 (dates alone, no zone): insist on a date, a time and a zone.
    if len(text) < 20 or text[4] != "-" or text[10] not in "Tt ":
        raise TimeError(f"not an RFC 3339 timestamp: {text!r}")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as err:
        raise TimeError(f"not an RFC 3339 timestamp: {text!r}") from err
    if parsed.tzinfo is None:
        raise TimeError(f"RFC 3339 timestamp without a time zone: {text!r}")
    return parsed.timestamp()


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


_DATE_TEXT: dict[int, str] = {}  # day number since the epoch -> "YYYY-MM-DDT"
_CLOCK_TEXT = [f"{n:02d}" for n in range(60)]


@lru_cache(maxsize=65536)
def format_time(epoch: float) -> str:
    """Epoch seconds -> `2026-01-01T10:00:00Z` (fractions kept to the millisecond when present)."""
    whole = int(epoch // 1)
    day, rest = divmod(whole, 86400)
    date_text = _DATE_TEXT.get(day)
    if date_text is None:  # gmtime + strftime once per day; the clock is arithmetic
        date_text = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
        if len(_DATE_TEXT) >= 100_000:
            _DATE_TEXT.clear()
        _DATE_TEXT[day] = date_text
    minutes, second = divmod(rest, 60)
    hour, minute = divmod(minutes, 60)
    clock = _CLOCK_TEXT
    text = f"{date_text}{clock[hour]}:{clock[minute]}:{clock[second]}"
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
    day: date = local.date()
    if minute >= end_min:
        day = day + timedelta(days=1)
    ends = datetime.combine(day, dtime(end_min // 60, end_min % 60), tzinfo=tz)
    return ends.timestamp()
