"""`journeydsl deliver`: its errors (no traceback), one run in process, and worker processes on SQLite and
PostgreSQL that share one outbox (every record delivered exactly once when nothing crashes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from delivery_support import SECRET, call, enter, free_port, send, wait_for, webhook_receiver

import journeydsl.runtime.stores as stores
from journeydsl.cli import main
from journeydsl.runtime.jsonio import dumps_lines, loads
from journeydsl.runtime.store import OutboxItem, Store, StoreError
from journeydsl.runtime.store_memory import MemoryStore

CLI = "from journeydsl.cli import main; main()"


def deliver_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-c", CLI, "deliver", *map(str, args)]


def records(count: int) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = []
    for n in range(count):
        made += [enter(n), send(n), call(n)]
    return made


def config_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "delivery.toml"
    path.write_text(
        f"""
[channels.email]
sink = "webhook"
url = "{url}/email"
secret_env = "JD_TEST_SECRET"
[calls.field_service]
sink = "webhook"
url = "{url}/calls"
secret_env = "JD_TEST_SECRET"
[default]
sink = "jsonl"
path = "rest.jsonl"
""",
        encoding="utf-8",
    )
    return path


# ---- errors


def test_memory_store_is_refused() -> None:
    result = CliRunner().invoke(main, ["deliver", "--store", "memory://", "--once"])
    assert result.exit_code == 1
    assert "error: memory:// lives in one process's memory" in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_config_names_file_table_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[channels.email]\nsink = "webhook"\nurl = "ftp://x"\nsecret_env = "S"\n', encoding="utf-8")
    db = f"sqlite:///{tmp_path / 's.db'}"
    result = CliRunner().invoke(main, ["deliver", "--store", db, "--config", str(bad), "--once"])
    assert result.exit_code == 2
    assert f"error: {bad}:3: [channels.email] url: 'ftp://x' is not an http:// or https:// URL" in result.stderr
    missing = CliRunner().invoke(main, ["deliver", "--store", db, "--config", str(tmp_path / "no.toml")])
    assert missing.exit_code == 2 and "no.toml: no such delivery config file" in missing.stderr


def test_a_missing_secret_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JD_TEST_SECRET", raising=False)
    path = config_file(tmp_path, "http://127.0.0.1:9")
    result = CliRunner().invoke(main, ["deliver", "--store", "sqlite:///x.db", "--config", str(path)])
    assert result.exit_code == 2
    assert "secret_env: the environment variable JD_TEST_SECRET is not set" in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "error: unknown store URL 'mysql://x/y'"),
        (f"postgresql://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2", "error: "),
    ],
    ids=["unknown scheme", "closed port"],
)
def test_a_store_that_cannot_be_opened(url: str, message: str) -> None:
    result = CliRunner().invoke(main, ["deliver", "--store", url, "--once", "--workers", "2"])
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert result.stderr.count("error: ") == 1  # the same error from both workers, said once
    assert "Traceback" not in result.output


def test_bad_options_are_usage_errors() -> None:
    for args in (["--workers", "0"], ["--clock", "sun"], ["--batch", "0"], ["--lease", "0"]):
        result = CliRunner().invoke(main, ["deliver", "--store", "sqlite:///x.db", *args])
        assert result.exit_code == 2, args


# ---- in process, on a memory store handed to the command


@pytest.fixture
def handed_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryStore]:
    """`open_store` gives the workers this one memory store (a stand-in for a durable one, same thread here)."""
    store = MemoryStore()
    real = stores.open_store

    def fake(url: str | Store, batch: int | None = None, **options: Any) -> Store:
        return store if url == "handed://" else real(url, batch, **options)

    monkeypatch.setattr(stores, "open_store", fake)
    yield store


def test_once_delivers_everything_and_stops(handed_store: MemoryStore) -> None:
    made = records(5)
    handed_store.log_actions(made)
    result = CliRunner().invoke(main, ["deliver", "--store", "handed://", "--once", "--clock", "event"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == dumps_lines(made)  # no config: exactly what `run` prints
    assert "deliver: 15 delivered, 0 to retry, 0 dead, 0 held for quiet hours (15 attempts, 1 worker)" in result.stderr


def test_a_store_failing_mid_run_stops_the_workers_with_exit_1(
    handed_store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed_store.log_actions(records(2))
    real = handed_store.claim_outbox
    calls: list[int] = []

    def flaky(limit: int, lease: float) -> list[OutboxItem]:
        calls.append(limit)
        if len(calls) > 1:
            raise StoreError("the server closed the connection")
        return real(limit, lease)

    monkeypatch.setattr(handed_store, "claim_outbox", flaky)
    result = CliRunner().invoke(main, ["deliver", "--store", "handed://", "--once", "--batch", "2"])
    assert result.exit_code == 1
    assert "error: the server closed the connection" in result.stderr
    assert "deliver: 2 delivered" in result.stderr  # what was done before the failure is still reported
    assert "Traceback" not in result.output


def test_dead_deliveries_are_listed(handed_store: MemoryStore, tmp_path: Path) -> None:
    handed_store.log_actions([send(1)])
    [item] = handed_store.claim_outbox(1, 60)
    handed_store.outbox_dead(item.seq, 3, "gone for good")
    result = CliRunner().invoke(main, ["deliver", "--store", "handed://", "--dead"])
    assert result.exit_code == 0, result.output
    [line] = result.stdout_bytes.splitlines()
    assert loads(line) == {"seq": 1, "attempts": 3, "error": "gone for good", "record": send(1)}


# ---- worker processes on SQLite (claims serialised by IMMEDIATE transactions) and PostgreSQL (SKIP LOCKED)


def fill(url: str, made: list[dict[str, Any]]) -> None:
    """Records in the store's outbox, committed, as an engine would leave them."""
    store = stores.open_store(url, mode="write")
    try:
        store.log_actions(made)
        store.end_unit()
        store.flush()
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh durable store's URL: a SQLite file, or a schema of its own in the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    postgres_url: str = request.getfixturevalue("postgres_url")
    return f"{postgres_url}?schema=deliver_{uuid.uuid4().hex[:12]}"


def test_worker_processes_share_the_outbox_without_doubles(durable: str, tmp_path: Path) -> None:
    made = records(60)
    fill(durable, made)
    env = {**os.environ, "JD_TEST_SECRET": SECRET}
    with webhook_receiver() as receiver:
        config = config_file(tmp_path, receiver.url)
        args = ("--store", durable, "--config", config, "--once", "--workers", "3", "--batch", "5", "--clock", "event")
        procs = [subprocess.Popen(deliver_command(*args), env=env, stderr=subprocess.PIPE) for _ in range(2)]
        errors = [proc.communicate(timeout=60)[1].decode() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    keys = Counter(req.key for req in receiver.requests)
    expected = {r["key"] for r in made if r["kind"] in ("send", "call")}
    assert set(keys) == expected and set(keys.values()) == {1}  # each once: no row claimed by two workers
    assert all(req.signature_ok for req in receiver.requests)
    rest = [loads(line)["key"] for line in (tmp_path / "rest.jsonl").read_bytes().splitlines()]
    assert sorted(rest) == sorted(r["key"] for r in made if r["kind"] == "enter")
    assert sum(int(e.split(" delivered")[0].rsplit(" ", 1)[-1]) for e in errors) == len(made)


def test_sigterm_stops_a_worker_cleanly(durable: str, tmp_path: Path) -> None:
    fill(durable, records(3))
    env = {**os.environ, "JD_TEST_SECRET": SECRET}
    with webhook_receiver() as receiver:
        config = config_file(tmp_path, receiver.url)
        args = ("--store", durable, "--config", config, "--poll", "0.1", "--clock", "event")
        proc = subprocess.Popen(deliver_command(*args), env=env, stderr=subprocess.PIPE)
        try:
            assert wait_for(lambda: len(receiver.requests) == 6, timeout=30)
            fill(durable, [send(100)])  # found by a later poll
            assert wait_for(lambda: len(receiver.requests) == 7, timeout=30)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert proc.returncode == 0, err.decode()
    assert "deliver: 10 delivered" in err.decode()


def test_failing_sink_retries_then_dead_list(durable: str, tmp_path: Path) -> None:
    fill(durable, [send(1)])
    config = tmp_path / "c.toml"
    config.write_text(
        f'[channels.email]\nsink = "webhook"\nurl = "http://127.0.0.1:{free_port()}/x"\nsecret_env = "S"\n'
        "max_attempts = 1\n",
        encoding="utf-8",
    )
    env = {**os.environ, "S": "k"}
    done = subprocess.run(
        deliver_command("--store", durable, "--config", config, "--once"), env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    err = done.stderr.decode()
    assert '"msg":"delivery dead"' in err and "ConnectError" in err
    assert "0 delivered, 0 to retry, 1 dead" in err
    listed = subprocess.run(deliver_command("--store", durable, "--dead"), capture_output=True, timeout=60)
    [line] = listed.stdout.splitlines()
    entry = loads(line)
    assert entry["record"] == send(1) and entry["attempts"] == 1 and "ConnectError" in entry["error"]


def test_stdout_sink_bytes_equal_run_output(durable: str) -> None:
    made = records(4)
    fill(durable, made)
    done = subprocess.run(
        deliver_command("--store", durable, "--once", "--clock", "event"), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == dumps_lines(made)


def test_a_killed_worker_loses_nothing(durable: str, tmp_path: Path) -> None:
    """SIGKILL in the middle: the rows it held come back when their lease runs out; every record arrives, some
    twice (the ones accepted but not yet marked delivered), always with the same key."""
    made = [send(n) for n in range(40)]
    fill(durable, made)
    env = {**os.environ, "JD_TEST_SECRET": SECRET}
    with webhook_receiver(delay=0.05) as receiver:
        config = config_file(tmp_path, receiver.url)
        # a 1 s timeout allows a 3 s lease (a lease must outlast the slowest attempt)
        text = config.read_text(encoding="utf-8").replace('"JD_TEST_SECRET"', '"JD_TEST_SECRET"\ntimeout = 1')
        config.write_text(text, encoding="utf-8")
        args = ("--store", durable, "--config", config, "--batch", "8", "--lease", "3", "--clock", "event")
        proc = subprocess.Popen(deliver_command(*args), env=env, stderr=subprocess.DEVNULL)
        try:
            assert wait_for(lambda: len(receiver.requests) >= 12, timeout=30)
        finally:
            proc.kill()
            proc.wait(10)
        first = len(receiver.requests)
        assert first < len(made)
        time.sleep(3.5)  # the killed worker's lease runs out
        done = subprocess.run(deliver_command(*args, "--once"), env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    keys = Counter(req.key for req in receiver.requests)
    assert set(keys) == {r["key"] for r in made}
    assert sum(keys.values()) - len(made) <= 8  # at most one claimed batch again
