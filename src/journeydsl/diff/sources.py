"""The two sides of a diff: a file on disk, or `PATH@REV` read with `git show REV:./PATH`.

Each side is parsed and checked on its own; `uses` resolves among the working tree's files in the same
folder (the old revision's schema is not fetched: a schema change shows as a check error if it matters).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from journeydsl.check import check_project
from journeydsl.diagnostics import Diagnostic, Sink, codes
from journeydsl.ir import SourceFile, Span
from journeydsl.project import YAML_SUFFIXES, Project, is_journey_file, load_project


@dataclass
class Side:
    label: str  # what the user wrote
    path: Path
    revision: str | None
    text: str | None = None
    source: SourceFile | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


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


def _git_show(path: Path, revision: str) -> tuple[str | None, str]:
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
        side.text, problem = _git_show(path, revision)
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
