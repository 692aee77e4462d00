"""Shared fixtures for the diagram tests: a frozen copy of example journeys and a hand-built one."""

from __future__ import annotations

import pytest
from render_fixtures import FIXTURES, TEMPLATES

from journeydsl.project import Project, load_project


@pytest.fixture(scope="session")
def fixture_project() -> Project:
    project = load_project([FIXTURES], templates_dir=TEMPLATES)
    assert not project.has_errors, project.diagnostics
    return project
