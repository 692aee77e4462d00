"""Time helpers of the runtime: RFC 3339 <-> epoch seconds, quiet-hour arithmetic.

The engine keeps every time as epoch seconds (float) and durations as seconds,
so expressions compare and add plain numbers; only records and templates see
RFC 3339 text again.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as dtime
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class TimeError(ValueError):
    """A text that is not an RFC 3339 timestamp with a time zone, or a time outside years 1..9999."""


# Every time the runtime takes or computes lies in years 1..9999 UTC: the range RFC 3339 text (and `datetime`) can
# show. Outside it a record's `at` could not be written, so such a time is refused where it comes in.
MIN_EPOCH: Final = -62135596800.0  # 0001-01-01T00:00:00Z
MAX_EPOCH: Final = 253402300799.0  # 9999-12-31T23:59:59Z
# RFC 3339's date-time, in ASCII digits: `fromisoformat` alone also takes ISO week dates, ordinal dates, times
# without seconds or zone, and other scripts' digits.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def in_range(epoch: float) -> bool:
    """A finite time in years 1..9999 (a NaN is not)."""
    return MIN_EPOCH <= epoch <= MAX_EPOCH


# "00".."59": two-digit fields of the common form, parsed by one lookup (int() on a slice would also take " 1",
# "+1" or other scripts' digits) and formatted by one index; "HH:MM" -> seconds into the day, for parsing a time
# with one lookup fewer (a third of an event's checks went to parsing its time).
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]
_TWO_DIGIT_VALUES = {text: n for n, text in enumerate(_TWO_DIGITS)}
_CLOCK_MINUTES = {f"{m // 60:02d}:{m % 60:02d}": m * 60 for m in range(1440)}
# Minute of the day -> "HH:MM:", and second -> "SSZ": a record's time is three pieces joined (every record has one).
_HOURS_MINUTES = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)]
_SECONDS_Z = [f"{n:02d}Z" for n in range(60)]
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
            clock = _CLOCK_MINUTES.get(text[11:16])  # "HH:MM" and "SS" by two lookups: no other text passes
            second = _TWO_DIGIT_VALUES.get(text[17:19], 99)
            if clock is not None and second < 60:
                return float(day + clock + second)
        return _parse_generally(text, learn_day=True)
    return _parse_generally(text, learn_day=False)


def _parse_generally(text: str, learn_day: bool) -> float:
    if len(text) > 40 or _RFC3339.fullmatch(text) is None:
        shown = text if len(text) <= 40 else text[:40] + "..."
        if len(text) <= 40 and _RFC3339.fullmatch(text + "Z") is not None:
            raise TimeError(f"RFC 3339 timestamp without a time zone: {shown!r} (add `Z` or an offset such as +01:00)")
        raise TimeError(f"not an RFC 3339 timestamp (YYYY-MM-DDTHH:MM:SSZ or with an offset): {shown!r}")
    try:
        # Python's fromisoformat reads at most microseconds: nanoseconds are cut to them.
        parsed = datetime.fromisoformat(_to_micro(text).upper())
        epoch = parsed.timestamp()
    except (ValueError, OverflowError) as err:
        raise TimeError(f"not a valid date and time: {text!r} ({err})") from err
    if not in_range(epoch):
        raise TimeError(f"time outside the years 1..9999 (UTC): {text!r}")
    if learn_day:  # a valid `YYYY-MM-DDTHH:MM:SSZ`: whole seconds in UTC
        if len(_DAY_STARTS) >= _DAYS_KEPT:
            _DAY_STARTS.clear()
        _DAY_STARTS[text[:10]] = int(epoch) - (parsed.hour * 3600 + parsed.minute * 60 + parsed.second)
    return epoch


def _to_micro(text: str) -> str:
    dot = text.find(".")
    if dot < 0:
        return text
    end = dot + 1
    while end < len(text) and text[end].isdigit():
        end += 1
    return text[: min(end, dot + 7)] + text[end:]


def parse_time(value: str | int | float) -> float:
    """An RFC 3339 text or epoch seconds (`--until`, `advance`), within years 1..9999."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TimeError(f"not a time: {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return parse_rfc3339(text)
    else:
        try:
            number = float(value)
        except OverflowError as err:
            raise TimeError(f"time outside the years 1..9999 (UTC): {value!r}") from err
    if not in_range(number):  # also inf and nan: `--until inf` would become the store's clock
        raise TimeError(f"time outside the years 1..9999 (UTC): {value!r} (epoch seconds)")
    return number


def format_time(epoch: float) -> str:
    """Epoch seconds -> `2026-01-01T10:00:00Z` (fractions kept to the millisecond when present).

    Raises TimeError outside years 1..9999 (the engine refuses such times where they come in)."""
    if not MIN_EPOCH <= epoch <= MAX_EPOCH:
        raise TimeError(f"time outside the years 1..9999 (UTC): {epoch!r} (epoch seconds)")
    whole = int(epoch // 1)
    day, second = divmod(whole, 86400)
    prefix = _DAY_PREFIXES.get(day)
    if prefix is None:  # `strftime` once per day: it costs more than the rest of this function together
        if len(_DAY_PREFIXES) >= _DAYS_KEPT:
            _DAY_PREFIXES.clear()
        prefix = _DAY_PREFIXES[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
    fraction = epoch - whole
    if fraction >= 0.0005:
        text = prefix + _HOURS_MINUTES[second // 60] + _TWO_DIGITS[second % 60]
        return f"{text}.{round(fraction * 1000):03d}Z"
    return prefix + _HOURS_MINUTES[second // 60] + _SECONDS_Z[second % 60]  # nearly every time: whole seconds


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
    try:
        ends = _quiet_end(now, start_min, end_min, tz)
    except (OverflowError, ValueError) as err:  # local dates past the year 9999 (a time near its end)
        raise TimeError(f"quiet hours end after the year 9999: {err}") from err
    if ends is not None and not in_range(ends):
        raise TimeError("quiet hours end after the year 9999")
    return ends


def _quiet_end(now: float, start_min: int, end_min: int, tz: ZoneInfo | timezone) -> float | None:
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
