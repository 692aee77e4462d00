"""The diagnostics of a project for the visual commands: parse diagnostics plus the checker's findings."""

from __future__ import annotations

from journeydsl.check import check_project
from journeydsl.diagnostics import Diagnostic, Severity
from journeydsl.diagnostics.render import render_text
from journeydsl.project import Project


def project_diagnostics(project: Project) -> list[Diagnostic]:
    found = [*project.diagnostics, *check_project(project)]
    unique: dict[tuple[object, ...], Diagnostic] = {}
    for diagnostic in found:
        # The checker may repeat parse diagnostics; show each finding once.
        unique.setdefault((diagnostic.code.code, diagnostic.message, diagnostic.span), diagnostic)
    return sorted(unique.values(), key=lambda d: d.sort_key)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def format_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str]) -> str:
    """Text for the terminal: file:line:col, the source line and a caret, then a summary."""
    return render_text(diagnostics, sources)
