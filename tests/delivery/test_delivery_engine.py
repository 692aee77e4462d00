"""The example journeys end to end through delivery: the engine fills a SQLite store, `journeydsl deliver` hands its
outbox to a local SMTP server (email), a signing webhook receiver (calls, push) and a jsonl file (the rest), and
together they got exactly what `journeydsl run` prints for the same events."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from delivery_support import SECRET, mail_server, webhook_receiver

from journeydsl.cli import main
from journeydsl.compile import build
from journeydsl.runtime import Engine
from journeydsl.runtime.jsonio import loads

ROOT = Path(__file__).resolve().parents[2]
UNTIL = "2027-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[bytes]]:
    """The example journeys' bundle, synthetic events, and the lines `run` prints for them."""
    root = tmp_path_factory.mktemp("examples")
    bundle = root / "journeys.jbundle"
    build([str(ROOT / "journeys")], str(bundle))
    events = root / "events.jsonl"
    synth = [sys.executable, "-m", "journeydsl.testing.synth", str(ROOT / "journeys"), "--customers", "30"]
    subprocess.run([*synth, "--seed", "7", "-o", str(events)], check=True, capture_output=True, timeout=120)
    result = CliRunner().invoke(
        main, ["run", str(bundle), "--events", str(events), "--max-skew", "30d", "--until", UNTIL]
    )
    assert result.exit_code == 0, result.output
    return bundle, events, result.stdout_bytes.splitlines()


def test_every_record_reaches_its_sink_as_run_prints_it(
    example: tuple[Path, Path, list[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle, events, reference = example
    store = f"sqlite:///{tmp_path / 'store.db'}"
    engine = Engine.open(bundle, store=store, max_skew=30 * 86400)
    for line in events.read_bytes().splitlines():
        engine.process(loads(line))
    engine.advance(UNTIL)
    engine.close()

    monkeypatch.setenv("JD_TEST_SECRET", SECRET)
    with mail_server() as mail, webhook_receiver() as hooks:
        config = tmp_path / "delivery.toml"
        table = '[calls.{}]\nsink = "webhook"\nurl = "{}/calls"\nsecret_env = "JD_TEST_SECRET"\n'
        call_tables = "".join(table.format(name, hooks.url) for name in _calls(reference))
        config.write_text(
            f"""
[channels.email]
sink = "smtp"
host = "127.0.0.1"
port = {mail.port}
security = "none"
from = "journeys@example.test"
to = "inbox@example.test"
[channels.push]
sink = "webhook"
url = "{hooks.url}/push"
secret_env = "JD_TEST_SECRET"
{call_tables}
[default]
sink = "jsonl"
path = "rest.jsonl"
""",
            encoding="utf-8",
        )
        result = CliRunner().invoke(
            main, ["deliver", "--store", store, "--config", str(config), "--once", "--clock", "event"]
        )
        assert result.exit_code == 0, result.output

    records = [loads(line) for line in reference]
    emails = [r for r in records if r["kind"] == "send" and r["channel"] == "email" and r["status"] != "suppressed"]
    assert emails and len(mail.messages) == len(emails)
    by_key = {m["X-Journeydsl-Key"]: m for m in mail.messages}
    for record in emails:
        message = by_key[record["key"]]
        assert message["Subject"] == record["subject"]  # an email record carries its subject apart
        assert not record["body"].startswith("Subject:")
        assert message.get_content().rstrip("\n") == record["body"].rstrip("\n")

    assert all(req.signature_ok for req in hooks.requests)
    assert {req.key for req in hooks.requests} == {loads(req.body)["key"] for req in hooks.requests}
    pushes = [req.body for req in hooks.requests if req.path == "/push"]
    calls = [req.body for req in hooks.requests if req.path == "/calls"]
    assert pushes and calls
    rest = (tmp_path / "rest.jsonl").read_bytes().splitlines()
    mailed = {r["key"] for r in emails}
    expected = Counter(line for line, r in zip(reference, records, strict=True) if r["key"] not in mailed)
    assert Counter(pushes + calls + rest) == expected  # byte for byte what `run` printed
    assert all(loads(line)["kind"] != "call" for line in rest)


def _calls(reference: list[bytes]) -> list[str]:
    names: list[Any] = sorted({loads(line).get("name") for line in reference if b'"kind":"call"' in line})
    return [str(name) for name in names]
