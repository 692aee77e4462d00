"""The end of `make demo`: `journeydsl serve` on SQLite, a few events posted over HTTP, the records it delivered.

Run as `python -m journeydsl.service.demo BUNDLE EVENTS OUT_DIR [--events N]`: starts `journeydsl serve` on a fresh
SQLite store in OUT_DIR on a free loopback port (event clock, no token: loopback only), with a delivery config
that sends every record to a JSONL file; posts the first N events of EVENTS (a JSONL file) as one NDJSON request
with the standard library's HTTP client; fires the timers up to the last event's day plus a week
(`POST /v1/clock`); waits until the records are delivered; shows `journeydsl status` of the serving store;
prints the records; and stops `serve` with SIGTERM, which must exit 0. Every wait is bounded: the walkthrough
fails rather than hangs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from journeydsl.runtime.timeparse import format_time, parse_time

READY_TIMEOUT = 30.0
DELIVERY_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
WEEK = 7 * 86400


class DemoError(Exception):
    pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(base: str, method: str, path: str, body: bytes | None = None, kind: str = "") -> tuple[int, Any]:
    headers = {"Content-Type": kind} if kind else {}
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def _wait(condition: Any, timeout: float, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"serve exited with {process.returncode} while waiting for {what}")
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise DemoError(f"gave up waiting for {what} after {timeout:g} s")


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def walkthrough(bundle: Path, events_path: Path, out: Path, count: int) -> list[dict[str, Any]]:
    """Serve `bundle`, post the first `count` events, fire timers, return the delivered records."""
    out.mkdir(parents=True, exist_ok=True)
    store = out / "serve.db"
    sink = out / "delivered.jsonl"
    for stale in (store, Path(f"{store}-wal"), Path(f"{store}-shm"), sink):
        stale.unlink(missing_ok=True)
    config = out / "delivery.toml"
    config.write_text('[default]\nsink = "jsonl"\npath = "delivered.jsonl"\n', encoding="utf-8")
    with events_path.open("rb") as source:
        lines = [line for _, line in zip(range(count), source, strict=False) if line.strip()]
    if not lines:
        raise DemoError(f"{events_path} holds no events")
    last = max(parse_time(json.loads(line)["at"]) for line in lines)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [_journeydsl(), "serve", str(bundle), "--store", f"sqlite:///{store}", "--listen", f"127.0.0.1:{port}"]
    command += ["--insecure"]
    command += ["--clock", "event", "--delivery", str(config), "--max-skew", "none"]
    log = (out / "serve.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        _wait(lambda: _request(base, "GET", "/readyz")[0] == 200, READY_TIMEOUT, "serve to be ready", process)
        print(f"serve is listening on {base} (store {store})")
        status, answer = _request(base, "POST", "/v1/events", b"".join(lines), "application/x-ndjson")
        if status != 202:
            raise DemoError(f"POST /v1/events answered {status}: {answer}")
        print(f"POST /v1/events ({len(lines)} events as NDJSON) -> {status} {json.dumps(answer)}")
        until = format_time(last + WEEK)
        status, answer = _request(base, "POST", "/v1/clock", json.dumps({"until": until}).encode(), "application/json")
        if status not in (200, 202):
            raise DemoError(f"POST /v1/clock answered {status}: {answer}")
        print(f"POST /v1/clock until {until} -> {status}")
        _wait(lambda: _delivered(sink, base), DELIVERY_TIMEOUT, "the records to be delivered", process)
        in_flight = subprocess.run(
            [_journeydsl(), "status", "--store", f"sqlite:///{store}"], capture_output=True, text=True, timeout=60
        )
        if in_flight.returncode != 0:
            raise DemoError(f"journeydsl status on the serving store failed: {in_flight.stderr.strip()}")
        print(f"journeydsl status --store sqlite:///{store} (while serving):")
        print(in_flight.stdout.rstrip())
        process.send_signal(signal.SIGTERM)
        code = process.wait(STOP_TIMEOUT)
        if code != 0:
            raise DemoError(f"serve exited with {code} after SIGTERM (see {out / 'serve.log'})")
        print("serve stopped on SIGTERM (exit 0)")
        return _lines(sink)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(STOP_TIMEOUT)
        log.close()


def _journeydsl() -> str:
    """The `journeydsl` command next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("journeydsl")
    return str(beside) if beside.exists() else "journeydsl"


def _delivered(sink: Path, base: str) -> bool:
    """Every record the service produced (its /metrics counter, on a fresh store) is in the sink."""
    with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
        text = response.read().decode()
    produced = sum(
        float(line.rpartition(" ")[2]) for line in text.splitlines() if line.startswith("journeydsl_records_total{")
    )
    return produced > 0 and len(_lines(sink)) >= produced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m journeydsl.service.demo", description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("events", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--events", dest="count", type=int, default=12, help="how many events to post")
    args = parser.parse_args(argv)
    try:
        records = walkthrough(args.bundle, args.events, args.out, args.count)
    except (DemoError, OSError, subprocess.TimeoutExpired) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{len(records)} record(s) delivered to {args.out / 'delivered.jsonl'}:")
    for record in records:
        print(json.dumps(record, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
