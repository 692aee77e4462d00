"""What `journeydsl run` shows a person (issue 17): a progress bar on a terminal, at most DEAD_SHOWN dead letters
on standard error and a count of the rest, and summary figures as plain numbers."""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner
from runtime_support import build_bundle

from journeydsl.cli import main
from journeydsl.cli.run import DEAD_SHOWN, Progress
from journeydsl.compile import write_bundle
from journeydsl.runtime.delivery import Summary, plain_number

JOURNEY = """
schema s {
  profile { email: string }
  event signup { plan: string }
  channel email { cost 0.001 }
}
journey hello {
  version 1
  owner "o@x"
  uses s
  entry on signup
  goal signed on signup value 1500000
  stage main {
    step hi { send email hi -> done }
    step done { end done }
  }
}
"""


def _bundle(tmp_path: Path) -> Path:
    return write_bundle(build_bundle(tmp_path / "src", [JOURNEY]), tmp_path / "b.jbundle")


def test_thousands_of_dead_letters_are_counted_not_printed(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    bad = [
        json.dumps({"id": f"e{n}", "type": "nope", "customer_id": "c", "at": "2026-01-01T00:00:00Z"})
        for n in range(2000)
    ]
    events.write_text("\n".join(bad) + "\n")
    result = CliRunner().invoke(main, ["run", str(_bundle(tmp_path)), "--events", str(events)])
    assert result.exit_code == 0
    shown = [line for line in result.stderr.splitlines() if "dead letter:" in line]
    assert len(shown) == DEAD_SHOWN
    assert f"and {2000 - DEAD_SHOWN:,} more dead letter(s) (2,000 in all)" in result.stderr
    kept = tmp_path / "dead.jsonl"
    result = CliRunner().invoke(
        main, ["run", str(_bundle(tmp_path)), "--events", str(events), "--dead-letter", str(kept)]
    )
    assert result.exit_code == 0 and len(kept.read_text().splitlines()) == 2000  # the file keeps every one


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_shows_on_a_terminal_only(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"x" * (Progress.STEP * 3))
    terminal = _Terminal()
    bar = Progress(events, terminal)
    for _ in range(3):
        bar.advance(Progress.STEP)
    bar.close()
    assert "events" in terminal.getvalue() and "100%" in terminal.getvalue()
    pipe = io.StringIO()
    quiet = Progress(events, pipe)
    quiet.advance(Progress.STEP * 3)
    quiet.close()
    assert pipe.getvalue() == ""


def test_the_summary_prints_plain_numbers(tmp_path: Path) -> None:
    assert plain_number(1_500_000.0) == "1,500,000" and plain_number(12.345) == "12.35" and plain_number(0.0) == "0"
    summary = Summary()
    summary.add({"kind": "goal", "journey": "hello", "goal": "signed", "value": 1_500_000})
    assert any("(value 1,500,000)" in line for line in summary.lines())
    assert not any("e+" in line for line in summary.lines())
