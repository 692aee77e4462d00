"""The statistics of the report (no SciPy):

- the two-proportion z-test that compares each experiment variant with control: pooled standard error, two-sided
  p-value from the normal distribution via `math.erfc`: p = erfc(|z| / sqrt(2));
- the Wilson score interval of one proportion (a goal's rate against its expectation): unlike the normal
  approximation it stays inside [0, 1] and keeps its coverage near 0% and 100% and with few entries;
- Newcombe's hybrid score interval of a difference of two proportions (a variant's lift over control), built from
  the two Wilson intervals (Newcombe 1998, "Interval estimation for the difference between independent
  proportions", method 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

ALPHA = 0.05
Z_95 = NormalDist().inv_cdf(1.0 - ALPHA / 2.0)  # 1.959963984540054


@dataclass(frozen=True)
class ZTest:
    z: float | None  # None when the test is undefined (an empty group, or no variance at all)
    p_value: float | None
    significant: bool

    def as_dict(self) -> dict[str, float | bool | None]:
        return {"z": self.z, "p_value": self.p_value, "significant": self.significant}


def two_proportion_z_test(successes_a: int, n_a: int, successes_b: int, n_b: int, alpha: float = ALPHA) -> ZTest:
    """Test whether proportion a (a variant) differs from proportion b (control); z > 0 means a is higher."""
    if n_a <= 0 or n_b <= 0:
        return ZTest(None, None, False)
    pooled = (successes_a + successes_b) / (n_a + n_b)
    variance = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    if variance <= 0.0:  # every customer converted, or none did: the groups cannot differ
        return ZTest(None, None, False)
    z = (successes_a / n_a - successes_b / n_b) / math.sqrt(variance)
    p_value = math.erfc(abs(z) / math.sqrt(2.0))
    return ZTest(z, p_value, p_value < alpha)


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval."""

    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def _counts(successes: int, n: int) -> None:
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"{successes} successes out of {n}: need 0 <= successes <= n")


def wilson_interval(successes: int, n: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of the proportion successes / n (95% by default); None when n is 0."""
    _counts(successes, n)
    if n == 0:
        return None
    p = successes / n
    scale = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / scale
    half = z / scale * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n))
    # At 0 or n successes a bound equals p in exact arithmetic; clamping keeps float noise from excluding p.
    return Interval(max(0.0, min(centre - half, p)), min(1.0, max(centre + half, p)))


def difference_interval(successes_a: int, n_a: int, successes_b: int, n_b: int, z: float = Z_95) -> Interval | None:
    """Newcombe's interval of rate a - rate b (a variant's lift over control); None when a group is empty."""
    a, b = wilson_interval(successes_a, n_a, z), wilson_interval(successes_b, n_b, z)
    if a is None or b is None:
        return None
    p_a, p_b = successes_a / n_a, successes_b / n_b
    difference = p_a - p_b
    return Interval(
        difference - math.sqrt((p_a - a.low) ** 2 + (b.high - p_b) ** 2),
        difference + math.sqrt((a.high - p_a) ** 2 + (p_b - b.low) ** 2),
    )
