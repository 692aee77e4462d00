"""Records reach standard output before they count as delivered (issue 12, item B).

With unbuffered stdout (`python -u`, PYTHONUNBUFFERED) on a full disk, `run` marked records delivered
that were never written: a raw FileIO write may take only part of its bytes, and the rest was dropped.
Now every write is checked and completed; one that fails, or takes nothing, stops the run with
`error: could not write records to standard output: ...` (exit 1, no traceback) before the delivered
mark is committed, so the next run on the store prints those records again: at least once, none lost.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from runtime_support import build_bundle
from test_runtime_cli import JOURNEY
from test_runtime_crash import UNTIL, cli_command

import journeydsl.cli.run as run_module
from journeydsl.cli import main
from journeydsl.compile import write_bundle
from journeydsl.runtime.delivery import OutputError, write_all

ERROR = "error: could not write records to standard output: "


def _events(count: int) -> list[str]:
    lines = []
    for n in range(count):
        stamp = f"2026-01-{1 + n // 24:02d}T{n % 24:02d}:00:00Z"
        quote = {"id": f"q{n}", "type": "quote", "customer_id": f"c{n}", "at": stamp, "data": {"roof": n}}
        quote["profile"] = {"consent_email": n % 4 != 0, "email": f"c{n}@x"}
        lines.append(json.dumps(quote))
        if n % 3 == 0:
            signed = f"2026-01-{2 + n // 24:02d}T{n % 24:02d}:00:00Z"
            event = {"id": f"s{n}", "type": "signed", "customer_id": f"c{n}", "at": signed, "data": {"amount": n}}
            lines.append(json.dumps(event))
    return lines


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, dict[str, Any]]]:
    """The bundle, an events file, and the records of an uninterrupted run by key."""
    root = tmp_path_factory.mktemp("delivery")
    bundle = write_bundle(build_bundle(root / "src", [JOURNEY]), root / "b.jbundle")
    events = root / "events.jsonl"
    events.write_text("".join(line + "\n" for line in _events(120)), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["run", str(bundle), "--events", str(events), "--store", f"sqlite:///{root / 'ref.db'}", "--until", UNTIL]
    )
    assert result.exit_code == 0, result.output
    reference = _by_key(result.stdout_bytes)
    assert len(reference) > 300
    return bundle, events, reference


def _by_key(output: bytes, complete_only: bool = False) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    lines = output.split(b"\n")
    for line in lines[:-1] if complete_only or not output.endswith(b"\n") else lines:
        if line.strip():
            record = json.loads(line)
            found.setdefault(str(record["key"]), record)
    return found


def _run_args(bundle: Path, events: Path, store: str, *extra: str) -> list[str]:
    return ["run", str(bundle), "--events", str(events), "--store", store, "--until", UNTIL, *extra]


# ---- a real full disk: /dev/full answers every write with ENOSPC


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["raw-stdout", "buffered-stdout"])
@pytest.mark.parametrize("batch", ["1", "50"])
def test_a_full_disk_stops_the_run_and_the_next_run_prints_every_record(
    setup: tuple[Path, Path, dict[str, dict[str, Any]]], tmp_path: Path, unbuffered: str, batch: str
) -> None:
    bundle, events, reference = setup
    store = f"sqlite:///{tmp_path / 's.db'}"
    command = cli_command(*_run_args(bundle, events, store, "--batch", batch))
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    with open("/dev/full", "wb") as full:
        failed = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, env=env, timeout=300)
    message = failed.stderr.decode()
    assert failed.returncode == 1, message
    assert message == ERROR + "No space left on device\n"  # no traceback, no "Exception ignored" at exit
    again = subprocess.run(command, capture_output=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _by_key(again.stdout) == reference  # nothing was marked delivered: every record comes out now


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_on_memory_store_is_a_clear_error(setup: tuple[Path, Path, dict[str, dict[str, Any]]]) -> None:
    bundle, events, _ = setup
    command = cli_command("run", bundle, "--events", events)
    with open("/dev/full", "wb") as full:
        failed = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, timeout=300)
    assert failed.returncode == 1 and failed.stderr.decode() == ERROR + "No space left on device\n"


# ---- a raw stream that takes part of each write (API level: the command's stream is replaced)


class PartialRaw(io.RawIOBase):
    """A raw stream like FileIO on a filling disk: each write takes at most `chunk` bytes; once `room` bytes are
    taken, a write fails with ENOSPC (or, with `stall`, takes nothing)."""

    def __init__(self, chunk: int, room: int | None = None, stall: bool = False) -> None:
        self.data = bytearray()
        self.chunk, self.room, self.stall = chunk, room, stall
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.calls += 1
        view = memoryview(b).cast("B")
        take = min(self.chunk, len(view))
        if self.room is not None:
            left = self.room - len(self.data)
            if left <= 0:
                if self.stall:
                    return 0
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            take = min(take, left)
        self.data += view[:take]
        return take


def _invoke_with(stream: PartialRaw, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> Any:
    monkeypatch.setattr(run_module, "_stdout", lambda: stream)
    try:
        return CliRunner().invoke(main, args)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("batch", ["1", "7"])
def test_partial_writes_are_completed(
    setup: tuple[Path, Path, dict[str, dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: str
) -> None:
    bundle, events, reference = setup
    stream = PartialRaw(chunk=97)
    store = f"sqlite:///{tmp_path / 's.db'}"
    result = _invoke_with(stream, monkeypatch, _run_args(bundle, events, store, "--batch", batch))
    assert result.exit_code == 0, result.output
    assert stream.calls > len(reference)  # most records took several writes
    assert _by_key(bytes(stream.data)) == reference
    again = CliRunner().invoke(main, _run_args(bundle, events, store))
    assert again.exit_code == 0 and again.stdout == ""  # all delivered, nothing twice


@pytest.mark.parametrize("stall", [False, True], ids=["enospc", "no-progress"])
@pytest.mark.parametrize("store_kind", ["sqlite", "memory"])
def test_a_disk_filling_up_mid_run_loses_no_record(
    setup: tuple[Path, Path, dict[str, dict[str, Any]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stall: bool,
    store_kind: str,
) -> None:
    bundle, events, reference = setup
    stream = PartialRaw(chunk=1000, room=20_000, stall=stall)  # a few dozen records fit
    store = f"sqlite:///{tmp_path / 's.db'}" if store_kind == "sqlite" else "memory://"
    failed = _invoke_with(stream, monkeypatch, _run_args(bundle, events, store, "--batch", "3"))
    assert failed.exit_code == 1
    reason = "no bytes were written" if stall else "No space left on device"
    assert failed.stderr == ERROR + reason + "\n" and isinstance(failed.exception, SystemExit)
    assert len(stream.data) == 20_000
    if store_kind == "memory":
        return  # memory:// keeps nothing: the run is simply to be done again
    first = _by_key(bytes(stream.data), complete_only=True)
    assert first and len(first) < len(reference)
    again = CliRunner().invoke(main, _run_args(bundle, events, store))
    assert again.exit_code == 0, again.output
    second = _by_key(again.stdout_bytes)
    # At least once and none lost: the records that were cut off come again, with everything after them.
    assert {**first, **second} == reference
    assert set(reference) - set(first) <= set(second)


def test_write_all_completes_or_raises() -> None:
    stream = PartialRaw(chunk=3)
    write_all(stream, b"0123456789")  # type: ignore[arg-type]
    assert bytes(stream.data) == b"0123456789" and stream.calls == 4
    with pytest.raises(OutputError, match="No space left on device"):
        write_all(PartialRaw(chunk=3, room=5), b"0123456789")  # type: ignore[arg-type]
    with pytest.raises(OutputError, match="no bytes were written"):
        write_all(PartialRaw(chunk=3, room=5, stall=True), b"0123456789")  # type: ignore[arg-type]
