"""The command line: a thin click layer over the public API.

Each area keeps its commands in its own module and lists them in `COMMANDS`.
"""

from __future__ import annotations

import click

from journeydsl import __version__
from journeydsl.cli import bundle, check, convert, format, run, testing, visual


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="journeydsl")
def main() -> None:
    """Journeys as code: check, format, draw, document, build and run customer journeys."""


for _module in (check, format, convert, visual, bundle, run, testing):
    for _command in _module.COMMANDS:
        main.add_command(_command)
