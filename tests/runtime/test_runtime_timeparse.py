"""RFC 3339 text <-> epoch seconds: the runtime's own formatter agrees with the datetime module."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from journeydsl.runtime.timeparse import format_time, parse_rfc3339

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
