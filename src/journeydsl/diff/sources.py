"""The two sides of a diff: a file or a folder on disk, or `PATH@REV` read from git.

Each side is parsed and checked on its own. A file's `uses` resolves among the working tree's files in the same
folder (the old revision's schema is not fetched: a schema change shows as a check error if it matters); a
folder is a whole project, read from the working tree or, for `FOLDER@REV`, every journey file git has under
it at that revision, so its schemas are compared too.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from journeydsl.check import check_project
from journeydsl.diagnostics import Diagnostic, Sink, codes
from journeydsl.ir import Journey, Schema, SourceFile, Span
from journeydsl.project import (
    YAML_SUFFIXES,
    Project,
    check_revision,
    is_journey_file,
    load_project,
    read_at_revision,
    split_spec,
)


@dataclass
class Side:
    label: str  # what the user wrote
    path: Path
    revision: str | None
    text: str | None = None
    source: SourceFile | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    files: list[SourceFile] = field(default_factory=list)  # every file of the side (one, or a folder's)

    def journeys(self) -> list[Journey]:
        return [journey for file in self.files for journey in file.journeys]

    def schemas(self) -> list[Schema]:
        return [schema for file in self.files for schema in file.schemas]


def _parse(text: str, path: Path, display: str) -> tuple[SourceFile, list[Diagnostic]]:
    from journeydsl.syntax import load_yaml, parse_dsl

    if str(path).endswith(YAML_SUFFIXES) or path.suffix in (".yaml", ".yml"):
        return load_yaml(text, display)  # type: ignore[no-any-return]
    return parse_dsl(text, display)


def read_side(spec: str, templates_dir: str | None = None) -> Side:
    """Read, parse and check one side; problems become diagnostics on the side, never exceptions."""
    path, revision = split_spec(spec)
    side = Side(spec, path, revision)
    if path.is_dir():
        return _read_folder(side, templates_dir)
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
    side.files = [side.source]
    side.diagnostics = check_project(project)
    return side


def _read_folder(side: Side, templates_dir: str | None) -> Side:
    """Every journey file under a folder, from the working tree or from git at the side's revision."""
    templates = Path(templates_dir) if templates_dir else Path("templates")
    if side.revision is None:
        project = load_project([side.path], templates_dir=templates)
    else:
        texts, problem = folder_at_revision(side.path, side.revision)
        if texts is None:
            message = f"cannot read {side.label}: {problem}"
            side.diagnostics = [
                Diagnostic(codes.FILE_ERROR, message, Span(side.label, 1, 1, 1, 1), None, codes.FILE_ERROR.severity)
            ]
            return side
        project = Project(templates_dir=templates)
        for name, text in texts.items():
            display = f"{side.path / name}@{side.revision}"
            source, diagnostics = _parse(text, Path(name), display)
            project.files.append(source)
            project.sources[display] = text
            project.diagnostics.extend(diagnostics)
    side.files = list(project.files)
    side.source = side.files[0] if side.files else SourceFile(str(side.path))
    side.sources = project.sources
    side.diagnostics = check_project(project)
    return side


def folder_at_revision(folder: Path, revision: str) -> tuple[dict[str, str] | None, str]:
    """The journey files git holds under `folder` at `revision` (name relative to the folder -> text)."""
    problem = check_revision(revision)
    if problem is not None:
        return None, problem
    # As read_at_revision: the revision becomes a commit id first, after `--end-of-options`, so git never reads
    # user text as an option, and then only that id reaches ls-tree and show.
    commit, problem = _run_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"], folder
    )
    if commit is None or not re.fullmatch(r"[0-9a-f]{40,64}", commit.strip()):
        if problem.startswith("cannot run git"):
            return None, problem
        return None, f"unknown revision {revision!r}: git rev-parse --verify does not name a commit by it"
    commit = commit.strip()
    listing, problem = _run_git(["ls-tree", "-r", "--name-only", "-z", "--end-of-options", commit, "--", "."], folder)
    if listing is None:
        return None, problem
    texts: dict[str, str] = {}
    for name in sorted(n for n in listing.split("\0") if n and is_journey_file(Path(n))):
        shown, problem = _run_git(["show", "--end-of-options", f"{commit}:./{name}"], folder)
        if shown is None:
            return None, problem
        texts[name] = shown
    if not texts:
        return None, f"no journey files under {folder} at {revision}"
    return texts, ""


def _run_git(args: list[str], folder: Path) -> tuple[str | None, str]:
    """git's standard output as text, or None and why."""
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"cannot run git: {err}"
    if done.returncode != 0:
        return None, done.stderr.decode("utf-8", "replace").strip() or f"git exit status {done.returncode}"
    try:
        return done.stdout.decode("utf-8"), ""
    except UnicodeDecodeError:
        return None, "git printed text that is not UTF-8"


def _neighbours(path: Path) -> list[SourceFile]:
    """The other journey files of the working-tree folder, to resolve `uses`."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return []
    siblings = [
        p for p in sorted(folder.iterdir()) if p.is_file() and is_journey_file(p) and p.resolve() != path.resolve()
    ]
    return load_project(siblings).files if siblings else []
