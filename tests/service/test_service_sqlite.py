"""`serve` on a SQLite store: the relay on its own thread and store (mode "deliver") writing a jsonl sink, the
single-owner lock, and a SIGTERM in the middle of a stream of batches: every batch answered 202 is committed and
delivered before the exit, and a restart on the same store sees those events as duplicates."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from service_support import Served, make_bundle, metric, quote, wait_for

from journeydsl.cli import main


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundle")
    return make_bundle(root, 1, root / "solar-v1.jbundle")


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "delivery.toml"
    config.write_text('[default]\nsink = "jsonl"\npath = "records.jsonl"\n', encoding="utf-8")
    return config


def _delivered(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "records.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_sigterm_mid_stream_loses_nothing_that_was_accepted(tmp_path: Path, bundle: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    args = ("--clock", "event", "--delivery", str(_config(tmp_path)), "--grace", "20")
    batches = [[quote(b * 10 + n) for n in range(10)] for b in range(30)]
    answers: dict[int, int] = {}
    with Served(tmp_path, bundle, *args, store=store) as served:
        # The store is owned: a second serve on it refuses at once.
        second = CliRunner().invoke(
            main, ["serve", str(bundle), "--store", store, "--insecure", "--listen", "127.0.0.1:0"]
        )
        assert second.exit_code == 1 and "in use by another journeydsl process" in second.stderr

        def post(number: int) -> None:
            try:
                answers[number] = served.post_events(batches[number])[0]
            except OSError:
                answers[number] = 0  # refused or cut off by the shutdown: not accepted

        threads = [threading.Thread(target=post, args=(n,)) for n in range(len(batches))]
        for n, thread in enumerate(threads):
            thread.start()
            if n == len(batches) // 2:
                wait_for(lambda: 202 in answers.values(), what="a first accepted batch")
                assert served.process is not None
                served.process.send_signal(signal.SIGTERM)
                time.sleep(0.01)
        for thread in threads:
            thread.join(30)
        assert served.process is not None
        assert served.process.wait(30) == 0
    accepted = {n for n, status in answers.items() if status == 202}
    assert accepted and all(status in (202, 503, 0) for status in answers.values()), answers
    entered = [record["customer_id"] for record in _delivered(tmp_path) if record["kind"] == "enter"]
    assert len(entered) == len(set(entered))
    expected = {f"c{b * 10 + n}" for b in accepted for n in range(10)}
    assert expected <= set(entered)
    assert served.records() == []  # a config default sink: nothing on stdout

    # Restarted on the same store: what was accepted is committed (duplicates), the rest is new; nothing twice.
    with Served(tmp_path, bundle, *args, store=store) as again:
        totals = [again.post_events(batch)[1] for batch in batches]
        assert sum(t["duplicates"] for t in totals) == len(set(entered))
        assert sum(t["accepted"] for t in totals) == 300 - len(set(entered))
        wait_for(lambda: sum(r["kind"] == "enter" for r in _delivered(tmp_path)) == 300, what="every entry delivered")
        text = again.metrics()
        assert metric(text, "journeydsl_delivery_attempts_total", sink="default") >= 300 - len(set(entered))
        assert metric(text, "journeydsl_delivery_failures_total", sink="default") == 0
        assert again.stop() == 0
    keys = [record["key"] for record in _delivered(tmp_path)]
    assert len(keys) == len(set(keys))


def test_wall_clock_on_sqlite_delivers_from_the_relay_thread(tmp_path: Path, bundle: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    with Served(tmp_path, bundle, store=store) as served:
        assert served.post_events([quote(n) for n in range(3)])[0] == 202
        # --max-skew (1d by default) is measured against the wall clock: an event dated decades ahead is dead.
        status, answer = served.post_events([{**quote(9), "at": "2099-01-01T00:00:00Z"}])
        assert status == 202 and answer["accepted"] == 0
        assert "the wall clock" in answer["dead_letters"][0]["reason"]
        wait_for(lambda: sum(r["kind"] == "end" for r in served.records()) == 3, what="the timers on the wall clock")
        assert metric(served.metrics(), "journeydsl_instances_active", journey="solar", version="1") in (0, 3)
        assert served.stop() == 0
    assert [r["kind"] for r in served.records()].count("enter") == 3
