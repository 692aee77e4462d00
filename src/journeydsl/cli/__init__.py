"""The command line: a thin click layer over the public API.

Each area keeps its commands in its own module (listed in its `COMMANDS`). The group imports a module only
when one of its commands runs, so `journeydsl check` does not pay for loading the runtime, Graphviz or the
compiler.
"""

from __future__ import annotations

import importlib

import click

from journeydsl import __version__

# command name -> the module that defines it
_COMMAND_MODULES: dict[str, str] = {
    "check": "check",
    "init": "init",
    "fmt": "format",
    "convert": "convert",
    "schema": "convert",
    "render": "visual",
    "docs": "visual",
    "diff": "visual",
    "build": "bundle",
    "keygen": "bundle",
    "verify": "bundle",
    "run": "run",
    "serve": "serve",
    "deliver": "deliver",
    "flink": "flink",
    "status": "live",
    "plan": "live",
    "pressure": "pressure",
    "replay": "live",
    "test": "testing",
    "report": "testing",
    "lsp": "lsp",
    "synth": "synth",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = _COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"journeydsl.cli.{module_name}")
        found = {command.name: command for command in module.COMMANDS}
        return found.get(cmd_name)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """`--version`: the version and which runtime build runs (compiled by mypyc, or plain Python)."""
    if not value or ctx.resilient_parsing:
        return
    from journeydsl.runtime import compiled

    build = "compiled runtime (mypyc)" if compiled() else "plain-Python runtime (`make compiled` builds the fast one)"
    click.echo(f"journeydsl {__version__}, {build}")
    ctx.exit()


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and which runtime build runs, and exit.",
)
def main() -> None:
    """Journeys as code: check, format, draw, document, build and run customer journeys."""
