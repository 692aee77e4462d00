"""`journeydsl run`: events from a JSONL file through the runtime, action records to standard output.

With a durable store the records come from the outbox: printed once committed, then marked
delivered (the mark is written with the next commit), so a run restarted after a crash first prints
what was committed but not yet delivered, and then skips the events the store has already seen.
A write to standard output that fails stops the run before that commit (`_write_all`), so the
records it held are printed again by the next run. One process at a time owns a SQLite store:
another `run` on it fails at once, or waits with `--wait`.
"""

from __future__ import annotations

import math
import os
import sys
from collections import Counter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from journeydsl.runtime.jsonio import DecodeError, dumps, dumps_lines, loads

if TYPE_CHECKING:
    from journeydsl.runtime.store import Store


class _OutputError(Exception):
    """Records could not be written to standard output (the message says why)."""


def _stdout() -> IO[bytes]:
    """Where the records go (a function, so a test can hand the command a stream that fails)."""
    if sys.stdout is None:  # started with standard output closed
        raise _OutputError("standard output is closed")
    return sys.stdout.buffer


def _write_all(out: IO[bytes], data: bytes) -> None:
    """Write all of `data` or raise _OutputError. Under `python -u` (or PYTHONUNBUFFERED) `sys.stdout.buffer` is a
    raw FileIO, whose write may take only part of the bytes (a full disk, a signal): the rest is written again, and
    a write that takes nothing, or fails, stops the run, so no record counts as delivered that was not written."""
    try:
        written = out.write(data)
        if written == len(data):
            return
        view = memoryview(data)
        while True:
            if written is None:
                raise _OutputError("standard output is non-blocking and would block")
            if written <= 0:
                raise _OutputError("no bytes were written")
            view = view[written:]
            if not view:
                return
            written = out.write(view)
    except OSError as err:
        raise _OutputError(err.strerror or str(err)) from err


def _flush(out: IO[bytes]) -> None:
    try:
        out.flush()
    except OSError as err:
        raise _OutputError(err.strerror or str(err)) from err


def _drop_unwritten_output() -> None:
    """After a failed write, what is left in stdout's buffer would be written again at exit and fail again (Python
    then prints "Exception ignored" and exits with 120): point the descriptor at the null device instead."""
    try:
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (AttributeError, OSError, ValueError):  # no real descriptor (a test runner's stream)
        pass


def _open_store(url: str, batch: int | None, wait: bool) -> Store:
    """The run's store, owned by this process: a SQLite store another process owns raises StoreBusyError, or with
    `wait` is waited for without bound (a bound, if wanted, is the shell's `timeout`)."""
    from journeydsl.runtime import MemoryStore, StoreError, open_store
    from journeydsl.runtime.store import StoreBusyError

    if url in ("memory://", "memory:"):
        # memory:// keeps nothing once the run ends: print what `process` returns and keep no record log.
        return MemoryStore(keep_log=False)
    try:
        return open_store(url, batch=batch, mode="write")
    except StoreBusyError as err:
        if not wait:
            raise
        click.echo(f"note: {err}; waiting for it to finish", err=True)
    try:
        return open_store(url, batch=batch, mode="write", wait=math.inf)
    except StoreBusyError as err:  # pragma: no cover - an unbounded wait ends with the store or an interrupt
        raise StoreError(str(err)) from err


def _write_dead(
    sink: IO[bytes] | None, line: int, reason: str, event: Any, raw: bytes | None = None, source: bytes = b""
) -> None:
    """One dead letter: the decoded event, or the raw line when there is none or the event cannot be encoded
    again (nesting deeper than the encoder writes)."""
    entry: dict[str, Any] = {"line": line, "reason": reason}
    if raw is None:
        entry["event"] = event
        try:
            encoded = dumps(entry)
        except (TypeError, ValueError):
            del entry["event"]
            raw = source
    if raw is not None:
        entry["raw"] = raw.decode("utf-8", "replace").rstrip("\n")
        encoded = dumps(entry)
    if sink is not None:
        sink.write(encoded + b"\n")
    else:
        click.echo(f"line {line}: dead letter: {reason}", err=True)


class Summary:
    """Counts of the delivered records, for `--summary` (printed to standard error)."""

    def __init__(self) -> None:
        self.entries: Counter[str] = Counter()
        self.sends: Counter[tuple[str, str]] = Counter()
        self.suppressed: Counter[str] = Counter()
        self.goals: Counter[str] = Counter()
        self.goal_value: dict[str, float] = {}
        self.ends: Counter[str] = Counter()
        self.errors = 0
        self.dead = 0
        self.records = 0

    def add(self, record: dict[str, Any]) -> None:
        self.records += 1
        kind = record.get("kind")
        journey = str(record.get("journey"))
        if kind == "enter":
            self.entries[journey] += 1
        elif kind == "send":
            self.sends[(str(record.get("channel")), str(record.get("status")))] += 1
            if record.get("status") == "suppressed":
                self.suppressed[str(record.get("reason"))] += 1
        elif kind == "goal":
            name = f"{journey}.{record.get('goal')}"
            self.goals[name] += 1
            value = record.get("value")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.goal_value[name] = self.goal_value.get(name, 0.0) + value
        elif kind == "end":
            self.ends[f"{journey}: {record.get('outcome') or '(none)'}"] += 1
        elif kind == "exit":
            self.ends[f"{journey}: exit:{record.get('outcome')}"] += 1
        elif kind == "error":
            self.errors += 1

    def lines(self) -> list[str]:
        rows: list[tuple[str, str]] = [("records", str(self.records))]
        rows += [(f"entries  {name}", str(n)) for name, n in sorted(self.entries.items())]
        rows += [(f"sends    {channel} {status}", str(n)) for (channel, status), n in sorted(self.sends.items())]
        rows += [(f"suppressed  {reason}", str(n)) for reason, n in sorted(self.suppressed.items())]
        rows += [
            (f"goals    {name}", f"{n} (value {self.goal_value.get(name, 0.0):g})")
            for name, n in sorted(self.goals.items())
        ]
        rows += [(f"ends     {name}", str(n)) for name, n in sorted(self.ends.items())]
        rows += [("errors", str(self.errors)), ("dead letters", str(self.dead))]
        width = max(len(label) for label, _ in rows)
        return [f"{label.ljust(width)}  {value}" for label, value in rows]


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _skew_seconds(text: str) -> float | None:
    """`--max-skew`: a duration (`90s`, `6h`, `1d`, `2w`) in seconds, or None for `none`."""
    if text.strip().lower() in ("none", "off"):
        return None
    amount, unit = text.strip()[:-1], text.strip()[-1:]
    if not amount.isascii() or not amount.isdigit() or unit not in _UNITS or len(amount) > 9:
        reason = f"{text!r} is not a duration such as 6h, 1d or 2w (or `none`)"
        raise click.BadParameter(reason, param_hint="--max-skew")
    return float(int(amount) * _UNITS[unit])


@click.command("run")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--events",
    "events_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSONL file, one event per line, taken in file order.",
)
@click.option("--store", "store_url", default="memory://", show_default=True, help="memory:// or sqlite:///PATH")
@click.option(
    "--until",
    help="After the last event, fire the timers due up to this time (RFC 3339); "
    "events dated after it are dead letters.",
)
@click.option(
    "--max-skew",
    default="1d",
    show_default=True,
    help="Events further ahead of the stream's clock (the latest event time so far) are dead letters; "
    "a duration such as 6h or 2d, or `none`.",
)
@click.option(
    "--dead-letter",
    "dead_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write rejected events here (JSONL, with line number and reason).",
)
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Events per commit of a durable store.")
@click.option("--public-key", help="Refuse the bundle unless it is signed by this Ed25519 public key.")
@click.option("--summary", is_flag=True, help="Print a summary table to standard error.")
@click.option(
    "--wait",
    "wait_for_store",
    is_flag=True,
    help="If another journeydsl process has the SQLite store open, wait until it is done instead of failing.",
)
def run_command(
    bundle: Path,
    events_path: Path,
    store_url: str,
    until: str | None,
    dead_path: Path | None,
    max_skew: str,
    batch: int | None,
    public_key: str | None,
    summary: bool,
    wait_for_store: bool,
) -> None:
    """Run EVENTS through BUNDLE and print one JSON action record per line."""
    from journeydsl.runtime import Engine, EngineError, StoreError
    from journeydsl.runtime.bundle import BundleError, load_bundle
    from journeydsl.runtime.gctune import relax_gc
    from journeydsl.runtime.store import StoreBusyError
    from journeydsl.runtime.timeparse import TimeError, parse_time

    if until is not None:
        try:
            parse_time(until)
        except TimeError as err:
            raise click.BadParameter(str(err), param_hint="--until") from err
    skew = _skew_seconds(max_skew)
    try:
        loaded = load_bundle(str(bundle), public_key=public_key)  # before the store: a refused bundle waits for nothing
    except BundleError as err:
        click.echo(f"error: refusing bundle {bundle}: {err}", err=True)
        sys.exit(1)
    try:
        store = _open_store(store_url, batch, wait_for_store)
    except StoreBusyError as err:
        click.echo(f"error: {err}; wait for it or pass --wait", err=True)
        sys.exit(1)
    except StoreError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    try:
        engine = Engine.open(loaded, store=store, batch=batch, until=until, max_skew=skew)
        out = _stdout()
    except (EngineError, StoreError, _OutputError) as err:
        store.abandon()
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    relax_gc()
    counts = Summary()

    # A durable store marks what it hands out as delivered with its next commit, so its records must
    # reach standard output before that commit: deliver after each event and flush. memory:// keeps
    # nothing across runs: its records are written in large chunks, flushed at the end.
    durable = store.durable
    pending: list[dict[str, Any]] = []

    def write(records: list[dict[str, Any]], lines: bytes | None = None) -> None:
        _write_all(out, dumps_lines(records) if lines is None else lines)
        if summary:
            for record in records:
                counts.add(record)

    def deliver() -> None:
        if durable:
            records, lines = store.take_deliverable_lines()  # SQLite hands out the bytes its outbox holds
            if records:
                write(records, lines)
                _flush(out)
        elif pending:
            write(pending)
            pending.clear()

    dead_sink = None
    closed = False
    try:
        dead_sink = dead_path.open("wb") if dead_path is not None else None
        deliver()  # committed by an earlier, interrupted run but never delivered
        process = engine.process
        dead_letters = engine.dead_letters
        with events_path.open("rb") as events:
            for number, line in enumerate(events, start=1):
                try:
                    event = loads(line)
                except DecodeError as err:
                    if not line.strip():  # blank lines are allowed (checked only here: they are rare)
                        continue
                    counts.dead += 1
                    _write_dead(dead_sink, number, f"not JSON: {err}", None, raw=line)
                    continue
                records = process(event)
                if dead_letters:
                    for dead in dead_letters:
                        counts.dead += 1
                        _write_dead(dead_sink, number, dead["reason"], dead["event"], source=line)
                    dead_letters.clear()
                if durable:
                    deliver()
                elif records:
                    pending += records
                    if len(pending) >= 4096:
                        deliver()
        if until is not None:
            records = engine.advance(until)
            if not durable:
                pending += records
        store.flush()
        deliver()
        _flush(out)
        if dead_sink is not None:
            dead_sink.close()  # before the last commit, which a failure here then does not make
        engine.close()
        closed = True
    except _OutputError as err:
        _drop_unwritten_output()
        click.echo(f"error: could not write records to standard output: {err}", err=True)
        sys.exit(1)
    except StoreError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    except OSError as err:  # reading the events, writing the dead letters
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    finally:
        if not closed:
            # Nothing more is committed: the delivered mark of records that were handed out but not written stays
            # where it was, and the events since the last commit are redone by the next run.
            store.abandon()
        if dead_sink is not None and not dead_sink.closed:
            try:
                dead_sink.close()
            except OSError:
                pass  # the run already failed and says why
    if summary:
        for text in counts.lines():
            click.echo(text, err=True)


COMMANDS: list[click.Command] = [run_command]
