"""Which project an open document belongs to, loaded with the editor's unsaved text over the files on disk.

A document belongs to the project of the nearest project file above it (`journeydsl.toml`, or a pyproject.toml
with `[tool.journeydsl]`, read by `project_file`, as every command reads it) when it lies under that project's
source paths; otherwise to the journey files of its
own folder, which is where `uses NAME` finds a schema. Templates come from the project's templates folder, or
the nearest `templates/` folder above the document. The checker then runs on that project exactly as
`journeydsl check` would, except that an open buffer's text wins over the file on disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from journeydsl.check import check_project
from journeydsl.diagnostics import Diagnostic, Sink, codes
from journeydsl.ir import SourceFile, Span
from journeydsl.project import Project, is_journey_file, parse_source
from journeydsl.project_file import load_config
from journeydsl.syntax.limits import MAX_FILE_BYTES, file_too_large
from journeydsl.testing.scenario import ScenarioFile, find_scenario_files, parse_scenarios

DEFAULT_TEMPLATES = "templates"


@dataclass(frozen=True)
class ProjectSpec:
    """Where a project's journeys and templates are: absolute paths, so spans name files unambiguously."""

    root: Path
    sources: tuple[Path, ...]  # folders or files
    templates_dir: Path
    config_file: Path | None = None  # journeydsl.toml or pyproject.toml, when the project has one


@dataclass
class Analysis:
    """A loaded and checked project: the IR of every file, their texts, and every diagnostic."""

    spec: ProjectSpec
    project: Project
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # The scenario files of the project's folders, with their texts: their `expect.path` names steps.
    scenarios: list[tuple[ScenarioFile, str]] = field(default_factory=list)

    def file(self, path: str) -> SourceFile | None:
        for source in [*self.project.files, *self.project.neighbours]:
            if source.path == path:
                return source
        return None


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _nearest_templates(folder: Path) -> Path:
    for candidate in [folder, *folder.parents]:
        if (candidate / DEFAULT_TEMPLATES).is_dir():
            return candidate / DEFAULT_TEMPLATES
    return folder / DEFAULT_TEMPLATES


def find_project(document: Path) -> ProjectSpec:
    """The project `document` (an absolute path) belongs to; never raises (a bad project file is a diagnostic)."""
    folder = document.parent
    config = load_config(folder)
    if config.file is None:
        return ProjectSpec(folder, (folder,), _nearest_templates(folder))
    sources = tuple(config.path(source).resolve() for source in config.sources)
    templates = config.path(config.templates).resolve()
    if any(_under(document, source) for source in sources):
        return ProjectSpec(config.root, sources, templates, config.file)
    # A document outside the project's sources is checked with its own folder, templates still the project's.
    return ProjectSpec(folder, (folder,), templates, config.file)


def _config_diagnostics(spec: ProjectSpec) -> list[Diagnostic]:
    """The findings about the project file itself (TOML syntax, unknown keys), placed on that file."""
    if spec.config_file is None:
        return []
    config = load_config(spec.config_file.parent)
    return [
        replace(diag, span=replace(diag.span, file=str(spec.config_file))) if diag.span is not None else diag
        for diag in config.diagnostics
    ]


def _journey_files(spec: ProjectSpec) -> list[Path]:
    found: list[Path] = []
    for source in spec.sources:
        if source.is_dir():
            found.extend(sorted(p for p in source.rglob("*") if p.is_file() and is_journey_file(p)))
        elif source.is_file():
            found.append(source)
    return list(dict.fromkeys(found))


def _read(path: Path, sink: Sink) -> str | None:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            message, span, hint = file_too_large(str(path), size)
            sink.report(codes.INPUT_TOO_LARGE, message, span, hint=hint)
            return None
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        sink.report(codes.FILE_ERROR, f"{path} is not UTF-8 text ({err.reason})", Span(str(path), 1, 1, 1, 1))
    except OSError as err:
        sink.report(codes.FILE_ERROR, f"cannot read {path}: {err.strerror}", Span(str(path), 1, 1, 1, 1))
    return None


def load(spec: ProjectSpec, buffers: Mapping[str, str]) -> Project:
    """The project's journey files parsed, each from its open buffer (path -> text) when it has one.

    Open documents of the project that are not on disk yet (a new, unsaved file) are part of it too.
    """
    sink = Sink()
    project = Project(templates_dir=spec.templates_dir)
    paths = [str(path) for path in _journey_files(spec)]
    paths += [path for path in buffers if path not in paths and _belongs(Path(path), spec)]
    for path in paths:
        text = buffers.get(path)
        if text is None:
            text = _read(Path(path), sink)
            if text is None:
                continue
        elif len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
            message, span, hint = file_too_large(path, len(text.encode("utf-8", "surrogatepass")))
            sink.report(codes.INPUT_TOO_LARGE, message, span, hint=hint)
            continue
        source, diagnostics = parse_source(text, path)
        project.sources[path] = text
        project.files.append(source)
        sink.extend(diagnostics)
    project.diagnostics = sink.diagnostics
    return project


def _belongs(path: Path, spec: ProjectSpec) -> bool:
    return is_journey_file(path) and any(
        _under(path, source) if source.is_dir() or not source.suffix else path == source for source in spec.sources
    )


def load_scenarios(spec: ProjectSpec, buffers: Mapping[str, str]) -> list[tuple[ScenarioFile, str]]:
    """The scenario files under the project's sources, each from its open buffer when it has one.

    Their problems are not reported here: `check` reports them, on the files it reads.
    """
    found: list[tuple[ScenarioFile, str]] = []
    for path in find_scenario_files(spec.sources):
        text = buffers.get(str(path))
        if text is None:
            text = _read(path, Sink())
        if text is not None and len(text) <= MAX_FILE_BYTES:
            found.append((parse_scenarios(text, str(path))[0], text))
    return found


def analyse(document: Path, buffers: Mapping[str, str]) -> Analysis:
    """Load and check the project of `document`; every finding of the project, never an exception."""
    spec = find_project(document)
    project = load(spec, buffers)
    analysis = Analysis(spec, project, _config_diagnostics(spec) + check_project(project))
    analysis.scenarios = load_scenarios(spec, buffers)
    return analysis
