"""Options several commands share, declared once so their name, type and help cannot drift apart.

Where it sits: inside the CLI layer, imported by the command modules; it imports only click.
"""

from __future__ import annotations

import click

# Every command that reads journeys (check, render, docs, diff, build, test) finds message templates the same way:
# `--templates DIR`, passed on as the keyword `templates_dir` (None: ./templates).
templates_option = click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder holding messages/<channel>/<name>.j2 (default: ./templates).",
)
