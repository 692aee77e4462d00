"""One process owns a SQLite store at a time (issue 12, item A).

Two `journeydsl run`s on one store used to run side by side, each writing back its own in-memory copy of
the state: the first one's compaction deleted the second one's customers, whose event ids stayed "seen",
so a re-run changed nothing. Now the second run fails at once (exit 1, naming the owner) or, with
`--wait`, runs once the first is done; a killed owner frees the store; `report` and `render --overlay`
read a store in use.

The first run is held open deterministically by reading its events from a FIFO the test writes to.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from click.testing import CliRunner
from runtime_support import build_bundle
from test_runtime_cli import JOURNEY
from test_runtime_crash import CLI, UNTIL, sqlite_run_command

from journeydsl.cli import main
from journeydsl.compile import write_bundle
from journeydsl.runtime import SqliteStore, StoreError, open_store
from journeydsl.runtime.store import StoreBusyError

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs and flock")

BUSY = "is in use by another journeydsl process"


def _events(prefix: str, count: int, start: int = 0) -> list[str]:
    """Quotes for customers `{prefix}0..`, half of them signing a day later, an hour apart."""
    lines = []
    for n in range(start, start + count):
        day, hour = 1 + n // 24, n % 24
        stamp = f"2026-01-{day:02d}T{hour:02d}:00:00Z"
        event: dict[str, Any] = {"id": f"{prefix}-q{n}", "type": "quote", "customer_id": f"{prefix}{n}", "at": stamp}
        event["data"] = {"roof": n % 50}
        event["profile"] = {"consent_email": n % 3 != 0, "email": f"{prefix}{n}@x"}
        lines.append(json.dumps(event))
        if n % 2:
            signed = f"2026-01-{day + 1:02d}T{hour:02d}:00:00Z"
            lines.append(
                json.dumps(
                    {"id": f"{prefix}-s{n}", "type": "signed", "customer_id": f"{prefix}{n}", "at": signed}
                    | {"data": {"amount": 100 + n}}
                )
            )
    return lines


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("owner")
    return write_bundle(build_bundle(root / "src", [JOURNEY]), root / "b.jbundle")


def _keys(output: str | bytes) -> dict[str, dict[str, Any]]:
    text = output.decode() if isinstance(output, bytes) else output
    found: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        record = json.loads(line)
        found.setdefault(str(record["key"]), record)
    return found


def _file(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@contextmanager
def _held_run(
    bundle: Path, tmp_path: Path, store: Path, first: list[str], rest: list[str], cli: str = CLI
) -> Iterator[tuple[subprocess.Popen[bytes], list[bytes], IO[bytes]]]:
    """A `run` reading its events from a FIFO: it takes `first`, prints their records and then waits, holding the
    store, for the test to write more into the FIFO it is handed (closing it ends the run's input)."""
    fifo = tmp_path / f"events-{time.monotonic_ns()}.fifo"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        sqlite_run_command(bundle, fifo, store, "--batch", "2", "--until", UNTIL, cli=cli),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    # The run opens its events once it owns the store; a run that failed before would leave a blocking open hanging.
    deadline = time.monotonic() + 120
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:  # ENXIO: no reader yet
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    os.set_blocking(fd, True)
    writer = os.fdopen(fd, "wb")
    try:
        writer.write("".join(line + "\n" for line in first).encode())
        writer.flush()
        printed = [process.stdout.readline()]  # the first record: the run is past its first event
        assert printed[0], process.stderr.read() if process.stderr else b""
        yield process, printed, writer
    finally:
        if not writer.closed:
            writer.write("".join(line + "\n" for line in rest).encode())
            writer.close()
        printed.append(process.stdout.read())
        process.wait(timeout=120)
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()


def test_a_second_run_fails_at_once_and_both_complete_in_turn(bundle: Path, tmp_path: Path) -> None:
    """The scenario of the issue: a second run on a store in use fails at once, cannot overwrite the first's
    customers (nor they its), and run again afterwards it gives exactly what running one after the other gives."""
    first = _events("a", 60)
    second = _file(tmp_path / "second.jsonl", _events("b", 40))
    reference_store = tmp_path / "reference.db"
    reference: dict[str, dict[str, Any]] = {}
    for events in (_file(tmp_path / "first.jsonl", first), second):
        done = subprocess.run(
            sqlite_run_command(bundle, events, reference_store, "--batch", "2", "--until", UNTIL), capture_output=True
        )
        assert done.returncode == 0, done.stderr
        reference |= _keys(done.stdout)

    store = tmp_path / "state.db"
    with _held_run(bundle, tmp_path, store, first[:5], first[5:]) as (owner, printed, _):
        started = time.monotonic()
        # The owner waits on its FIFO until this block ends: a run that waited for it would time out here.
        refused = subprocess.run(
            sqlite_run_command(bundle, second, store, "--batch", "2", "--until", UNTIL), capture_output=True, timeout=60
        )
        assert time.monotonic() - started < 30
        assert refused.returncode == 1 and refused.stdout == b""
        message = refused.stderr.decode()
        assert f"error: store sqlite:///{store} {BUSY} (pid {owner.pid} on host {socket.gethostname()})" in message
        assert message.rstrip().endswith("wait for it or pass --wait") and "Traceback" not in message
    assert owner.returncode == 0, owner.stderr
    again = subprocess.run(
        sqlite_run_command(bundle, second, store, "--batch", "2", "--until", UNTIL), capture_output=True
    )
    assert again.returncode == 0, again.stderr
    combined = _keys(b"".join(printed)) | _keys(again.stdout)
    assert combined == reference
    # Nothing was lost: every customer of both runs is in the store, and a third run has nothing left to do.
    reopened = open_store(f"sqlite:///{store}")
    assert {f"a{n}" for n in range(60)} | {f"b{n}" for n in range(40)} <= {cid for cid, _ in reopened.scan()}
    reopened.close()
    rerun = subprocess.run(sqlite_run_command(bundle, second, store, "--until", UNTIL), capture_output=True)
    assert rerun.returncode == 0 and rerun.stdout == b""


def test_wait_runs_once_the_owner_is_done(bundle: Path, tmp_path: Path) -> None:
    first = _events("a", 30)
    second = _file(tmp_path / "second.jsonl", _events("b", 20))
    store = tmp_path / "state.db"
    with _held_run(bundle, tmp_path, store, first[:3], first[3:]) as (owner, printed, writer):
        waiting = subprocess.Popen(
            sqlite_run_command(bundle, second, store, "--until", UNTIL, "--wait"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert waiting.stderr is not None
        note = waiting.stderr.readline().decode()
        assert note.startswith(f"note: store sqlite:///{store} {BUSY} (pid {owner.pid} ") and "waiting" in note
        time.sleep(0.5)
        assert waiting.poll() is None  # still waiting while the owner runs
        writer.write("".join(line + "\n" for line in first[3:]).encode())
        writer.close()  # the owner reads the rest, finishes and lets go
        out, err = waiting.communicate(timeout=120)
    assert owner.returncode == 0
    assert waiting.returncode == 0, err
    records = _keys(out)
    assert records and {r["customer_id"] for r in records.values()} == {f"b{n}" for n in range(20)}
    assert _keys(b"".join(printed))  # the owner's own records were printed as well


def test_a_killed_owner_leaves_the_store_free(bundle: Path, tmp_path: Path) -> None:
    first = _events("a", 30)
    store = tmp_path / "state.db"
    with _held_run(bundle, tmp_path, store, first[:3], []) as (owner, printed, writer):
        waiting = subprocess.Popen(
            sqlite_run_command(bundle, _file(tmp_path / "all.jsonl", first), store, "--until", UNTIL, "--wait"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert waiting.stderr is not None and "waiting" in waiting.stderr.readline().decode()
        os.kill(owner.pid, signal.SIGKILL)
        out, err = waiting.communicate(timeout=120)  # the kernel dropped the lock with the process
        writer.close()
    assert owner.returncode == -signal.SIGKILL
    assert waiting.returncode == 0, err
    reference = subprocess.run(
        sqlite_run_command(bundle, tmp_path / "all.jsonl", tmp_path / "ref.db", "--until", UNTIL), capture_output=True
    )
    # At least once: what the killed owner printed and what the next run printed cover every record.
    assert set(_keys(b"".join(printed)) | _keys(out)) == set(_keys(reference.stdout))


def test_report_and_overlay_read_a_store_in_use(bundle: Path, tmp_path: Path) -> None:
    store = tmp_path / "state.db"
    url = f"sqlite:///{store}"
    first = _events("a", 40)
    with _held_run(bundle, tmp_path, store, first[:20], first[20:]) as (_, printed, _):
        # 20 events, a commit every 2: once all 20 ids are committed the owner is idle, waiting on its FIFO.
        deadline = time.monotonic() + 120
        while _seen(url) < 20:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        rows_before = _rows(store)
        report = CliRunner().invoke(main, ["report", "--store", url, "--format", "json"])
        assert report.exit_code == 0, report.output
        (journey,) = json.loads(report.stdout)["journeys"]
        assert journey["entries"] == sum('"quote"' in line for line in first[:20])
        project = tmp_path / "src" / "case0" / "case.journey"
        project.parent.mkdir(parents=True)
        project.write_text(JOURNEY, encoding="utf-8")
        templates = tmp_path / "src" / "templates"
        (templates / "messages" / "email").mkdir(parents=True)
        (templates / "messages" / "email" / "hello.j2").write_text("hi", encoding="utf-8")
        args = ["render", str(project), "--templates", str(templates), "-o", str(tmp_path / "d"), "--format", "dot"]
        overlay = CliRunner().invoke(main, [*args, "--overlay", url])
        assert overlay.exit_code == 0, overlay.output
        assert "reached" in (tmp_path / "d" / "solar.dot").read_text()
        assert _rows(store) == rows_before  # the readers wrote nothing behind the owner
    assert len(_keys(b"".join(printed))) > 0


def _seen(url: str) -> int:
    """How many of the event ids of `_events("a", 40)` the store has committed (read by a read-only copy)."""
    reader = open_store(url, mode="read")
    try:
        return sum(reader.seen_before(f"a-{kind}{n}") for n in range(40) for kind in "qs")
    finally:
        reader.close()


def _rows(store: Path) -> list[tuple[Any, ...]]:
    """Every customers row and the meta table."""
    import sqlite3

    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT id, state, profile, due FROM customers ORDER BY id").fetchall()
        rows += db.execute("SELECT k, v, NULL, NULL FROM meta ORDER BY k").fetchall()
    db.close()
    return rows


# ---- the API: open_store's modes


def test_open_modes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    owner = open_store(url, mode="write")
    assert isinstance(owner, SqliteStore) and not owner.read_only
    owner.save("c1", {"p": {"email": "x"}, "i": {}, "c": {}}, None, True)
    owner.flush()
    started = time.monotonic()
    with pytest.raises(StoreBusyError, match=f"{BUSY} \\(pid {os.getpid()} on host "):
        open_store(url, mode="write", wait=0.3)
    assert 0.3 <= time.monotonic() - started < 5
    # Opened beside the owner: a snapshot of what it committed, which refuses to write.
    reader = open_store(url)
    assert isinstance(reader, SqliteStore) and reader.read_only
    assert dict(reader.scan()) == {"c1": {"p": {"email": "x"}, "i": {}, "c": {}}}
    reader.add_seen("e1", 1.0)
    with pytest.raises(StoreError, match=f"{BUSY}.*cannot commit"):
        reader.flush()
    with pytest.raises(StoreError, match="cannot commit its changes, which are dropped"):
        reader.close()
    explicit = open_store(url, mode="read")
    assert isinstance(explicit, SqliteStore) and explicit.read_only and list(explicit.transitions()) == []
    explicit.close()
    owner.close()
    # Free again: "auto" owns it, and a reader in mode "read" still never does.
    again = open_store(url)
    assert isinstance(again, SqliteStore) and not again.read_only
    reader = open_store(url, mode="read")
    assert isinstance(reader, SqliteStore) and reader.read_only
    reader.close()
    again.close()
    with pytest.raises(StoreError, match="no store at"):
        open_store(f"sqlite:///{tmp_path / 'none.db'}", mode="read")
    assert not (tmp_path / "none.db").exists()


def test_the_lock_goes_with_the_connection(tmp_path: Path) -> None:
    """A store whose connection is closed (as a crash drops it) or that is dropped unclosed frees the store."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = open_store(url, mode="write")
    assert isinstance(first, SqliteStore)
    first._db.close()
    second = open_store(url, mode="write")
    del second
    gc.collect()  # a sqlite3 connection is in a reference cycle (its statement cache): the collector frees it
    third = open_store(url, mode="write")
    third.abandon()
    open_store(url, mode="write").close()


def test_a_reader_sees_one_snapshot_while_the_owner_commits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    owner = open_store(url, mode="write")
    owner.log_transitions([("j", 1, "c1", "c1/j/1", None, "a", 1.0, None)])
    owner.flush()
    reader = open_store(url, mode="read")
    committed = threading.Event()

    def commit_more() -> None:
        owner.log_transitions([("j", 1, "c2", "c2/j/1", None, "a", 2.0, None)])
        owner.flush()
        committed.set()

    thread = threading.Thread(target=commit_more)
    thread.start()
    thread.join(timeout=30)
    assert committed.is_set()  # the reader did not block the owner's commit
    assert [t["customer_id"] for t in reader.transitions()] == ["c1"]  # ... nor see it
    reader.close()
    owner.close()
