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


def parse_rfc3339(text: str) -> float:
    """`2026-01-01T10:00:00Z` (or with an offset) -> epoch seconds; raises TimeError otherwise."""
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


@lru_cache(maxsize=65536)
def format_time(epoch: float) -> str:
    """Epoch seconds -> `2026-01-01T10:00:00Z` (fractions kept to the millisecond when present)."""
    whole = int(epoch // 1)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
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
