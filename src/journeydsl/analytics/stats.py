"""The two-proportion z-test the report uses to compare each experiment variant with control.

Pooled standard error, two-sided p-value from the normal distribution via
`math.erfc` (no SciPy): p = erfc(|z| / sqrt(2)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ALPHA = 0.05


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
