"""`journeydsl run`: events from a JSONL file through the runtime, action records to standard output.

Where it sits: the click layer over the runtime (options, messages, exit codes, dead letters). What delivering
means (a durable store's outbox vs memory, complete and checked writes, when the delivered mark may be committed)
is runtime/delivery.py's, shared with any other command that runs events. A run restarted after a crash first
prints what was committed but not yet delivered, and then skips the events the store has already seen. One
process at a time owns a SQLite store: another `run` on it fails at once, or waits with `--wait`.

`--workers N` runs the events over N forked processes, each with the customers of one shard and its own store
(runtime/workers.py): the records, keys and order of one process. On one worker (a small file, a new SQLite
store, PostgreSQL) the command runs here, in this process, as below.

`--engine flink` runs the same events through the Flink job instead (journeydsl.flink, an optional extra): no
store, records in no particular order but the same set, key by key, as `--engine local --max-skew none`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

import click

from journeydsl.runtime.delivery import Delivery, OutputError, Summary
from journeydsl.runtime.jsonio import DecodeError, dumps, loads

if TYPE_CHECKING:
    from journeydsl.runtime.engine import Engine
    from journeydsl.runtime.store import Store
    from journeydsl.runtime.workers import Layout, RunSpec


def _stdout() -> IO[bytes]:
    """Where the records go (a function, so a test can hand the command a stream that fails)."""
    if sys.stdout is None:  # started with standard output closed
        raise OutputError("standard output is closed")
    return sys.stdout.buffer


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


# Without --dead-letter, this many dead letters are shown on standard error; the rest are only counted (a stream
# with thousands of them would otherwise bury everything else).
DEAD_SHOWN = 10


class DeadLetters:
    """Where a run's dead letters go: every one to the --dead-letter file, or the first DEAD_SHOWN to standard
    error and a count of the rest."""

    def __init__(self, sink: IO[bytes] | None) -> None:
        self.sink = sink
        self.count = 0

    def add(self, line: int, reason: str, event: Any, raw: bytes | None = None, source: bytes = b"") -> None:
        self.count += 1
        if self.sink is not None or self.count <= DEAD_SHOWN:
            _write_dead(self.sink, line, reason, event, raw=raw, source=source)

    def finish(self) -> None:
        hidden = self.count - DEAD_SHOWN
        if self.sink is None and hidden > 0:
            click.echo(
                f"... and {hidden:,} more dead letter(s) ({self.count:,} in all): --dead-letter FILE keeps them",
                err=True,
            )


class Progress:
    """A progress bar on standard error while the events file is read, when standard error is a terminal (click's
    bar, by bytes read; redrawn every 64 KiB, so it costs nothing per event)."""

    STEP = 1 << 16

    def __init__(self, path: Path, stream: TextIO | None = None) -> None:
        stream = stream if stream is not None else sys.stderr
        size = path.stat().st_size if path.is_file() else 0
        self._bar: Any = None
        if size and stream is not None and stream.isatty():
            self._bar = click.progressbar(length=size, label="events", file=stream, show_eta=True)
            self._bar.__enter__()
        self._pending = 0

    def advance(self, read: int) -> None:
        if self._bar is not None:
            self._pending += read
            if self._pending >= self.STEP:
                self._bar.update(self._pending)
                self._pending = 0

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._pending)
            self._bar.__exit__(None, None, None)
            self._bar = None


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
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=None,
    help="Events per commit of a durable store (default: the store URL's batch, else 1,000 events or 0.1 s).",
)
@click.option("--public-key", help="Refuse the bundle unless it is signed by this Ed25519 public key.")
@click.option("--summary", is_flag=True, help="Print a summary table to standard error.")
@click.option(
    "--wait",
    "wait_for_store",
    is_flag=True,
    help="If another journeydsl process has the SQLite store open, wait until it is done instead of failing.",
)
@click.option(
    "--allow-orphans",
    is_flag=True,
    help="Run a bundle that lacks versions with instances in flight: those instances end at once, with `end` records.",
)
@click.option(
    "--allow-rollback",
    is_flag=True,
    help="Run a bundle whose latest version of a journey is older than one the store already ran.",
)
@click.option(
    "--engine",
    "engine_name",
    type=click.Choice(["local", "flink"]),
    default="local",
    show_default=True,
    help="local: this process, on --store. flink: an Apache Flink mini-cluster in this process (the flink extra); "
    "the same records in no particular order, no store, no --max-skew.",
)
@click.option(
    "--parallelism",
    type=click.IntRange(min=1, max=128),
    default=None,
    help="With --engine flink: parallel tasks of the keyed step (1..128, the job's max-parallelism; default 1).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=128),
    default=None,
    help="Processes, each with the customers of one shard (a stable hash of the customer id): the records those "
    "of one process, each customer's in order, the shards' interleaved by blocks of 1,024 input lines. Default: "
    "memory:// one per core (1 for a file under 4 MiB); an existing store its own count; a new SQLite store 1. "
    "A SQLite store made with N keeps one file per shard and needs N ever after; PostgreSQL takes 1.",
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
    allow_orphans: bool,
    allow_rollback: bool,
    engine_name: str,
    parallelism: int | None,
    workers: int | None,
) -> None:
    """Run EVENTS through BUNDLE and print one JSON action record per line."""
    if engine_name == "flink":
        _run_flink(bundle, events_path, until, dead_path, public_key, summary, parallelism or 1)
        return
    if parallelism is not None:
        raise click.UsageError("--parallelism needs --engine flink")
    from journeydsl.runtime import Engine, EngineError, StoreError
    from journeydsl.runtime.bundle import BundleError, load_bundle
    from journeydsl.runtime.gctune import leave_to_exit, relax_gc
    from journeydsl.runtime.store import StoreBusyError
    from journeydsl.runtime.timeparse import TimeError, parse_time

    if until is not None:
        try:
            parse_time(until)
        except TimeError as err:
            raise click.BadParameter(str(err), param_hint="--until") from err
    skew = _skew_seconds(max_skew)
    layout = _layout(store_url, workers, events_path)
    try:
        loaded = load_bundle(str(bundle), public_key=public_key)  # before the store: a refused bundle waits for nothing
    except BundleError as err:
        click.echo(f"error: refusing bundle {bundle}: {err}", err=True)
        sys.exit(1)
    if layout is not None:
        from journeydsl.runtime.workers import RunSpec

        spec = RunSpec(
            bundle=loaded,
            events=events_path,
            until=until,
            max_skew=skew,
            batch=batch,
            wait=wait_for_store,
            allow_orphans=allow_orphans,
            allow_rollback=allow_rollback,
            summary=summary,
        )
        _run_workers(spec, layout, dead_path)
        return
    try:
        store = _open_store(store_url, batch, wait_for_store)
    except StoreBusyError as err:
        click.echo(f"error: {err}; wait for it or pass --wait", err=True)
        sys.exit(1)
    except StoreError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    try:
        engine = Engine.open(
            loaded,
            store=store,
            batch=batch,
            until=until,
            max_skew=skew,
            allow_orphans=allow_orphans,
            allow_rollback=allow_rollback,
        )
        out = _stdout()
    except (EngineError, StoreError, OutputError) as err:
        store.abandon()
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    relax_gc()
    counts = Summary()
    delivery = Delivery(store, out, counts if summary else None)

    dead_sink = None
    closed = False
    try:
        dead_sink = dead_path.open("wb") if dead_path is not None else None
        delivery.deliver()  # committed by an earlier, interrupted run but never delivered
        process = engine.process
        event_done = delivery.event_done
        dead_letters = engine.dead_letters
        dead_out = DeadLetters(dead_sink)
        progress = Progress(events_path)
        with events_path.open("rb") as events:
            read_ahead = store.durable and events_path.is_file()
            for number, line, event in _decoded(events, engine if read_ahead else None):
                progress.advance(len(line))
                if isinstance(event, DecodeError):
                    if not line.strip():  # blank lines are allowed (checked only here: they are rare)
                        continue
                    counts.dead += 1
                    dead_out.add(number, f"not JSON: {event}", None, raw=line)
                    continue
                records = process(event)
                if dead_letters:
                    for dead in dead_letters:
                        counts.dead += 1
                        dead_out.add(number, dead["reason"], dead["event"], source=line)
                    dead_letters.clear()
                event_done(records)
        progress.close()
        dead_out.finish()
        if until is not None:
            for records in engine.advance_chunks(until):  # as events are: written as they come, not all at the end
                event_done(records)
        delivery.finish()
        if dead_sink is not None:
            dead_sink.close()  # before the last commit, which a failure here then does not make
        engine.close()
        closed = True
        leave_to_exit(engine)  # its state is not freed object by object on the way out
    except OutputError as err:
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


# Lines decoded ahead of the engine for a durable store, whose `prefetch` reads their customers and event ids in
# one query each: large enough that the two queries cost little per event, small enough that the customers read
# stay in the store's cache until their events come.
READ_AHEAD = 256


def _decoded(events: IO[bytes], engine: Engine | None) -> Iterator[tuple[int, bytes, Any]]:
    """Each line with its number and its event, or the DecodeError of a line that is not JSON. `engine` (on a
    durable store, the events a regular file, where reading ahead never waits for a writer: a FIFO's next lines
    may only come once the records of the ones before are out) is given the next READ_AHEAD events before it
    processes them (`Engine.prefetch`)."""
    if engine is None:
        for number, line in enumerate(events, start=1):
            try:
                yield number, line, loads(line)
            except DecodeError as err:
                yield number, line, err
        return
    number = 0
    while chunk := list(islice(events, READ_AHEAD)):
        decoded: list[Any] = []
        for line in chunk:
            try:
                decoded.append(loads(line))
            except DecodeError as err:
                decoded.append(err)
        engine.prefetch(decoded)
        for line, event in zip(chunk, decoded, strict=True):
            number += 1
            yield number, line, event


def _layout(store_url: str, workers: int | None, events_path: Path) -> Layout | None:
    """The workers' stores for `--workers`, or None to run in this process (one worker on an unsharded store)."""
    from journeydsl.runtime import StoreError
    from journeydsl.runtime.workers import WorkersError, plan_layout

    regular = events_path.is_file()
    try:
        layout = plan_layout(store_url, workers, events_path.stat().st_size if regular else 0)
    except WorkersError as err:
        raise click.BadParameter(str(err), param_hint="--workers") from err
    except StoreError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    if layout.workers == 1 and layout.new_record is None and layout.urls[0] == store_url:
        return None
    if not regular:
        reason = f"{events_path} is not a regular file, and every worker reads the whole events file"
        raise click.BadParameter(reason, param_hint="--workers")
    return layout


def _run_workers(spec: RunSpec, layout: Layout, dead_path: Path | None) -> None:
    """`run --workers N` (N > 1, or a sharded store): the workers' records and dead letters, merged here."""
    from journeydsl.runtime import StoreError
    from journeydsl.runtime.gctune import relax_gc
    from journeydsl.runtime.workers import WorkersError, run_file

    relax_gc()  # before the workers fork: they inherit it
    dead_sink = None
    try:
        out = _stdout()
        dead_sink = dead_path.open("wb") if dead_path is not None else None
        dead_out = DeadLetters(dead_sink)

        def dead(line: int, reason: str, event: Any, raw: bytes | None, source: bytes) -> None:
            dead_out.add(line, reason, event, raw=raw, source=source)

        def written() -> None:
            dead_out.finish()
            if dead_sink is not None:
                dead_sink.close()  # before the shards' last commits, which a failure here then does not make

        result = run_file(spec, layout, out, dead, written)
    except OutputError as err:
        _drop_unwritten_output()
        click.echo(f"error: could not write records to standard output: {err}", err=True)
        sys.exit(1)
    except (WorkersError, StoreError, OSError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    finally:
        if dead_sink is not None and not dead_sink.closed:
            try:
                dead_sink.close()
            except OSError:
                pass  # the run already failed and says why
    if spec.summary:
        for text in result.summary.lines():
            click.echo(text, err=True)


# Options that have no meaning on the Flink engine (it keeps no store, and skew is a global, order-dependent rule
# a keyed job cannot apply): given with --engine flink they are a usage error, not silently ignored.
_NOT_WITH_FLINK = (
    "store_url",
    "max_skew",
    "batch",
    "wait_for_store",
    "allow_orphans",
    "allow_rollback",
    "workers",
)


def _refuse_flink_clashes(ctx: click.Context) -> None:
    from click.core import ParameterSource

    for name in _NOT_WITH_FLINK:
        if ctx.get_parameter_source(name) in (None, ParameterSource.DEFAULT):
            continue
        value = ctx.params.get(name)
        if name == "store_url" and value in ("memory://", "memory:"):
            continue
        if name == "max_skew" and str(value).strip().lower() in ("none", "off"):
            continue
        option = "--" + {"store_url": "store", "wait_for_store": "wait"}.get(name, name).replace("_", "-")
        raise click.UsageError(f"{option} cannot be used with --engine flink (it keeps no store and applies no skew)")


def _run_flink(
    bundle: Path,
    events_path: Path,
    until: str | None,
    dead_path: Path | None,
    public_key: str | None,
    summary: bool,
    parallelism: int,
) -> None:
    """`run --engine flink`: the job on an in-process mini-cluster; records to stdout once it ends."""
    from journeydsl.flink import FlinkUnavailable, require_flink
    from journeydsl.runtime.bundle import BundleError
    from journeydsl.runtime.timeparse import TimeError, parse_time

    _refuse_flink_clashes(click.get_current_context())
    end: float | None = None
    if until is not None:
        try:
            end = parse_time(until)
        except TimeError as err:
            raise click.BadParameter(str(err), param_hint="--until") from err
    try:
        require_flink()
    except FlinkUnavailable as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    from journeydsl.flink.job import JobSpec
    from journeydsl.flink.local import DEAD, FlinkRunError, Pipeline, final_clock, run_pipelines

    try:
        spec = JobSpec.load(str(bundle), public_key=public_key, until=end)
    except BundleError as err:
        click.echo(f"error: refusing bundle {bundle}: {err}", err=True)
        sys.exit(1)
    counts = Summary()
    dead_sink = None
    try:
        if end is None:
            spec = dataclasses.replace(spec, until=final_clock(events_path, spec))
        out = _stdout()
        dead_sink = dead_path.open("wb") if dead_path is not None else None
        for _index, kind, text in run_pipelines([Pipeline(events_path, spec)], parallelism):
            if kind == DEAD:
                counts.dead += 1
                if dead_sink is not None:
                    dead_sink.write(text.encode() + b"\n")
                else:
                    click.echo(f"dead letter: {loads(text).get('reason')}", err=True)
                continue
            if summary:
                counts.add(loads(text))
            out.write(text.encode() + b"\n")
        out.flush()
    except FlinkRunError as err:
        click.echo(f"error: the Flink job failed: {err}", err=True)
        sys.exit(1)
    except OutputError as err:
        _drop_unwritten_output()
        click.echo(f"error: could not write records to standard output: {err}", err=True)
        sys.exit(1)
    except OSError as err:  # reading the events, writing the dead letters or standard output
        _drop_unwritten_output()
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    finally:
        if dead_sink is not None:
            try:
                dead_sink.close()
            except OSError:
                pass
    if summary:
        for text in counts.lines():
            click.echo(text, err=True)


COMMANDS: list[click.Command] = [run_command]
