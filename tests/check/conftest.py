"""Fixtures for the checker tests: parse DSL text into a project in a temp folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from check_helpers import FIXTURES, SCHEMA

from journeydsl.check import check_project
from journeydsl.diagnostics import Diagnostic
from journeydsl.project import Project, load_project


@pytest.fixture
def project_of(tmp_path: Path) -> Callable[[str], Project]:
    """Write DSL text next to the fixture schema and load it with the fixture templates."""

    def load(text: str) -> Project:
        (tmp_path / "schema.journey").write_text(SCHEMA, encoding="utf-8")
        path = tmp_path / "j.journey"
        path.write_text(text, encoding="utf-8")
        return load_project([path], templates_dir=FIXTURES / "templates")

    return load


@pytest.fixture
def check_text(project_of: Callable[[str], Project]) -> Callable[[str], list[Diagnostic]]:
    def run(text: str) -> list[Diagnostic]:
        return check_project(project_of(text))

    return run
