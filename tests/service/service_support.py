"""Helpers of the `serve` tests: bundles of a small journey, and a `serve` subprocess on a free loopback port.

Every wait is bounded: readiness polls give up after READY_TIMEOUT seconds, a stop sends SIGTERM and kills the
process if it has not exited after STOP_TIMEOUT seconds, so a broken server fails a test instead of hanging it.
"""

from __future__ import annotations

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

from journeydsl.compile import build

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
TOKEN = "s3cret-token"
# `journeydsl ARGS` in a new interpreter (the package has no __main__)
CLI = "import sys; from journeydsl.cli import main; sys.argv[0] = 'journeydsl'; main()"

JOURNEY = """
schema s {
  profile { email: string  consent_email: bool }
  event quote { roof: number }
  event signed { amount: number }
  channel email { cost 0.002 requires profile.consent_email }
}
journey solar {
  version VERSION
  owner "o@x"
  uses s
  entry on quote
  stage request {
    step hello { send email hello -> waiting }
    step waiting { wait { on signed -> won  after 3d -> lost } }
    step won { end converted }
    step lost { end lost }
  }
}
"""


def make_bundle(root: Path, version: int, out: Path, keep: Path | None = None) -> Path:
    """The journey at `version`, built into `out` (with the versions of `keep` carried over)."""
    folder = root / f"src-v{version}-{out.stem}"
    (folder / "templates" / "messages" / "email").mkdir(parents=True, exist_ok=True)
    (folder / "templates" / "messages" / "email" / "hello.j2").write_text(
        "Subject: Hello\n\nhello {{ profile.email }}\n", encoding="utf-8"
    )
    source = folder / "solar.journey"
    source.write_text(JOURNEY.replace("VERSION", str(version)), encoding="utf-8")
    build([source], out, templates_dir=folder / "templates", keep=keep)
    return out


def quote(n: int, day: int = 1) -> dict[str, Any]:
    return {
        "id": f"q{n}",
        "type": "quote",
        "customer_id": f"c{n}",
        "at": f"2026-01-{day:02d}T10:00:{n % 60:02d}Z",
        "data": {"roof": 5},
        "profile": {"consent_email": True, "email": f"c{n}@example.com"},
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """`journeydsl serve` as a subprocess; stdout and stderr go to files in `folder`."""

    def __init__(self, folder: Path, bundle: Path, *extra: str, store: str = "memory://", token: bool = False) -> None:
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout_path = folder / f"serve-{self.port}.out"
        self.stderr_path = folder / f"serve-{self.port}.err"
        auth = ["--insecure"]
        if token:
            token_file = folder / "token"
            token_file.write_text(TOKEN + "\n", encoding="utf-8")
            auth = ["--token-file", str(token_file)]
        self.args = [
            sys.executable,
            "-c",
            CLI,
            "serve",
            str(bundle),
            "--store",
            store,
            "--listen",
            f"127.0.0.1:{self.port}",
            *auth,
            *extra,
        ]
        self.token = TOKEN if token else None
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Served:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                self.args, stdout=out, stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}: {self.stderr()}")
            try:
                status, _, _ = self.request("GET", "/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"serve not ready within {READY_TIMEOUT} s: {self.stderr()}")

    def request(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        sent = dict(headers or {})
        if auth and self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as err:
            return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()

    def post_events(self, events: list[Any], ndjson: bool = True, auth: bool = True) -> tuple[int, Any]:
        if ndjson:
            data = b"".join(json.dumps(event).encode() + b"\n" for event in events)
            kind = "application/x-ndjson"
        else:
            (event,) = events
            data = json.dumps(event).encode()
            kind = "application/json"
        status, _, body = self.request("POST", "/v1/events", data, {"Content-Type": kind}, auth=auth)
        return status, json.loads(body)

    def metrics(self) -> str:
        status, _, body = self.request("GET", "/metrics")
        assert status == 200
        return body.decode()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
            raise AssertionError(f"serve did not stop within {STOP_TIMEOUT} s after signal {sig}") from None

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout_path.read_text(encoding="utf-8").splitlines() if line]

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stderr().splitlines() if line.startswith("{")]


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of the Prometheus text (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric_name, _, label_text = head.partition("{")
        found = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if metric_name == name and found == wanted:
            return float(value)
    return 0.0


def wait_for(predicate: Any, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
