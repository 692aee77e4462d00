"""`journeydsl deliver`: delivery workers beside `serve`, relaying a store's outbox to the sinks of a config.

Where it sits: the click layer over runtime/relay.py (the relay `serve` runs too) and runtime/delivery_config.py.
Each worker is a thread with its own store opened in mode "deliver" (never the single-owner lock, so workers run
while `serve` owns the store) and its own relay and sinks; several processes may run too, since rows are claimed
under a lease (PostgreSQL: FOR UPDATE SKIP LOCKED). SIGTERM or SIGINT stops the workers after the record each has
in hand (exit 0); `--once` stops when nothing is claimable now. Exit 2 for a bad config, 1 for a store that cannot
be opened or fails while relaying.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from journeydsl.runtime.delivery_config import DeliveryConfig
    from journeydsl.runtime.relay import RelayClock, RelayCounts, SinkStats


def _log(message: str, fields: Mapping[str, Any]) -> None:
    """The relay's retries and dead records as JSON lines on standard error (as `serve` logs)."""
    from journeydsl.runtime.jsonio import dumps

    line = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": "warning", "msg": message, **fields}
    sys.stderr.write(dumps(line).decode() + "\n")
    sys.stderr.flush()


class _Worker(threading.Thread):
    """One relay on its own store: SQLite connections belong to the thread that opened them."""

    def __init__(
        self, number: int, url: str, config: DeliveryConfig, options: dict[str, Any], stop: threading.Event
    ) -> None:
        super().__init__(name=f"deliver-{number}", daemon=True)
        self.url = url
        self.config = config
        self.options = options
        self.stop = stop
        self.counts: RelayCounts | None = None
        self.error: str | None = None

    def run(self) -> None:
        from journeydsl.runtime.delivery import OutputError
        from journeydsl.runtime.relay import Relay
        from journeydsl.runtime.store import StoreError
        from journeydsl.runtime.stores import open_store

        try:
            store = open_store(self.url, mode="deliver")
        except StoreError as err:
            self.error = str(err)
            self.stop.set()
            return
        relay = Relay(store, self.config, log=_log, **self.options["relay"])
        self.counts = relay.totals
        try:
            if self.options["once"]:
                relay.run_until_idle(stop=self.stop)
            else:
                relay.run(self.stop, self.options["poll"])
        except (StoreError, OutputError) as err:
            # The database went away: stop every worker and exit 1; a supervisor (systemd) starts us again.
            self.error = str(err)
            self.stop.set()
        except Exception as err:  # a bug: stop the others too, exit 1, and let the thread's traceback show it
            self.error = f"unexpected {type(err).__name__}: {err}"
            self.stop.set()
            raise
        finally:
            relay.close()
            try:
                store.close()
            except StoreError as err:
                self.error = self.error or str(err)


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `stop` (the workers finish the record in hand) instead of killing the process."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():  # only the main thread may install handlers
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _load_config(path: Path | None) -> DeliveryConfig:
    from journeydsl.runtime.delivery_config import DeliveryConfigError, default_config, load

    if path is None:
        return default_config()
    try:
        return load(path)
    except DeliveryConfigError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)


def _print_dead(url: str) -> None:
    from journeydsl.runtime.jsonio import dumps
    from journeydsl.runtime.store import StoreError
    from journeydsl.runtime.stores import open_store

    try:
        store = open_store(url, mode="deliver")
        try:
            dead = store.dead_deliveries()
        finally:
            store.close()
    except StoreError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    out = sys.stdout.buffer
    for entry in dead:
        line = {"seq": entry.seq, "attempts": entry.attempts, "error": entry.error, "record": entry.record}
        out.write(dumps(line) + b"\n")
    out.flush()


@click.command("deliver")
@click.option("--store", "store_url", required=True, help="The store whose outbox to deliver (sqlite:///PATH, ...).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Delivery config (TOML): which sink takes each channel and call. Default: every record to stdout.",
)
@click.option(
    "--once",
    is_flag=True,
    help="Stop when nothing is claimable now (rows waiting for a retry time, or leased by another worker, even a "
    "dead one, until its lease ends, are left) instead of waiting for more.",
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Relay threads.")
@click.option(
    "--clock",
    type=click.Choice(["wall", "event"]),
    default="wall",
    show_default=True,
    help="wall: sends delayed by quiet hours wait until their time; event: they go at once (replays, tests).",
)
@click.option("--batch", type=click.IntRange(1, 10000), default=50, show_default=True, help="Rows per claim.")
@click.option(
    "--lease",
    type=click.FloatRange(1, 86400),
    default=60.0,
    show_default=True,
    help="Seconds a claimed row is held; a worker that dies leaves its rows to others after that.",
)
@click.option(
    "--poll",
    type=click.FloatRange(0.01, 3600),
    default=1.0,
    show_default=True,
    help="Seconds to wait when the outbox has nothing due.",
)
@click.option("--dead", "show_dead", is_flag=True, help="Print the dead deliveries (JSON lines) and exit.")
def deliver_command(
    store_url: str,
    config_path: Path | None,
    once: bool,
    workers: int,
    clock: RelayClock,
    batch: int,
    lease: float,
    poll: float,
    show_dead: bool,
) -> None:
    """Deliver the records of a store's outbox to their sinks, at least once, until stopped."""
    if store_url.partition(":")[0] == "memory":
        click.echo("error: memory:// lives in one process's memory: deliver needs sqlite:// or postgresql://", err=True)
        sys.exit(1)
    if show_dead:
        _print_dead(store_url)
        return
    config = _load_config(config_path)
    from journeydsl.runtime.relay import SinkStats

    stats = SinkStats()
    options = {
        "once": once,
        "poll": poll,
        "relay": {"clock": clock, "batch": batch, "lease": lease, "metrics": stats},
    }
    stop = threading.Event()
    threads = [_Worker(n, store_url, config, options, stop) for n in range(workers)]
    with _stopped_by_signals(stop):
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # join in slices: the main thread must stay free to run signal handlers
                thread.join(0.2)
    errors = list(dict.fromkeys(thread.error for thread in threads if thread.error))
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if any(thread.counts is not None for thread in threads) or not errors:  # not when no store could be opened
        click.echo(_summary(threads, stats), err=True)
    if errors:
        sys.exit(1)


def _summary(threads: list[_Worker], stats: SinkStats) -> str:
    from journeydsl.runtime.relay import RelayCounts

    total = RelayCounts()
    for thread in threads:
        if thread.counts is not None:
            total.add(thread.counts)
    attempts = sum(stats.attempts.values())
    return (
        f"deliver: {total.delivered} delivered, {total.retried} to retry, {total.dead} dead, {total.held} held "
        f"for quiet hours ({attempts} attempts, {len(threads)} worker{'s' if len(threads) != 1 else ''})"
    )


COMMANDS: list[click.Command] = [deliver_command]
