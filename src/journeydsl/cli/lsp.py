"""`journeydsl lsp`: the language server, speaking LSP on stdin and stdout to one editor (docs: editors/vscode)."""

from __future__ import annotations

import click


@click.command("lsp")
@click.option("--stdio", is_flag=True, help="Speak LSP on stdin/stdout (the default and only transport).")
def lsp_command(stdio: bool) -> None:
    """Run the language server for .journey and .journey.yaml files (diagnostics, hover, completion, rename...).

    Editors start it themselves; the VS Code extension in editors/vscode does. It needs the `pygls` package.
    """
    try:
        from journeydsl.lsp.server import run_stdio
    except ImportError as err:
        missing = (err.name or "pygls").split(".")[0]
        raise click.ClickException(
            f"the language server needs the package `{missing}`, which is not installed: pip install pygls"
        ) from None
    run_stdio()


COMMANDS: list[click.Command] = [lsp_command]
