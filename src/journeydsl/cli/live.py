"""`journeydsl status`, `plan` and `replay`: a store's instances in flight and what a new bundle would do to them
(the command layer over runtime/inflight.py, rollout.py and replay.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from journeydsl.runtime import Store
    from journeydsl.runtime.bundle import Bundle
    from journeydsl.runtime.inflight import InFlight, Plans


def _store_or_project(store_url: str | None) -> str:
    """--store as given, else the project file's `store`; a usage error when neither names one."""
    from journeydsl.cli.options import open_project

    if store_url is not None:
        return store_url
    found = open_project().config.store_url()
    if found is None:
        raise click.UsageError("name the store with --store URL, or set `store` in the project file")
    return found


def _public_key_or_project(public_key: str | None) -> str | None:
    from journeydsl.cli.options import open_project

    if public_key is not None:
        return public_key
    config = open_project().config
    return str(config.path(config.public_key)) if config.public_key else None


FORMAT_OPTION = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)


def _show(output_format: str, as_json: dict[str, Any], as_text: str) -> None:
    if output_format == "json":
        click.echo(json.dumps(as_json, indent=2, sort_keys=True))
    else:
        click.echo(as_text, nl=False)


def _load(bundle: Path, public_key: str | None = None) -> Bundle:
    """A verified bundle, or exit 1 saying why it is refused."""
    from journeydsl.runtime.bundle import BundleError, load_bundle

    try:
        return load_bundle(str(bundle), public_key=public_key)
    except BundleError as err:
        click.echo(f"error: refusing bundle {bundle}: {err}", err=True)
        sys.exit(1)


def open_for_reading(store_url: str) -> Store:
    """The store at `store_url`, read without taking it from its owner; exits 1 with a clear error."""
    from journeydsl.runtime import StoreError, open_store

    try:
        return open_store(store_url, mode="read")
    except StoreError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)


@click.command("status")
@click.option("--store", "store_url", help="The store: sqlite:///PATH (default: the project file's `store`).")
@FORMAT_OPTION
def status_command(store_url: str | None, output_format: str) -> None:
    """What STORE has in flight: active instances per journey, version and step, their waiting timers, and the
    sends a contact policy holds until its settle time, per journey and channel. A store that `run --workers N`
    split into shards is read shard by shard and summed."""
    from journeydsl.runtime.inflight import in_flight_text

    found, _ = _in_flight_at(_store_or_project(store_url))
    _show(output_format, found.as_json(), in_flight_text(found))


def _in_flight_at(store_url: str) -> tuple[InFlight, Plans]:
    """`in_flight_at`, or exit 1 with the store's error (a store it cannot open, a damaged state: which row)."""
    from journeydsl.runtime import StoreError
    from journeydsl.runtime.inflight import in_flight_at

    try:
        return in_flight_at(store_url)
    except StoreError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)


@click.command("plan")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option("--store", "store_url", help="The store whose instances in flight the new bundle would meet.")
@click.option("--old", "old_bundle", type=click.Path(exists=True, path_type=Path), help="Compare with this bundle.")
@click.option(
    "--public-key",
    help="Refuse the bundle unless it is signed by this Ed25519 public key (default: the project file's).",
)
@FORMAT_OPTION
def plan_command(
    bundle: Path, store_url: str | None, old_bundle: Path | None, public_key: str | None, output_format: str
) -> None:
    """What deploying BUNDLE does to the instances in flight: kept, changed or orphaned, per journey version,
    with the steps it removes, renames or changes. Exit 1 when anything would be orphaned."""
    from journeydsl.runtime.rollout import plan_rollout, rollout_text

    if store_url is not None and old_bundle is not None:
        raise click.UsageError("give one of --store URL (instances in flight) or --old OLD.jbundle")
    if old_bundle is None:
        store_url = _store_or_project(store_url)
    new = _load(bundle, _public_key_or_project(public_key))
    old = _load(old_bundle) if old_bundle is not None else None
    new_plans = {(str(j), int(v)): raw for (j, v), raw in new.plans.items()}
    if old is not None:
        old_plans = {(str(j), int(v)): raw for (j, v), raw in old.plans.items()}
        rollout = plan_rollout(new_plans, old_plans)
    else:
        assert store_url is not None
        found, store_plans = _in_flight_at(store_url)
        rollout = plan_rollout(new_plans, store_plans, found)
    _show(output_format, rollout.as_json(), rollout_text(rollout))
    if rollout.orphans:
        sys.exit(1)


@click.command("replay")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--store", "store_url", help="The store whose customers in flight are compared (default: the project file's)."
)
@click.option(
    "--events",
    "events_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay these events (JSON Lines) instead of the history the store keeps.",
)
@click.option(
    "--public-key",
    help="Refuse the bundle unless it is signed by this Ed25519 public key (default: the project file's).",
)
@FORMAT_OPTION
def replay_command(
    bundle: Path, store_url: str | None, events_path: Path | None, public_key: str | None, output_format: str
) -> None:
    """Replay the store's event history (or EVENTS) through BUNDLE in a scratch store, as if it had run from the
    start, and show where the customers in flight in STORE would have got different records. Exit 1 when any
    would."""
    from journeydsl.runtime import StoreError
    from journeydsl.runtime.replay import replay, replay_text

    loaded = _load(bundle, _public_key_or_project(public_key))
    store = open_for_reading(_store_or_project(store_url))
    try:
        if events_path is None:
            result = replay(loaded, store)
        else:
            with events_path.open("rb") as events:
                result = replay(loaded, store, events)
    except StoreError as err:  # a damaged history is found while it is read
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    finally:
        store.abandon()
    _show(output_format, result.as_json(), replay_text(result))
    if result.divergences:
        sys.exit(1)


COMMANDS: list[click.Command] = [status_command, plan_command, replay_command]
