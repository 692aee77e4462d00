"""Options several commands share, declared once so their name, type and help cannot drift apart, and the one way
every command finds its project (`journeydsl.toml`, see journeydsl.project_file).

Where it sits: inside the CLI layer, imported by the command modules.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from journeydsl.project_file import ProjectConfig, discovery_start, load_config, rebase

# Every command that reads journeys (check, render, docs, diff, build, test) finds message templates the same way:
# `--templates DIR`, passed on as the keyword `templates_dir` (None: the project file's `templates`, else
# ./templates).
templates_option = click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder holding messages/<channel>/<name>.j2 (default: the project file's `templates`, else ./templates).",
)


@dataclass
class ProjectPaths:
    """A command's view of its project: paths typed in the caller's folder, rebased onto the project root.

    Commands run inside `at_root(project.config.root)`, so everything they name (and every path their
    diagnostics print) is relative to the root, whichever folder they were started from.
    """

    config: ProjectConfig
    cwd: Path

    @property
    def root(self) -> Path:
        return self.config.root

    def here(self, spec: str) -> str:
        """A path (or FILE@REV) the user typed, as seen from the project root."""
        return rebase(spec, self.cwd, self.root)

    def maybe(self, spec: str | None) -> str | None:
        return None if spec is None else self.here(spec)

    def sources(self, given: Sequence[str]) -> list[str]:
        """The PATHS given, else the project's `sources` (only when there is a project file)."""
        if given:
            return [self.here(spec) for spec in given]
        return list(self.config.sources) if self.config.found else []

    def store(self, given: str | None) -> str | None:
        """A store URL typed by the user (a relative sqlite:///PATH is made absolute: commands run at the root),
        else the project's default store."""
        if given is None:
            return self.config.store_url()
        prefix = "sqlite:///"
        if given.startswith(prefix) and not given[len(prefix) :].startswith("/"):
            return prefix + str(self.cwd / given[len(prefix) :])
        return given

    def templates(self, given: str | None) -> str:
        """`--templates` as typed, else the project's templates folder (relative to the root either way)."""
        return self.here(given) if given is not None else self.config.templates


def open_project(paths: Sequence[str] = (), *, report: bool = True) -> ProjectPaths:
    """The project of the nearest project file above `paths` (else the current folder).

    With `report`, the project file's diagnostics go to stderr, and errors among them exit 1; without it the
    caller shows them (`check` puts them in its own output format).
    """
    from journeydsl.diagnostics.render import render_text

    cwd = Path.cwd()
    config = load_config(discovery_start(paths, cwd), fallback_root=cwd)
    if report and config.diagnostics:
        color = sys.stderr.isatty()
        click.echo(render_text(config.diagnostics, config.sources_text(), color, 1), err=True, nl=False)
    if report and config.has_errors:
        click.echo(f"fix {config.file} first: every command reads it", err=True)
        raise SystemExit(1)
    return ProjectPaths(config, cwd)


def no_sources(command: str) -> click.UsageError:
    """The error for a command given no PATHS outside any project."""
    return click.UsageError(
        f"name at least one journey file or folder, e.g. `journeydsl {command} journeys/`, or run it inside a "
        "project (a journeydsl.toml naming its `sources`; `journeydsl init` makes one)"
    )
