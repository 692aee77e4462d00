"""Crash safety of `journeydsl run` on SQLite: SIGKILL at random points, re-run to the end; the records of all
runs, taken once per key, equal those of an uninterrupted run, and no key is missing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from runtime_support import build_bundle

from journeydsl.compile import write_bundle

JOURNEY = """
schema s {
  profile { email: string  consent_email: bool }
  event quote { roof: number }
  event signed { amount: number }
  event unsubscribed {}
  channel email { cost 0.002 requires profile.consent_email }
}
journey solar {
  version 1
  owner "o@x"
  uses s
  entry on quote
  reentry after 5d
  exit on unsubscribed
  goal signed on signed within 30d value event.amount
  cap email 2 per 1d
  stage request {
    step hello { send email hello with { roof: event.roof } set profile.email = "x" -> sizing }
    step sizing { choose { when event.roof >= 40 -> waiting  otherwise -> nudge } }
    step waiting { wait { on signed -> won  after 2d -> nudge } }
    step nudge {
      experiment copy { variant a 50% -> mail  variant b 50% -> last }
    }
    step mail { send email nudge -> last }
    step last { wait { on signed -> won  after 3d -> lost } }
    step won { end converted }
    step lost { end lost }
  }
}
"""

CLI = "from journeydsl.cli import main; main()"
# The same command with the SQLite store writing a full copy of its customer log every few commits (no size floor).
UNTIL = "2026-03-01T00:00:00Z"


def cli_command(*args: str | Path, cli: str = CLI) -> list[str]:
    """`journeydsl ARGS` as a command line for a new interpreter started by `cli`."""
    return [sys.executable, "-c", cli, *map(str, args)]


def sqlite_run_command(
    bundle: Path, events: Path, store: Path, *extra: str, cli: str = CLI, query: str = ""
) -> list[str]:
    """`journeydsl run BUNDLE --events EVENTS --store sqlite:///STORE[?QUERY] EXTRA...` in a new interpreter."""
    url = f"sqlite:///{store}" + (f"?{query}" if query else "")
    return cli_command("run", bundle, "--events", events, "--store", url, *extra, cli=cli)


def _events(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    start = 1767261600  # 2026-01-01T10:00:00Z
    lines = []
    at = start
    for number in range(count):
        at += rng.randint(0, 900)
        customer = f"c{rng.randint(1, count // 6)}"
        kind = rng.choice(["quote", "quote", "signed", "unsubscribed"])
        data = {"roof": rng.randint(1, 80)} if kind == "quote" else ({"amount": 100} if kind == "signed" else {})
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
        event = {"id": f"e{number}", "type": kind, "customer_id": customer, "at": stamp, "data": data}
        if rng.random() < 0.3:
            event["profile"] = {"consent_email": rng.random() < 0.8}
        lines.append(json.dumps(event))
    return lines


def _run(
    bundle: Path,
    events: Path,
    store: Path,
    kill_after_lines: int | None,
    cli: str = CLI,
    batch: int = 3,
    query: str = "",
) -> str:
    """One run; with `kill_after_lines`, SIGKILL as soon as that many lines were printed (so mid-run, at a point
    that depends on scheduling), plus a random extra delay so kills also land between prints."""
    command = sqlite_run_command(bundle, events, store, "--until", UNTIL, "--batch", str(batch), cli=cli, query=query)
    errors = store.with_suffix(".stderr")
    with errors.open("wb") as err_sink:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err_sink)
        assert process.stdout is not None
        lines = []
        while kill_after_lines is None or len(lines) < kill_after_lines:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        if kill_after_lines is not None:
            time.sleep(random.uniform(0, 0.02))
            os.kill(process.pid, signal.SIGKILL)
        # Read the rest through the same buffered reader (communicate() would skip its buffer).
        lines.append(process.stdout.read())
        process.stdout.close()
        code = process.wait(timeout=120)
    if kill_after_lines is None:
        assert code == 0, errors.read_text()[-3000:]
    return b"".join(lines).decode()


def _by_key(output: str) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line being written when the process was killed
        found.setdefault(str(record["key"]), record)
    return found


def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    _crash_and_compare(tmp_path, seed=7, cli=CLI, batch=3)


def test_sigkill_with_another_batch_size_and_a_cache_of_one_customer(tmp_path: Path) -> None:
    # A cache of one: nearly every customer is read back from its row while the runs are being killed.
    _crash_and_compare(tmp_path, seed=11, cli=CLI, batch=7, query="cache=1")


def _crash_and_compare(tmp_path: Path, seed: int, cli: str, batch: int, query: str = "") -> None:
    bundle = write_bundle(build_bundle(tmp_path / "src", [JOURNEY]), tmp_path / "b.jbundle")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(_events(3000, seed)) + "\n", encoding="utf-8")
    reference = _by_key(_run(bundle, events, tmp_path / "reference.db", None, cli, batch))  # the default cache
    assert len(reference) > 1000
    rng = random.Random(seed)
    store = tmp_path / "crashy.db"
    # Each run starts after the last one's committed point, so kill after a fraction of what is left.
    outputs = [_run(bundle, events, store, rng.randint(1, len(reference) // 5), cli, batch, query) for _ in range(4)]
    outputs.append(_run(bundle, events, store, None, cli, batch, query))
    combined: dict[str, dict[str, object]] = {}
    for output in outputs:
        for key, record in _by_key(output).items():
            combined.setdefault(key, record)
    assert all(output for output in outputs[:-1]), "an interrupted run printed nothing"
    assert set(combined) == set(reference)
    assert combined == reference
