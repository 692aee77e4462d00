"""`journeydsl status`: what a store has in flight (the command layer over runtime/inflight.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def open_for_reading(store_url: str) -> object:
    """The store at `store_url`, read without taking it from its owner; exits 1 with a clear error."""
    from journeydsl.runtime import StoreError, open_store

    if store_url.startswith("sqlite:///"):
        path = Path(store_url.removeprefix("sqlite:///").split("?", 1)[0])
        if not path.exists():  # opening would create an empty store: say what is wrong instead
            click.echo(f"error: no store at {path} (run events into it first with `journeydsl run`)", err=True)
            sys.exit(1)
    try:
        return open_store(store_url, mode="read")
    except StoreError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)


@click.command("status")
@click.option("--store", "store_url", required=True, help="The store: sqlite:///PATH.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status_command(store_url: str, output_format: str) -> None:
    """What STORE has in flight: active instances per journey, version and step, and their waiting timers."""
    from journeydsl.runtime import Store
    from journeydsl.runtime.inflight import in_flight, in_flight_text

    store = open_for_reading(store_url)
    assert isinstance(store, Store)
    try:
        found = in_flight(store)
    finally:
        store.abandon()  # read only: nothing to commit
    if output_format == "json":
        click.echo(json.dumps(found.as_json(), indent=2, sort_keys=True))
    else:
        click.echo(in_flight_text(found), nl=False)


COMMANDS: list[click.Command] = [status_command]
