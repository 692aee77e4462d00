"""Builds the docs site of the frozen fixture journeys once, for the docs and browser tests."""

from __future__ import annotations

from pathlib import Path

from journeydsl.check import check_project
from journeydsl.docs import build_site
from journeydsl.project import load_project

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "render" / "fixtures"
TEMPLATES = REPO / "templates"


def make_site(out: Path) -> Path:
    project = load_project([FIXTURES], templates_dir=TEMPLATES)
    diagnostics = check_project(project)
    build_site(project.journey_files(), out, TEMPLATES, diagnostics, [str(FIXTURES)])
    return out
