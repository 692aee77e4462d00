"""CLI commands of this area; each module lists its commands in COMMANDS."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
