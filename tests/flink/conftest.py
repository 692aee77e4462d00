"""Fixtures of the Flink tests (issue 16): marker, the requirement check, shared builders.

The Flink tests run by plain `make test` (which installs Java and the flink extra: `make flink`). Without them the
tests marked `flink` fail with what to install, as the PostgreSQL tests do; `-m "not flink"` leaves them out.
Each job start costs seconds, so the tests put as much as they can into few jobs, all in this process's one JVM.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from journeydsl.flink import FlinkUnavailable, require_flink

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "runtime"))  # runtime_support: DSL text -> bundle, as the runtime tests


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "flink: runs a job on an in-process Flink mini-cluster (needs `make flink`)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The first job imports Apache Beam's worker modules (PyFlink's), which warn about their own dependencies'
    # deprecated APIs; the suite turns warnings into errors, and these are not ours to fix.
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here) and item.get_closest_marker("flink") is not None:
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning"))


@pytest.fixture(scope="session")
def flink() -> None:
    """Fail (not skip) when PyFlink or Java is missing: `make test` installs both."""
    try:
        require_flink()
    except FlinkUnavailable as missing:
        pytest.fail(f"{missing} (`make flink` installs both)")
