"""A journey project: the files named on the command line, parsed into IR.

`load_project(paths)` reads every `*.journey`, `*.journey.yaml` and
`*.journey.yml` under the paths (folders recursively), parses each with the
parser for its form, and keeps the source text for caret lines. A journey's
`uses NAME` resolves among those files and, failing that, among the journey
files in the journey's own folder (SPEC section 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from journeydsl.diagnostics import Diagnostic, Sink, codes, has_errors
from journeydsl.ir import Journey, Schema, SourceFile, Span

DSL_SUFFIXES = (".journey",)
YAML_SUFFIXES = (".journey.yaml", ".journey.yml")


def is_journey_file(path: Path) -> bool:
    name = path.name
    return name.endswith(DSL_SUFFIXES) or name.endswith(YAML_SUFFIXES)


@dataclass
class Project:
    files: list[SourceFile] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # path -> text
    diagnostics: list[Diagnostic] = field(default_factory=list)  # from reading and parsing
    # Files loaded only to resolve `uses` (siblings of a named file); their journeys are not checked.
    neighbours: list[SourceFile] = field(default_factory=list)
    templates_dir: Path = field(default_factory=lambda: Path("templates"))

    def journeys(self) -> list[Journey]:
        return [journey for file in self.files for journey in file.journeys]

    def journey_files(self) -> list[tuple[SourceFile, Journey]]:
        return [(file, journey) for file in self.files for journey in file.journeys]

    def schemas(self) -> dict[str, Schema]:
        """Schemas by name; the named files win over neighbours, the first file over later ones."""
        found: dict[str, Schema] = {}
        for file in [*self.files, *self.neighbours]:
            for schema in file.schemas:
                found.setdefault(schema.name, schema)
        return found

    def schema_for(self, journey: Journey) -> Schema | None:
        if journey.uses is None:
            return None
        return self.schemas().get(journey.uses)

    @property
    def has_errors(self) -> bool:
        return has_errors(self.diagnostics)


def parse_source(text: str, path: str) -> tuple[SourceFile, list[Diagnostic]]:
    """Parse one file's text with the parser its name calls for."""
    from journeydsl.syntax.dsl import parse_dsl
    from journeydsl.syntax.yaml_loader import load_yaml

    if path.endswith(YAML_SUFFIXES) or path.endswith((".yaml", ".yml")):
        return load_yaml(text, path)
    return parse_dsl(text, path)


def _expand(paths: Iterable[str | Path], sink: Sink) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_journey_file(p)))
        elif path.is_file():
            found.append(path)
        else:
            sink.report(
                codes.FILE_ERROR,
                f"no such file or folder: {raw}",
                Span(str(raw), 1, 1, 1, 1),
                hint="journeydsl reads *.journey, *.journey.yaml and *.journey.yml files and folders of them",
            )
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(str(path), path)
    return list(unique.values())


def _read(path: Path, sink: Sink) -> str | None:
    from journeydsl.syntax.limits import MAX_FILE_BYTES, file_too_large

    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:  # refused before it is read: a huge file costs nothing but this
            message, span, hint = file_too_large(str(path), size)
            sink.report(codes.INPUT_TOO_LARGE, message, span, hint=hint)
            return None
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        sink.report(
            codes.FILE_ERROR,
            f"{path} is not UTF-8 text ({err.reason} at byte {err.start})",
            Span(str(path), 1, 1, 1, 1),
        )
    except OSError as err:
        sink.report(codes.FILE_ERROR, f"cannot read {path}: {err.strerror}", Span(str(path), 1, 1, 1, 1))
    return None


def load_project(paths: Sequence[str | Path], templates_dir: str | Path | None = None) -> Project:
    """Read and parse every journey file under `paths`; never raises on bad input."""
    sink = Sink()
    project = Project(templates_dir=Path(templates_dir) if templates_dir else Path("templates"))
    for path in _expand(paths, sink):
        text = _read(path, sink)
        if text is None:
            continue
        source, diagnostics = parse_source(text, str(path))
        project.sources[str(path)] = text
        project.files.append(source)
        sink.extend(diagnostics)
    _load_neighbours(project)
    project.diagnostics = sink.diagnostics
    return project


def _load_neighbours(project: Project) -> None:
    """Resolve `uses` that the named files do not satisfy from the journey's own folder."""
    known = set(project.schemas())
    loaded = set(project.sources)
    for file in list(project.files):
        missing = {j.uses for j in file.journeys if j.uses and j.uses not in known}
        if not missing:
            continue
        folder = Path(file.path).parent
        for sibling in sorted(p for p in folder.iterdir() if p.is_file() and is_journey_file(p)):
            if str(sibling) in loaded:
                continue
            text = _read(sibling, Sink())  # a neighbour only helps resolve `uses`: its problems are not ours
            if text is None:
                continue
            source, _ = parse_source(text, str(sibling))
            loaded.add(str(sibling))
            project.sources[str(sibling)] = text
            project.neighbours.append(source)
            known |= {schema.name for schema in source.schemas}
