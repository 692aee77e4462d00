"""The example journeys in journeys/ are clean of errors and warnings (info notes allowed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeydsl.check import check_project
from journeydsl.diagnostics import Severity
from journeydsl.diagnostics.render import render_text
from journeydsl.project import load_project

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not (REPO / "journeys").is_dir(), reason="no example journeys yet")
def test_example_journeys_are_clean() -> None:
    project = load_project([REPO / "journeys"], templates_dir=REPO / "templates")
    assert project.files, "journeys/ holds no journey files"
    bad = [d for d in check_project(project) if d.severity >= Severity.WARNING]
    assert bad == [], render_text(bad, project.sources)
