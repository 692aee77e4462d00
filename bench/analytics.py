"""Analytics on a big store: `journeydsl report`'s and `render --overlay`'s counts against a plain GROUP BY.

Builds a SQLite store of N action records (default 1,000,000) and their transitions through the store's own
commit path (the records of a journey run generated directly, no engine: enter, sends by email and SMS as sent,
delayed or suppressed, goals with values, ends and exits), then times, in the same run and best of rounds taken
in turns:
- report: the whole report (analytics.report.report_from_store: the store's record and transition aggregates
  folded into the report's figures), the store opened read-only as `journeydsl report` opens it;
- overlay: `render --overlay`'s counts per journey version (analytics.overlay.overlay_counts_from_store);
- the plain GROUP BY: `SELECT kind, count(*) ... GROUP BY` over the same records and the same transitions, with
  SQLite's JSON functions (the records as a table of their JSON lines, one row each, beside the store: the
  store itself keeps them as pages of JSON Lines, which SQL cannot split);
- with --loops, also a Python pass over every record, as the report ran before (report.build_report on the
  store's transitions and records, read into lists).
Target (issue 18): report and overlay within 2x of the plain GROUP BY and under 2 s wall.

    python -m bench.analytics [--records N] [--rounds R] [--loops] [--store PATH]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from journeydsl.analytics.overlay import overlay_counts_from_store
from journeydsl.analytics.report import report_from_store
from journeydsl.runtime.store import Transition
from journeydsl.runtime.store_sqlite import SqliteStore
from journeydsl.runtime.stores import open_store

START = 1767225600.0  # 2026-01-01T00:00:00Z
JOURNEYS = ("onboarding", "winback", "renewal")
PLAIN_OUTBOX = "SELECT json_extract(record, '$.kind'), count(*) FROM plain_outbox GROUP BY 1"
PLAIN_TRANSITIONS = (
    "SELECT json_extract(t.value, '$[5]'), count(*) FROM transition_batches AS b,"
    " json_each(CAST(b.rows AS TEXT)) AS t GROUP BY 1"
)
TARGET_RATIO, TARGET_SECONDS = 2.0, 2.0


def instance_records(n: int) -> tuple[list[dict[str, Any]], list[Transition]]:
    """One journey instance's records (5 or 6) and transitions (4), varied deterministically by `n`."""
    journey, customer = JOURNEYS[n % 3], f"c{n // 2}"
    version = 1 + n % 2
    instance, at = f"{customer}/{journey}/{version}", START + n
    base = {"journey": journey, "version": version, "customer_id": customer, "instance": instance}
    status = ("sent", "delayed", "suppressed")[n % 3]
    records: list[dict[str, Any]] = [
        {"kind": "enter", **base, "step": "welcome", "key": f"{instance}:welcome:0"},
        {"kind": "send", **base, "step": "welcome", "key": f"{instance}:welcome:1", "channel": "email",
         "status": status, "cost": 0.002, "template": "welcome", "body": "Subject: Hi\n\nWelcome"},
        {"kind": "send", **base, "step": "nudge", "key": f"{instance}:nudge:2", "channel": "sms",
         "status": "sent", "cost": 0.04, "template": "nudge", "body": "Last chance"},
    ]  # fmt: skip
    steps: list[tuple[str | None, str]] = [(None, "welcome"), ("welcome", "nudge"), ("nudge", "wait")]
    if n % 4 == 0:
        records.append({"kind": "goal", **base, "key": f"{instance}:goal:3", "goal": "signed", "value": 10 + n % 90})
        records.append({"kind": "end", **base, "key": f"{instance}:done:4", "outcome": "won"})
        steps.append(("wait", "done"))
    elif n % 4 == 1:
        records.append({"kind": "exit", **base, "key": f"{instance}:exit:3", "outcome": "unsubscribed"})
        steps.append(("wait", "wait"))
    else:
        records.append({"kind": "end", **base, "key": f"{instance}:lost:3", "outcome": "lost"})
        steps.append(("wait", "lost"))
    transitions: list[Transition] = [(journey, version, customer, instance, a, b, at, None) for a, b in steps]
    return records, transitions


def build(path: Path, records: int) -> tuple[int, int, float]:
    """A store of about `records` records, written through SqliteStore's commits (aggregates included): (records,
    transitions, seconds)."""
    began = time.perf_counter()
    store = SqliteStore(str(path), batch=1000)
    written = moved = n = 0
    while written < records:
        out, steps = instance_records(n)
        store.log_actions(out)
        store.log_transitions(steps)
        store.end_unit()
        written, moved, n = written + len(out), moved + len(steps), n + 1
    store.close()
    seconds = time.perf_counter() - began
    with sqlite3.connect(path) as db:  # the plain GROUP BY's table: the same records, a row each
        db.execute("CREATE TABLE plain_outbox (seq INTEGER PRIMARY KEY, record BLOB NOT NULL)")
        for first, lines in db.execute("SELECT first, lines FROM outbox_pages").fetchall():
            db.executemany(
                "INSERT INTO plain_outbox (seq, record) VALUES (?, ?)", enumerate(lines.split(b"\n")[:-1], first)
            )
    db.close()
    return written, moved, seconds


def report_aggregates(url: str) -> int:
    store = open_store(url, mode="read")
    try:
        return len(report_from_store(store)["journeys"])
    finally:
        store.close()


def overlay(url: str) -> int:
    return len(overlay_counts_from_store(url))


def plain_group_by(path: Path) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return len(db.execute(PLAIN_OUTBOX).fetchall()) + len(db.execute(PLAIN_TRANSITIONS).fetchall())
    finally:
        db.close()


def loops(url: str) -> int:
    from journeydsl.analytics.report import build_report

    store = open_store(url, mode="read")
    try:
        return len(build_report(list(store.transitions()), list(store.actions()))["journeys"])
    finally:
        store.close()


def best_of(rounds: int, measured: dict[str, Callable[[], int]]) -> dict[str, float]:
    """Wall seconds of each measured call, best of `rounds`, the calls taken in turns within each round."""
    best = dict.fromkeys(measured, float("inf"))
    for _ in range(rounds):
        for name, call in measured.items():
            began = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - began)
    return best


def verdict(name: str, seconds: float, baseline: float) -> bool:
    ratio = seconds / baseline if baseline > 0 else float("inf")
    ok = ratio <= TARGET_RATIO and seconds < TARGET_SECONDS
    print(
        f"  {name}: {seconds:.4f} s, {ratio:.3f}x the plain GROUP BY  "
        f"({'within' if ok else 'OVER'} the target: <= {TARGET_RATIO:g}x and < {TARGET_SECONDS:g} s wall)"
    )
    return ok


def positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=positive, default=1_000_000, help="action records in the store")
    parser.add_argument("--rounds", type=positive, default=3, help="rounds taken in turns; the best counts")
    parser.add_argument("--loops", action="store_true", help="also time report.py's loops over every record")
    parser.add_argument("--store", type=Path, help="build the store here (a new file) instead of a temporary one")
    options = parser.parse_args(argv)
    if options.store is not None and options.store.exists():
        parser.error(f"--store {options.store} exists already: give a new file")
    with tempfile.TemporaryDirectory(prefix="bench-analytics-") as folder:
        path = options.store or Path(folder) / "analytics.db"
        records, transitions, seconds = build(path, options.records)
        url = f"sqlite:///{path}"
        print(f"store: {records:,} records, {transitions:,} transitions, built in {seconds:.1f} s ({path.name})")
        measured: dict[str, Callable[[], int]] = {
            "plain GROUP BY": lambda: plain_group_by(path),
            "report aggregates": lambda: report_aggregates(url),
            "overlay counts": lambda: overlay(url),
        }
        if options.loops:
            measured["report loops (before)"] = lambda: loops(url)
        best = best_of(options.rounds, measured)
        baseline = best["plain GROUP BY"]
        print(f"plain GROUP BY (outbox kinds + transition steps, JSON functions): {baseline:.4f} s")
        ok = verdict("report aggregates", best["report aggregates"], baseline)
        ok = verdict("overlay counts", best["overlay counts"], baseline) and ok
        if options.loops:
            print(f"  report loops (before): {best['report loops (before)']:.2f} s")
        print(f"verdict: {'PASS' if ok else 'FAIL'} (best of {options.rounds} rounds, wall time)")
        print(f"command: python -m bench.analytics {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())


if __name__ == "__main__":
    main()
