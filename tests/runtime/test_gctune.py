"""runtime/gctune.py: the collector's thresholds for `run`, and `leave_to_exit`, which keeps a finished run's state
from being freed object by object on the way out (it is never freed: the process ends)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.runtime import Engine, gctune
from journeydsl.runtime.gctune import THRESHOLDS, leave_to_exit, relax_gc

ROOT = Path(__file__).resolve().parents[2]


class _Value:
    pass


def test_relax_gc_raises_the_thresholds_and_gives_the_old_ones() -> None:
    before = gc.get_threshold()
    try:
        assert relax_gc() == before
        assert gc.get_threshold() == THRESHOLDS
    finally:
        gc.set_threshold(*before)


def test_only_the_latest_value_is_kept() -> None:
    first, second = _Value(), _Value()
    first_ref, second_ref = weakref.ref(first), weakref.ref(second)
    leave_to_exit(first)
    del first
    gc.collect()
    assert first_ref() is not None  # kept, through a collection
    leave_to_exit(second)
    del second
    gc.collect()
    assert first_ref() is None and second_ref() is not None  # a process that runs again frees the one before


_EXIT = """
import os
import sys
from journeydsl.runtime.gctune import leave_to_exit, relax_gc

NOTES = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND)

class Noted:
    def __del__(self, write=os.write, notes=NOTES) -> None:  # bound now: at exit the modules are being cleared
        write(notes, b"freed")

if "relax" in sys.argv[2]:
    relax_gc()
value = Noted()
if "leave" in sys.argv[2]:
    leave_to_exit(value)
del value  # what `run` returning does to its engine
write = os.write
write(NOTES, b" end ")
"""


@pytest.mark.parametrize(
    ("how", "notes"),
    [
        ("relax leave", " end "),  # kept past `del`, and not freed at exit: the system takes the pages back
        ("relax", "freed end "),  # freed object by object when the caller lets go
        ("leave", " end freed"),  # without relax_gc's freeze: freed at exit
    ],
)
def test_a_left_value_is_never_freed_after_relax_gc(tmp_path: Path, how: str, notes: str) -> None:
    path = tmp_path / "notes"
    done = subprocess.run(
        [sys.executable, "-c", _EXIT, str(path), how], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert path.read_text() == notes


def test_run_leaves_its_closed_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    left: list[Any] = []
    monkeypatch.setattr(gctune, "leave_to_exit", left.append)
    before = gc.get_threshold()
    bundle, events = tmp_path / "b.jbundle", tmp_path / "events.jsonl"
    runner = CliRunner()
    try:
        assert runner.invoke(main, ["build", str(ROOT / "journeys"), "-o", str(bundle)]).exit_code == 0
        assert (
            runner.invoke(main, ["synth", str(ROOT / "journeys"), "--customers", "20", "-o", str(events)]).exit_code
            == 0
        )
        result = runner.invoke(main, ["run", str(bundle), "--events", str(events), "--workers", "1"])
    finally:
        gc.set_threshold(*before)
    assert result.exit_code == 0, result.stderr
    assert len(left) == 1 and isinstance(left[0], Engine)
