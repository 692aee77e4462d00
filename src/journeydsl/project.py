"""A journey project: the files named on the command line, parsed into IR.

`load_project(paths)` reads every `*.journey`, `*.journey.yaml` and
`*.journey.yml` under the paths (folders recursively), parses each with the
parser for its form, and keeps the source text for caret lines. A journey's
`uses NAME` resolves among those files and, failing that, among the journey
files in the journey's own folder (SPEC section 2).
"""

from __future__ import annotations

import re
import subprocess
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


def _split_revisions(paths: Iterable[str | Path]) -> tuple[list[str | Path], list[tuple[str, Path, str]]]:
    """Paths on disk, and `FILE@REV` specs (a file that exists under the whole name is a file)."""
    files: list[str | Path] = []
    revisions: list[tuple[str, Path, str]] = []
    for raw in paths:
        path, revision = split_spec(str(raw))
        if revision is None:
            files.append(raw)
        else:
            revisions.append((str(raw), path, revision))
    return files, revisions


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
    files, revisions = _split_revisions(paths)
    for path in _expand(files, sink):
        text = _read(path, sink)
        if text is None:
            continue
        source, diagnostics = parse_source(text, str(path))
        project.sources[str(path)] = text
        project.files.append(source)
        sink.extend(diagnostics)
    for spec, path, revision in revisions:  # `x.journey@REV`: that file as git holds it at REV
        text, problem = read_at_revision(path, revision)
        if text is None:
            sink.report(codes.FILE_ERROR, f"cannot read {spec}: {problem}", Span(spec, 1, 1, 1, 1))
            continue
        source, diagnostics = parse_source(text, spec)
        project.sources[spec] = text
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


# --------------------------------------------------------------------------- files at a git revision


def split_spec(spec: str) -> tuple[Path, str | None]:
    """`journeys/x.journey@HEAD~1` -> (path, "HEAD~1"); an existing file name wins over the split."""
    if Path(spec).is_file() or "@" not in spec:
        return Path(spec), None
    path, revision = spec.rsplit("@", 1)
    return Path(path), revision or None


# Longer than any branch, tag or `HEAD~3`-style name people type; a bound on what reaches git at all.
MAX_REVISION_LENGTH = 256


def check_revision(revision: str) -> str | None:
    """Why `revision` is refused before git sees it, or None.

    Git reads an argument starting with `-` as an option (`x.journey@--output=/tmp/p` once reached
    `git show` as `--output`), `:` would change which file `REV:./PATH` names, and whitespace or control
    characters are in no revision. Anything else is left to `git rev-parse --verify` to accept or refuse.
    """
    if not revision:
        return "the revision after `@` is empty"
    if revision.startswith("-"):
        return f"invalid revision {_shown(revision)}: a revision cannot start with `-`"
    if len(revision) > MAX_REVISION_LENGTH:
        return f"invalid revision {_shown(revision)}: longer than {MAX_REVISION_LENGTH} characters"
    if ":" in revision or any(char.isspace() or not char.isprintable() for char in revision):
        return f"invalid revision {_shown(revision)}: a revision has no `:`, spaces or control characters"
    return None


def _shown(revision: str) -> str:
    return repr(revision if len(revision) <= 60 else revision[:60] + "…")


def _git(args: list[str], folder: Path) -> tuple[subprocess.CompletedProcess[bytes] | None, str]:
    try:
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, timeout=60, check=False), ""
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"cannot run git: {err}"


def read_at_revision(path: Path, revision: str) -> tuple[str | None, str]:
    problem = check_revision(revision)
    if problem is not None:
        return None, problem
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return None, f"folder {folder} does not exist in the working tree, so git cannot place {path}"
    # The revision is resolved to a commit id first, after `--end-of-options`: git then never parses user
    # text as an option, and `git show` only ever gets `<commit id>:./<file name>`.
    resolved, problem = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"], folder)
    if resolved is None:
        return None, problem
    commit = resolved.stdout.decode("ascii", "replace").strip()
    if resolved.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40,64}", commit):
        return None, f"unknown revision {_shown(revision)}: git rev-parse --verify does not name a commit by it"
    done, problem = _git(["show", "--end-of-options", f"{commit}:./{path.name}"], folder)
    if done is None:
        return None, problem
    if done.returncode != 0:
        return None, done.stderr.decode("utf-8", "replace").strip() or f"git exit status {done.returncode}"
    try:
        return done.stdout.decode("utf-8"), ""
    except UnicodeDecodeError:
        return None, f"{path}@{revision} is not UTF-8 text"
