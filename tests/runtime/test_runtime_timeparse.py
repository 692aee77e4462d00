"""RFC 3339 text <-> epoch seconds: the runtime's own formatter agrees with the datetime module."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as dtime

from hypothesis import example, given
from hypothesis import strategies as st

from journeydsl.runtime.timeparse import TimeError, _parse_generally, format_time, parse_rfc3339, quiet_end

EPOCHS = st.one_of(
    st.integers(-2_000_000_000, 4_000_000_000).map(float),
    st.floats(-2_000_000_000, 4_000_000_000, allow_nan=False, allow_infinity=False),
)


def _reference(epoch: float) -> str:
    whole = int(epoch // 1)
    text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = epoch - whole
    return f"{text}.{round(fraction * 1000):03d}Z" if fraction >= 0.0005 else text + "Z"


@given(EPOCHS)
def test_format_time_matches_datetime(epoch: float) -> None:
    assert format_time(epoch) == _reference(epoch)


@given(st.integers(-2_000_000_000, 4_000_000_000))
def test_whole_seconds_round_trip(epoch: int) -> None:
    assert parse_rfc3339(format_time(float(epoch))) == epoch


def _outcome(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except TimeError as err:
        return str(err)


# Texts in and around the common form `YYYY-MM-DDTHH:MM:SSZ`: any character at any position, drawn from digits,
# the separators and a few look-alikes, and well-placed fields out of range, so that all of them reach the
# arithmetic path once their day is known.
_NEAR_FORM = st.lists(
    st.sampled_from([*"0123456789", "-", ":", "T", "t", "Z", " ", "+", "\u0661"]), min_size=20, max_size=20
).map("".join)
_DAYS = st.sampled_from(["2026-01-01", "2024-02-29", "1969-12-31", "2026-02-30", "2026-13-01"])
_CLOCKS = st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)).map(
    lambda hms: ":".join(f"{n:02d}" for n in hms)
)


@given(st.one_of(_NEAR_FORM, st.builds(lambda day, clock: f"{day}T{clock}Z", _DAYS, _CLOCKS)))
@example("2026-01-01T24:00:00Z")
@example("2026-01-01T23:60:00Z")
@example("2026-01-01T23:59:60Z")
@example("2026-01-01T+1:00:00Z")
@example("2026-01-01T1 :00:00Z")
@example("2026-01-01T\u06610:00:00Z")
@example("2026-02-30T10:00:00Z")
def test_the_arithmetic_path_agrees_with_the_datetime_module(text: str) -> None:
    expected = _outcome(lambda t: _parse_generally(t, learn_day=False), text)
    _outcome(parse_rfc3339, f"{text[:10]}T12:00:00Z")  # teaches the arithmetic path the day, when it is one
    assert _outcome(parse_rfc3339, text) == expected
    assert _outcome(parse_rfc3339, text) == expected


def _quiet_end_by_datetime(now: float, start_min: int, end_min: int) -> float | None:
    local = datetime.fromtimestamp(now, UTC)
    minute = local.hour * 60 + local.minute
    if start_min == end_min:
        return None
    inside = start_min <= minute < end_min if start_min < end_min else minute >= start_min or minute < end_min
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if minute >= end_min else local.date()
    return datetime.combine(day, dtime(end_min // 60, end_min % 60), tzinfo=UTC).timestamp()


@given(st.integers(0, 4_000_000_000), st.integers(0, 1439), st.integers(0, 1439))
def test_quiet_end_in_utc_matches_datetime(now: int, start_min: int, end_min: int) -> None:
    assert quiet_end(float(now), start_min, end_min, UTC) == _quiet_end_by_datetime(float(now), start_min, end_min)
