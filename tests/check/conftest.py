"""Shared helpers for the checker tests: parse DSL text into a project in a temp folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from journeydsl.check import check_project
from journeydsl.diagnostics import Diagnostic
from journeydsl.project import Project, load_project

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = (FIXTURES / "schema.journey").read_text(encoding="utf-8")

HEAD = """journey j {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed value event.amount
"""


def journey(body: str, head: str = HEAD) -> str:
    """A journey over the fixture schema with the given stages (and a complete header)."""
    return head + body + "}\n"


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


def codes_of(diags: list[Diagnostic]) -> list[str]:
    return [d.code.code for d in diags]
