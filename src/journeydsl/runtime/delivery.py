"""Delivery: the action records of a run, from the store to a byte stream, at least once and none lost.

Where it sits: in the runtime, above the engine's store interface (store.py) and below any command that runs
events (`journeydsl run` in cli/run.py; a later `serve`); it imports nothing of the front end nor click.

With a durable store the records come from its outbox: written once committed, then marked delivered, and the mark
is written with the store's next commit. So a record counts as delivered only when all its bytes were written and
flushed (`write_all`, `flush`) before that commit: a write that fails raises OutputError, and the caller must then
`store.abandon()` instead of committing, so the next run hands those records out again. A run restarted after a
crash first delivers what was committed but not yet delivered (`Delivery.deliver` before the first event).
memory:// keeps nothing across runs, so its records are simply collected and written in large chunks.
"""

from __future__ import annotations

from collections import Counter
from typing import IO, Any

from journeydsl.runtime.jsonio import dumps_lines
from journeydsl.runtime.store import Store

# memory:// records collected before they are written: large writes, bounded memory.
CHUNK_RECORDS = 4096


class OutputError(Exception):
    """Records could not be written to the output stream (the message says why)."""


def write_all(out: IO[bytes], data: bytes | memoryview) -> None:
    """Write all of `data` or raise OutputError. Under `python -u` (or PYTHONUNBUFFERED) `sys.stdout.buffer` is a
    raw FileIO, whose write may take only part of the bytes (a full disk, a signal): the rest is written again, and
    a write that takes nothing, or fails, stops the run, so no record counts as delivered that was not written."""
    try:
        written = out.write(data)
        if written == len(data):
            return
        view = memoryview(data)
        while True:
            if written is None:
                raise OutputError("standard output is non-blocking and would block")
            if written <= 0:
                raise OutputError("no bytes were written")
            view = view[written:]
            if not view:
                return
            written = out.write(view)
    except OSError as err:
        raise OutputError(err.strerror or str(err)) from err


def flush(out: IO[bytes]) -> None:
    try:
        out.flush()
    except OSError as err:
        raise OutputError(err.strerror or str(err)) from err


def plain_number(value: float) -> str:
    """A sum as people read it: digits grouped, at most two decimals, never an exponent (1.5e+06 is 1,500,000)."""
    text = f"{value:,.2f}"
    return text[:-3] if text.endswith(".00") else text


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
            (f"goals    {name}", f"{n} (value {plain_number(self.goal_value.get(name, 0.0))})")
            for name, n in sorted(self.goals.items())
        ]
        rows += [(f"ends     {name}", str(n)) for name, n in sorted(self.ends.items())]
        rows += [("errors", str(self.errors)), ("dead letters", str(self.dead))]
        width = max(len(label) for label, _ in rows)
        return [f"{label.ljust(width)}  {value}" for label, value in rows]


class Delivery:
    """The records of one run on `store`, written to `out` as JSON Lines (and counted in `summary`, if given).

    The caller tells it what the engine returned: `event_done` after each event and each piece of an advance
    (`Engine.advance_chunks`), `finish` at the end; then closing the engine commits the delivered mark. Any
    exception from here (OutputError) or from the store means: `store.abandon()`, commit nothing."""

    def __init__(self, store: Store, out: IO[bytes], summary: Summary | None = None) -> None:
        self.store = store
        self.out = out
        self.summary = summary
        # A durable store marks what it hands out as delivered with its next commit, so its records must reach the
        # stream before that commit: deliver after each event and flush.
        self.durable = store.durable
        self._pending: list[dict[str, Any]] = []

    def _write(self, records: list[dict[str, Any]], lines: bytes | None = None) -> None:
        write_all(self.out, dumps_lines(records) if lines is None else lines)
        if self.summary is not None:
            for record in records:
                self.summary.add(record)

    def deliver(self) -> None:
        """Write what is ready: a durable store's committed, undelivered records (flushed), or memory's collected
        ones."""
        if self.durable:
            records, lines = self.store.take_deliverable_lines()  # SQLite hands out the bytes its outbox holds
            if records:
                self._write(records, lines)
                flush(self.out)
        elif self._pending:
            self._write(self._pending)
            self._pending.clear()

    def event_done(self, records: list[dict[str, Any]]) -> None:
        """One event was processed and gave `records`."""
        if self.durable:
            self.deliver()
        elif records:
            self._pending += records
            if len(self._pending) >= CHUNK_RECORDS:
                self.deliver()

    def finish(self) -> None:
        """Commit the store's pending work, then write and flush every record it left undelivered."""
        self.store.flush()
        self.deliver()
        flush(self.out)
