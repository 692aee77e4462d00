"""Shared fixtures for the diagram tests: a frozen copy of example journeys and a hand-built one."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeydsl.project import Project, load_project

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATES = REPO / "templates"


@pytest.fixture(scope="session")
def fixture_project() -> Project:
    project = load_project([FIXTURES], templates_dir=TEMPLATES)
    assert not project.has_errors, project.diagnostics
    return project
