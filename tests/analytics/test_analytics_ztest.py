"""The two-proportion z-test against known values."""

from __future__ import annotations

import math

import pytest

from journeydsl.analytics.stats import two_proportion_z_test


def test_textbook_example() -> None:
    # x1 = 140 of n1 = 200 against x2 = 255 of n2 = 340: pooled p = 395/540 = 0.7314815,
    # SE = 0.03949401, z = (0.70 - 0.75) / SE = -1.266015 (a standard worked example);
    # two-sided p = 2 * Phi(-1.266015) = 0.2055 (normal table: Phi(-1.27) = 0.1020).
    result = two_proportion_z_test(140, 200, 255, 340)
    assert result.z == pytest.approx(-1.266015, abs=1e-6)
    assert result.p_value == pytest.approx(0.20551, abs=1e-4)
    assert result.significant is False


def test_the_five_percent_boundary() -> None:
    # The two-sided 5% critical value of the normal distribution is 1.959964.
    assert math.erfc(1.959964 / math.sqrt(2)) == pytest.approx(0.05, abs=1e-6)
    # 60/100 against 40/100: pooled 0.5, SE = sqrt(0.25 * 0.02) = 0.0707107, z = 2.828427, p = 0.004678.
    result = two_proportion_z_test(60, 100, 40, 100)
    assert result.z == pytest.approx(2.828427, abs=1e-6)
    assert result.p_value == pytest.approx(0.004678, abs=1e-6)
    assert result.significant is True


def test_symmetry() -> None:
    a, b = two_proportion_z_test(30, 90, 45, 110), two_proportion_z_test(45, 110, 30, 90)
    assert a.z == pytest.approx(-(b.z or 0.0)) and a.p_value == pytest.approx(b.p_value)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(0, 0, 5, 10), (3, 10, 0, 0), (0, 10, 0, 10), (10, 10, 5, 5)])
def test_undefined_cases_give_no_test(x1: int, n1: int, x2: int, n2: int) -> None:
    result = two_proportion_z_test(x1, n1, x2, n2)
    assert result.z is None and result.p_value is None and result.significant is False
