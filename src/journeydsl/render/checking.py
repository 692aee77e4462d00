"""The diagnostics of a project for the visual commands: parse diagnostics plus the checker's findings.

The checker is written by another area (`journeydsl.check.check_project`); until it is importable the
visual commands fall back to the parse diagnostics alone, so they still refuse unparsable input.
"""

from __future__ import annotations

from journeydsl.diagnostics import Diagnostic, Severity
from journeydsl.project import Project


def project_diagnostics(project: Project) -> list[Diagnostic]:
    found = list(project.diagnostics)
    try:
        from journeydsl.check import check_project  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        check_project = None
    if check_project is not None:
        found.extend(check_project(project))
    unique: dict[tuple[object, ...], Diagnostic] = {}
    for diagnostic in found:
        # The checker may repeat parse diagnostics; show each finding once.
        unique.setdefault((diagnostic.code.code, diagnostic.message, diagnostic.span), diagnostic)
    return sorted(unique.values(), key=lambda d: d.sort_key)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def format_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str]) -> str:
    """Text for the terminal, through the shared renderer when it exists."""
    try:
        from journeydsl.diagnostics.render import render_text  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        render_text = None
    if render_text is not None:
        try:
            return str(render_text(diagnostics, sources, False, None))
        except TypeError:
            pass
    lines = []
    for d in diagnostics:
        where = f"{d.span}: " if d.span is not None else ""
        hint = f" ({d.hint})" if d.hint else ""
        lines.append(f"{where}{d.severity}: {d.message} [{d.code.code} {d.code.name}]{hint}")
    return "\n".join(lines) + ("\n" if lines else "")
