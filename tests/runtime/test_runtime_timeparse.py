"""RFC 3339 text <-> epoch seconds: the runtime's own formatter agrees with the datetime module."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as dtime

from hypothesis import given
from hypothesis import strategies as st

from journeydsl.runtime.timeparse import format_time, parse_rfc3339, quiet_end

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
