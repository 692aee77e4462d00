"""Fixtures of the YAML tests."""

from __future__ import annotations

import pytest

from journeydsl.syntax import safe_yaml


@pytest.fixture(params=["libyaml", "python"])
def composer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test runs on both composers: libyaml's (the fast path) and PyYAML's pure-Python one."""
    if request.param == "python":
        monkeypatch.setattr(safe_yaml, "_CSafeLoader", None)
    elif safe_yaml._CSafeLoader is None:
        pytest.skip("PyYAML was built without libyaml")
    return str(request.param)
