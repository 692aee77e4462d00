"""Live input that stalls (issue 16, item 5): the reminder still arrives.

A live job's watermark trails the latest event time by the out-of-order bound, and stops when the input stops: a
customer who sends nothing more would never get the `after 2s` reminder from event time alone. In live mode the
job also sets each customer's timer on the wall clock (a processing-time timer at the same instant), so the
reminder fires about when it is due. One job holds the same folder source twice: live (the reminder arrives within
seconds of its due time) and not live (the same customer's greeting, and no reminder at all).
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from runtime_support import build_bundle

from journeydsl.runtime.jsonio import dumps, loads
from journeydsl.runtime.timeparse import format_time

JOURNEY = """
schema s {
  profile { email: string }
  event signup { plan: string }
  channel email { cost 0 }
}
journey trial {
  version 1
  owner "o@x"
  uses s
  entry on signup
  stage main {
    step hello { send email hello -> waiting }
    step waiting { wait { after 2s -> nudge } }
    step nudge { send email nudge -> done }
    step done { end done }
  }
}
"""

START_BOUND = 120.0  # s: job start-up on a busy 2-core machine, and the first record
REMINDER_BOUND = 15.0  # s after the reminder is due (the folder is polled every 0.2 s; timers fire on the minute)
QUIET = 3.0  # s the job without wall-clock timers is watched after the live reminder came


@pytest.mark.flink
def test_a_stalled_live_input_still_fires_the_reminder(flink: None, tmp_path: Path) -> None:
    from pyflink.common import Types

    from journeydsl.flink.job import JobSpec, build_job, file_source
    from journeydsl.flink.local import environment

    files = build_bundle(tmp_path / "bundle", [JOURNEY])
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    env = environment(1)
    outputs = []
    for live in (True, False):
        spec = JobSpec(bundle=files, live=live, idle_timeout=1.0, name="live" if live else "event-time")
        records = build_job(env, file_source(str(incoming), monitor_every=0.2), spec).records
        tag = "live" if live else "event"
        outputs.append(records.map(lambda line, tag=tag: f"{tag}\t{line}", output_type=Types.STRING()))
    stream = outputs[0].union(outputs[1])

    got: queue.Queue[tuple[float, str, dict[str, Any]] | None] = queue.Queue()
    results = stream.execute_and_collect()

    def collect() -> None:
        try:
            for text in results:
                tag, line = text.split("\t", 1)
                got.put((time.monotonic(), tag, loads(line)))
        except Exception:  # noqa: BLE001 - the job is cancelled under the iterator at the end
            pass
        finally:
            got.put(None)

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        # One signup, dated now, in a file that appears whole (written aside, then renamed); then nothing more.
        now = time.time()
        event = {"id": "e1", "type": "signup", "customer_id": "c1", "at": format_time(round(now, 3))}
        event["data"] = {"plan": "basic"}
        aside = incoming / ".events.jsonl.tmp"
        aside.write_bytes(dumps(event) + b"\n")
        aside.rename(incoming / "events.jsonl")
        seen: dict[tuple[str, str], float] = {}
        deadline = time.monotonic() + START_BOUND
        while ("live", "nudge") not in seen:
            item = got.get(timeout=max(0.1, deadline - time.monotonic()))
            assert item is not None, "the job ended early"
            when, tag, record = item
            if record["kind"] == "send":
                seen[(tag, record["step"])] = when
            if ("live", "hello") in seen and ("live", "nudge") not in seen:
                deadline = min(deadline, seen[("live", "hello")] + 2 + REMINDER_BOUND)
        quiet_until = time.monotonic() + QUIET
        while time.monotonic() < quiet_until:
            try:
                item = got.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is not None and item[2]["kind"] == "send":
                seen[(item[1], item[2]["step"])] = item[0]
    finally:
        results.close()  # cancels the job
        reader.join(timeout=60)
    assert not reader.is_alive(), "the job did not stop after its results were closed"
    assert ("event", "hello") in seen  # the other pipeline did take the event ...
    assert ("event", "nudge") not in seen  # ... but its watermark stopped with the input: no reminder
    assert seen[("live", "nudge")] - seen[("live", "hello")] < 2 + REMINDER_BOUND
