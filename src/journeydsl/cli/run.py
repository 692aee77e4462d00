"""`journeydsl run`: events from a JSONL file through the runtime, action records to standard output.

With a durable store the records come from the outbox: printed once committed, then marked
delivered (the mark is written with the next commit), so a run restarted after a crash first prints
what was committed but not yet delivered, and then skips the events the store has already seen.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import IO, Any

import click

from journeydsl.runtime.jsonio import DecodeError, dumps, dumps_lines, loads


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
) -> None:
    """Run EVENTS through BUNDLE and print one JSON action record per line."""
    from journeydsl.runtime import Engine, EngineError, MemoryStore, Store, StoreError
    from journeydsl.runtime.bundle import BundleError
    from journeydsl.runtime.gctune import relax_gc
    from journeydsl.runtime.timeparse import TimeError, parse_time

    if until is not None:
        try:
            parse_time(until)
        except TimeError as err:
            raise click.BadParameter(str(err), param_hint="--until") from err
    skew = _skew_seconds(max_skew)
    # memory:// keeps nothing once the run ends: print what `process` returns and keep no record log.
    store_arg: str | Store = MemoryStore(keep_log=False) if store_url in ("memory://", "memory:") else store_url
    try:
        engine = Engine.open(bundle, store=store_arg, public_key=public_key, batch=batch, until=until, max_skew=skew)
    except BundleError as err:
        click.echo(f"error: refusing bundle {bundle}: {err}", err=True)
        sys.exit(1)
    except (EngineError, StoreError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    relax_gc()
    counts = Summary()
    out = sys.stdout.buffer
    store = engine.store

    # A durable store marks what it hands out as delivered with its next commit, so its records must
    # reach standard output before that commit: deliver after each event and flush. memory:// keeps
    # nothing across runs: its records are written in large chunks, flushed at the end.
    durable = store.durable
    pending: list[dict[str, Any]] = []

    def write(records: list[dict[str, Any]], lines: bytes | None = None) -> None:
        out.write(dumps_lines(records) if lines is None else lines)
        if summary:
            for record in records:
                counts.add(record)

    def deliver() -> None:
        if durable:
            records, lines = store.take_deliverable_lines()  # SQLite hands out the bytes its outbox holds
            if records:
                write(records, lines)
                out.flush()
        elif pending:
            write(pending)
            pending.clear()

    dead_sink = dead_path.open("wb") if dead_path is not None else None
    try:
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
        out.flush()
        engine.close()
    except StoreError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    finally:
        if dead_sink is not None:
            dead_sink.close()
    if summary:
        for text in counts.lines():
            click.echo(text, err=True)


COMMANDS: list[click.Command] = [run_command]
