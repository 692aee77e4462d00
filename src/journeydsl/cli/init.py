"""`journeydsl init [DIR] [--form dsl|yaml] [--name NAME] [--force]`: a new project that passes `check` and `test`.

The files come from the package's `scaffold/` folder (shipped in the wheel), with a few placeholders filled in:
the project file, a schema and one journey in the chosen form, its message templates, a scenario file, a
pre-commit config using journeydsl's hooks and a GitHub workflow using journeydsl's action. Nothing is written
when any file is already there, unless `--force`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click

from journeydsl import __version__

# Where journeydsl's pre-commit hooks (.pre-commit-hooks.yaml) and GitHub Action (action.yml) are published.
HOOKS_REPO = "https://github.com/journeydsl/journeydsl"
ACTION_REPO = "journeydsl/journeydsl"

FORMS = ("dsl", "yaml")
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
RESERVED = {"customer"}  # the schema's name


@dataclass(frozen=True)
class ScaffoldFile:
    source: str  # under scaffold/
    target: str  # under DIR; {name} is the journey's name
    forms: tuple[str, ...] = FORMS


FILES: tuple[ScaffoldFile, ...] = (
    ScaffoldFile("journeydsl.toml", "journeydsl.toml"),
    ScaffoldFile("dsl/customer.journey", "journeys/customer.journey", ("dsl",)),
    ScaffoldFile("dsl/journey.journey", "journeys/{name}.journey", ("dsl",)),
    ScaffoldFile("yaml/customer.journey.yaml", "journeys/customer.journey.yaml", ("yaml",)),
    ScaffoldFile("yaml/journey.journey.yaml", "journeys/{name}.journey.yaml", ("yaml",)),
    ScaffoldFile("journey.scenario.yaml", "journeys/{name}.scenario.yaml"),
    ScaffoldFile("templates/messages/email/welcome.j2", "templates/messages/email/welcome.j2"),
    ScaffoldFile("templates/messages/email/first_order_nudge.j2", "templates/messages/email/first_order_nudge.j2"),
    ScaffoldFile("pre-commit-config.yaml", ".pre-commit-config.yaml"),
    ScaffoldFile("journeys.yml", ".github/workflows/journeys.yml"),
)


def _placeholders(name: str) -> dict[str, str]:
    return {
        "__NAME__": name,
        "__TITLE__": name.replace("_", " ").capitalize(),
        "__VERSION__": __version__,
        "__HOOKS_REPO__": HOOKS_REPO,
        "__ACTION_REPO__": ACTION_REPO,
    }


def scaffold(form: str, name: str) -> dict[str, str]:
    """The files of a new project: path under DIR -> text."""
    folder = resources.files("journeydsl") / "scaffold"
    values = _placeholders(name)
    out: dict[str, str] = {}
    for entry in FILES:
        if form not in entry.forms:
            continue
        text = (folder / entry.source).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        out[entry.target.format(name=name)] = text
    return out


def _check_name(name: str) -> str:
    if not NAME.fullmatch(name) or name in RESERVED:
        why = "is the schema's name" if name in RESERVED else "is not a journey name"
        raise click.BadParameter(
            f"{name!r} {why}: use lower-case letters, digits and `_`, starting with a letter (e.g. welcome)",
            param_hint="--name",
        )
    return name


@click.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--form", type=click.Choice(FORMS), default="dsl", show_default=True, help="The journey's form.")
@click.option("--name", default="welcome", show_default=True, help="The journey's name (also its file's name).")
@click.option("--force", is_flag=True, help="Overwrite files that are already there.")
def init_command(directory: str, form: str, name: str, force: bool) -> None:
    """Start a project in DIRECTORY: a project file, a schema, one journey, its templates, a scenario, a
    pre-commit config and a GitHub workflow. It passes `journeydsl check` and `journeydsl test` as it is."""
    files = scaffold(form, _check_name(name))
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise click.ClickException(f"{directory} is a file, not a folder")
    there = [relative for relative in files if (root / relative).exists()]
    if there and not force:
        shown = ", ".join(there[:6]) + (f" and {len(there) - 6} more" if len(there) > 6 else "")
        raise click.ClickException(
            f"not overwriting what is already in {directory}: {shown}. Nothing was written; "
            "use --force to overwrite them, or init another folder"
        )
    try:
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise click.ClickException(f"cannot write {err.filename or directory}: {err.strerror or err}") from err
    for relative in files:
        click.echo(f"created {root / relative}" + (" (overwritten)" if relative in there else ""))
    where = "" if root.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    click.echo(f"\nnext: {where}journeydsl check && journeydsl test")


COMMANDS: list[click.Command] = [init_command]
