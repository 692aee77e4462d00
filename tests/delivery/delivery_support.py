"""Test doubles of the far ends: a webhook receiver that checks signatures, a local SMTP server, sample records.

Both servers listen on 127.0.0.1 only and are stopped by their context managers (bounded waits).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SECRET = "s3cret-key"


@dataclass
class Received:
    path: str
    key: str
    body: bytes
    signature_ok: bool
    headers: dict[str, str]


@dataclass
class WebhookReceiver:
    """Answers `fail_first` requests with `fail_status` (then 200); records every request it got."""

    secret: bytes = SECRET.encode()
    fail_first: int = 0
    fail_status: int = 503
    delay: float = 0.0  # seconds before answering (a timeout test)
    extra_headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    @property
    def accepted(self) -> list[Received]:
        """The requests answered 2xx, in order (the ones after the failures)."""
        return self.requests[self.fail_first :]

    def keys(self) -> list[str]:
        return [r.key for r in self.accepted]


def _handler(receiver: WebhookReceiver, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(receiver.secret, body, hashlib.sha256).hexdigest()
            given = self.headers.get("X-Journeydsl-Signature", "")
            # http.server decodes header bytes as latin-1: undo that to read the UTF-8 key the sink sent
            key = self.headers.get("Idempotency-Key", "").encode("latin-1").decode("utf-8")
            entry = Received(self.path, key, body, hmac.compare_digest(expected, given), dict(self.headers))
            with lock:
                receiver.requests.append(entry)
                failing = len(receiver.requests) <= receiver.fail_first
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.fail_status if failing else 200
            try:
                self.send_response(status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def webhook_receiver(**options: Any) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver, threading.Lock()))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class MailServer:
    """What the local SMTP server received; `rcpt_answer` (e.g. "550 no such user") refuses recipients."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    rcpt_answer: str | None = None


class _MailHandler:
    def __init__(self, mail: MailServer) -> None:
        self.mail = mail

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.mail.rcpt_answer is not None:
            return self.mail.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = (envelope.original_content or b"").replace(b"\r\n", b"\n")  # as written, not as on the wire
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mail.messages.append(parsed)
        self.mail.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted"


@contextmanager
def mail_server(**controller_options: Any) -> Iterator[MailServer]:
    """A local SMTP server; `controller_options` go to aiosmtpd (tls_context, ssl_context, authenticator...)."""
    mail = MailServer(port=free_port())
    controller = Controller(
        _MailHandler(mail), hostname="127.0.0.1", port=mail.port, ready_timeout=5, **controller_options
    )
    controller.start()
    try:
        yield mail
    finally:
        controller.stop()


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# ---- records shaped as the engine writes them
AT = "2026-01-02T10:00:00Z"


def send(n: int, channel: str = "email", status: str = "sent", at: str = AT, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "send",
        "journey": "welcome",
        "version": 1,
        "customer_id": f"c{n}",
        "instance": f"c{n}/welcome/1",
        "step": "hello",
        "at": at,
        "key": f"c{n}/welcome/1:hello:{n}",
        "channel": channel,
        "template": "hello",
        "status": status,
        "data": {"email": f"c{n}@example.test", "items": n},
        "body": f"Subject: Hello {n}\n\nHi there,\n\nyou have {n} items.\n",
        "cost": 0.002,
    }
    record.update(extra)
    return record


def call(n: int, name: str = "field_service") -> dict[str, Any]:
    return {
        "kind": "call",
        "journey": "welcome",
        "version": 1,
        "customer_id": f"c{n}",
        "instance": f"c{n}/welcome/1",
        "step": "book",
        "at": AT,
        "key": f"c{n}/welcome/1:book:{n}",
        "name": name,
        "data": {"zip": "28001"},
    }


def enter(n: int) -> dict[str, Any]:
    return {
        "kind": "enter",
        "journey": "welcome",
        "version": 1,
        "customer_id": f"c{n}",
        "instance": f"c{n}/welcome/1",
        "step": "start",
        "at": AT,
        "key": f"c{n}/welcome/1:start:0",
    }


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files), for TLS tests."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
