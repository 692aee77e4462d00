"""The service end to end (issue 15, "Done when"): PostgreSQL, `journeydsl serve`, a webhook receiver and an SMTP
server, all real and local. The example journeys' events go in over HTTP in NDJSON batches, timers fire on the
event clock, and every send and call must arrive at its sink with its key and a valid signature, equal to what
`journeydsl run` prints for the same events. `serve` is killed with SIGKILL twice in the middle (once between
batches, once while a batch is in flight): nothing may be lost, and a record may arrive twice only under its key.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from delivery.delivery_support import SECRET, mail_server, wait_for, webhook_receiver
from journeydsl.testing.synth import generate_events
from service.service_support import CLI, Served

ROOT = Path(__file__).resolve().parents[2]
UNTIL = "2026-12-31T00:00:00Z"
BATCH = 40  # events per request
SCHEMA = "e2e"


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, timeout=300, cwd=cwd, check=False)


def _delivery_config(path: Path, hook_url: str, mail_port: int) -> Path:
    # Short sink timeouts and `--lease 5`: rows a killed `serve` had claimed wait for their lease (at least twice
    # the slowest sink's timeout, plus a second) before the next `serve` takes them.
    path.write_text(
        f"""
[channels.email]
sink = "smtp"
host = "127.0.0.1"
port = {mail_port}
from = "journeys@example.test"
to = "customer@example.test"
security = "none"
timeout = 2
max_attempts = 50
backoff = 0.05
backoff_max = 0.2

[channels.push]
sink = "webhook"
url = "{hook_url}/push"
secret_env = "JOURNEYDSL_WEBHOOK_SECRET"
timeout = 2
max_attempts = 50
backoff = 0.05
backoff_max = 0.2

[channels.sms]
sink = "webhook"
url = "{hook_url}/sms"
secret_env = "JOURNEYDSL_WEBHOOK_SECRET"
timeout = 2
max_attempts = 50
backoff = 0.05
backoff_max = 0.2

[default]
sink = "jsonl"
path = "other.jsonl"
""",
        encoding="utf-8",
    )
    return path


def _calls_config(names: set[str], hook_url: str) -> str:
    return "".join(
        f'\n[calls.{name}]\nsink = "webhook"\nurl = "{hook_url}/calls/{name}"\n'
        'secret_env = "JOURNEYDSL_WEBHOOK_SECRET"\ntimeout = 2\nmax_attempts = 50\nbackoff = 0.05\nbackoff_max = 0.2\n'
        for name in sorted(names)
    )


def _undelivered(url: str) -> int:
    with psycopg.connect(url.partition("?")[0]) as conn:
        row = conn.execute(f"SELECT count(*) FROM {SCHEMA}.outbox WHERE NOT delivered").fetchone()
        assert row is not None
        return int(row[0])


def _post_all(served: Served, batches: list[list[dict[str, Any]]]) -> None:
    for batch in batches:
        status, body = served.post_events(batch)
        assert status == 202, body
        assert body["accepted"] + body["duplicates"] + len(body["dead_letters"]) == len(batch), body


def test_serve_on_postgresql_delivers_what_run_prints_through_two_sigkills(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "journeys.jbundle"
    built = _cli("build", str(ROOT / "journeys"), "-o", str(bundle), cwd=ROOT)
    assert built.returncode == 0, built.stderr
    events = list(generate_events(ROOT / "journeys", 50, seed=5))
    events_file = tmp_path / "events.jsonl"
    events_file.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    ran = _cli("run", str(bundle), "--events", str(events_file), "--until", UNTIL, "--max-skew", "none")
    assert ran.returncode == 0, ran.stderr
    expected = {r["key"]: r for r in map(json.loads, ran.stdout.splitlines())}
    # sends that are not suppressed, and calls, go to their sinks; every other record to the default sink
    delivered = {k for k, r in expected.items() if r["kind"] == "call" or r.get("status") in ("sent", "delayed")}
    emails = {k for k in delivered if expected[k].get("channel") == "email"}
    hooks = delivered - emails
    others = set(expected) - emails - hooks
    assert len(emails) > 20 and len(hooks) > 20 and len(others) > 100

    monkeypatch.setenv("JOURNEYDSL_WEBHOOK_SECRET", SECRET)
    store = f"{postgres_url}?schema={SCHEMA}"
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    third = len(batches) // 3
    with webhook_receiver() as hook, mail_server() as mail:
        config = _delivery_config(tmp_path / "delivery.toml", hook.url, mail.port)
        calls = {str(r["name"]) for r in expected.values() if r["kind"] == "call"}
        config.write_text(config.read_text(encoding="utf-8") + _calls_config(calls, hook.url), encoding="utf-8")
        args = ("--clock", "event", "--delivery", str(config), "--max-skew", "none", "--lease", "5")

        # 1. a third of the batches, then SIGKILL between batches
        with Served(tmp_path, bundle, *args, store=store) as served:
            _post_all(served, batches[:third])
            assert served.stop(signal.SIGKILL) == -signal.SIGKILL
        # 2. the next third; SIGKILL while a batch is in flight: its answer may never come, so it is sent again
        with Served(tmp_path, bundle, *args, store=store) as served:
            _post_all(served, batches[third : 2 * third - 1])
            in_flight = threading.Thread(target=lambda: _try_post(served, batches[2 * third - 1]), daemon=True)
            in_flight.start()
            assert served.stop(signal.SIGKILL) == -signal.SIGKILL
            in_flight.join(30)
        # 3. the rest, from the batch whose answer was lost; then the clock runs to the end of the year
        with Served(tmp_path, bundle, *args, store=store) as served:
            _post_all(served, batches[2 * third - 1 :])
            status, _, body = served.request(
                "POST", "/v1/clock", json.dumps({"until": UNTIL}).encode(), {"Content-Type": "application/json"}
            )
            assert status in (200, 202), body
            assert wait_for(lambda: _undelivered(store) == 0, timeout=120), f"{_undelivered(store)} undelivered"
            status = _cli("status", "--store", store, "--format", "json")  # on the store serve owns
            assert status.returncode == 0, status.stderr
            assert json.loads(status.stdout)["customers"] > 0
            assert served.stop(signal.SIGTERM) == 0

        # every email: by key, once or more, each copy the run's record
        got_mail: dict[str, list[Any]] = {}
        for message in mail.messages:
            got_mail.setdefault(str(message["X-Journeydsl-Key"]), []).append(message)
        assert set(got_mail) == emails
        for key, copies in got_mail.items():
            record = expected[key]
            for message in copies:
                assert message["Subject"] == record["subject"]
                assert message.get_content().strip() == str(record["body"]).strip()
        # every push, sms and call: by key, signed, the body is the run's record
        got_hooks: dict[str, list[Any]] = {}
        for request in hook.accepted:
            assert request.signature_ok, request
            got_hooks.setdefault(request.key, []).append(json.loads(request.body))
        assert set(got_hooks) == hooks
        for key, bodies in got_hooks.items():
            assert all(body == expected[key] for body in bodies)
        # everything else went to the default sink
        other_lines = [json.loads(line) for line in (tmp_path / "other.jsonl").read_text().splitlines()]
        assert {r["key"] for r in other_lines} == others
        assert all(r == expected[r["key"]] for r in other_lines)


def _try_post(served: Served, batch: list[dict[str, Any]]) -> None:
    try:
        served.post_events(batch)
    except (OSError, ValueError):  # the server died under the request: the client never got an answer
        pass
