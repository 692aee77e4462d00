"""The two sides of a diff: a file on disk, or `PATH@REV` read with `git show REV:./PATH`.

Each side is parsed and checked on its own; `uses` resolves among the working tree's files in the same
folder (the old revision's schema is not fetched: a schema change shows as a check error if it matters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from journeydsl.check import check_project
from journeydsl.diagnostics import Diagnostic, Sink, codes
from journeydsl.ir import SourceFile, Span
from journeydsl.project import YAML_SUFFIXES, Project, is_journey_file, load_project, read_at_revision, split_spec


@dataclass
class Side:
    label: str  # what the user wrote
    path: Path
    revision: str | None
    text: str | None = None
    source: SourceFile | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def _parse(text: str, path: Path, display: str) -> tuple[SourceFile, list[Diagnostic]]:
    from journeydsl.syntax import load_yaml, parse_dsl

    if str(path).endswith(YAML_SUFFIXES) or path.suffix in (".yaml", ".yml"):
        return load_yaml(text, display)  # type: ignore[no-any-return]
    return parse_dsl(text, display)


def read_side(spec: str, templates_dir: str | None = None) -> Side:
    """Read, parse and check one side; problems become diagnostics on the side, never exceptions."""
    path, revision = split_spec(spec)
    side = Side(spec, path, revision)
    sink = Sink()
    if revision is None:
        try:
            side.text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            sink.report(codes.FILE_ERROR, f"cannot read {path}: {err}", Span(str(path), 1, 1, 1, 1))
    else:
        side.text, problem = read_at_revision(path, revision)
        if side.text is None:
            sink.report(codes.FILE_ERROR, f"cannot read {spec}: {problem}", Span(spec, 1, 1, 1, 1))
    if side.text is None:
        side.diagnostics = sink.diagnostics
        return side
    display = str(path) if revision is None else spec
    side.source, parse_diagnostics = _parse(side.text, path, display)
    project = Project(
        files=[side.source],
        sources={display: side.text},
        diagnostics=parse_diagnostics,
        templates_dir=Path(templates_dir) if templates_dir else Path("templates"),
    )
    project.neighbours = _neighbours(path)
    side.sources = project.sources
    side.diagnostics = check_project(project)
    return side


def _neighbours(path: Path) -> list[SourceFile]:
    """The other journey files of the working-tree folder, to resolve `uses`."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return []
    siblings = [
        p for p in sorted(folder.iterdir()) if p.is_file() and is_journey_file(p) and p.resolve() != path.resolve()
    ]
    return load_project(siblings).files if siblings else []
