"""Each sink against a real far end (a local HTTP receiver, a local SMTP server, files, streams): what it sends,
and how it classifies every kind of refusal (accepted, retry, permanent)."""

from __future__ import annotations

import io
import smtplib
import ssl
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import AuthResult
from delivery_support import SECRET, call, free_port, mail_server, self_signed, send, webhook_receiver

from journeydsl.runtime.delivery_config import (
    JsonlOptions,
    SinkSpec,
    SmtpOptions,
    StdoutOptions,
    WebhookOptions,
    parse,
)
from journeydsl.runtime.jsonio import dumps
from journeydsl.runtime.sinks import (
    JsonlSink,
    SmtpSink,
    StdoutSink,
    WebhookSink,
    build_sink,
    message_id,
    retry_after_seconds,
    signature,
)
from journeydsl.runtime.templates import split_subject


def webhook(url: str, timeout: float = 5.0, transport: httpx.BaseTransport | None = None) -> WebhookSink:
    options = WebhookOptions(url=url, secret_env="S", secret=SECRET.encode(), timeout=timeout)
    return WebhookSink(SinkSpec("channels.email", "webhook", options), options, transport)


def test_webhook_posts_the_record_signed_with_its_key() -> None:
    record = send(1)
    body = dumps(record)
    with webhook_receiver() as receiver:
        sink = webhook(receiver.url + "/email")
        try:
            assert sink.send(record, body).kind == "accepted"
        finally:
            sink.close()
    [got] = receiver.requests
    assert got.path == "/email"
    assert got.body == body  # exactly the line `run` prints, without its newline
    assert got.signature_ok
    assert got.key == record["key"]
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Journeydsl-Signature"] == signature(SECRET.encode(), body)


def test_webhook_sends_a_non_ascii_key_as_utf8() -> None:
    record = send(2, customer_id="cliente-ñ", key="cliente-ñ/welcome/1:hello:2")
    with webhook_receiver() as receiver:
        sink = webhook(receiver.url)
        assert sink.send(record, dumps(record)).kind == "accepted"
        sink.close()
    assert receiver.requests[0].key == "cliente-ñ/welcome/1:hello:2"


def test_a_wrong_secret_does_not_verify() -> None:
    with webhook_receiver(secret=b"other") as receiver:
        sink = webhook(receiver.url)
        sink.send(send(1), dumps(send(1)))
        sink.close()
    assert not receiver.requests[0].signature_ok


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, "accepted"),
        (201, "accepted"),
        (204, "accepted"),
        (301, "permanent"),
        (400, "permanent"),
        (404, "permanent"),
        (422, "permanent"),
        (401, "retry"),
        (403, "retry"),
        (408, "retry"),
        (425, "retry"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
    ],
)
def test_webhook_statuses(status: int, kind: str) -> None:
    sink = webhook("http://hooks.test/x", transport=httpx.MockTransport(lambda request: httpx.Response(status)))
    outcome = sink.send(send(1), b"{}")
    assert outcome.kind == kind
    if kind != "accepted":
        assert f"http://hooks.test/x answered {status}" in outcome.reason


def test_webhook_retry_after_is_passed_on() -> None:
    answer = httpx.Response(429, headers={"Retry-After": "120"})
    sink = webhook("http://hooks.test/x", transport=httpx.MockTransport(lambda request: answer))
    outcome = sink.send(send(1), b"{}")
    assert (outcome.kind, outcome.retry_after) == ("retry", 120.0)


def test_retry_after_forms() -> None:
    now = 1_767_000_000.0
    later = format_datetime(datetime.fromtimestamp(now + 30, UTC), usegmt=True)
    assert retry_after_seconds(later, now=now) == pytest.approx(30.0)
    assert retry_after_seconds(" 7 ") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-3") is None
    earlier = format_datetime(datetime.fromtimestamp(now - 30, UTC), usegmt=True)
    assert retry_after_seconds(earlier, now=now) == 0.0


def test_webhook_timeout_and_refused_connection_are_retried() -> None:
    with webhook_receiver(delay=1.0) as receiver:
        sink = webhook(receiver.url, timeout=0.2)
        outcome = sink.send(send(1), b"{}")
        sink.close()
    assert outcome.kind == "retry" and "no answer" in outcome.reason and "0.2 s" in outcome.reason
    sink = webhook(f"http://127.0.0.1:{free_port()}/x", timeout=2)
    outcome = sink.send(send(1), b"{}")
    sink.close()
    assert outcome.kind == "retry" and "ConnectError" in outcome.reason


def test_a_key_with_a_line_break_is_never_sendable() -> None:
    with webhook_receiver() as receiver:
        sink = webhook(receiver.url)
        outcome = sink.send(send(1, key="a\r\nInjected: yes"), b"{}")
        sink.close()
    assert outcome.kind == "permanent" and "control character" in outcome.reason
    assert receiver.requests == []


# ---- SMTP


def smtp_sink(port: int, **changes: Any) -> SmtpSink:
    fields: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "journeys@example.test",
        "to": None,
        "to_data": "email",
        "security": "none",
        "username": None,
        "password": None,
        "timeout": 5.0,
    }
    fields.update(changes)
    options = SmtpOptions(**fields)
    return SmtpSink(SinkSpec("channels.email", "smtp", options), options)


def test_smtp_sends_subject_text_and_a_message_id_from_the_key() -> None:
    with mail_server() as mail:
        sink = smtp_sink(mail.port)
        try:
            assert sink.send(send(1), b"").kind == "accepted"
            assert sink.send(send(1), b"").kind == "accepted"  # a retry of the same record, same connection
            assert sink.send(send(2), b"").kind == "accepted"
        finally:
            sink.close()
    first, again, other = mail.messages
    assert first["Subject"] == "Hello 1"
    assert first["To"] == "c1@example.test" and first["From"] == "journeys@example.test"
    assert first.get_content() == "Hi there,\n\nyou have 1 items.\n"
    assert first["X-Journeydsl-Key"] == send(1)["key"]
    assert first["Message-ID"] == again["Message-ID"] == message_id(send(1)["key"], "journeys@example.test")
    assert other["Message-ID"] != first["Message-ID"]
    assert first["Message-ID"].endswith("@example.test>")
    assert mail.envelopes[0] == ("journeys@example.test", ["c1@example.test"])


def test_smtp_fixed_recipient_and_a_body_without_subject() -> None:
    record = send(3, body="Just text\nno subject")
    with mail_server() as mail:
        sink = smtp_sink(mail.port, to="ops@example.test", to_data=None)
        assert sink.send(record, b"").kind == "accepted"
        sink.close()
    [got] = mail.messages
    assert got["To"] == "ops@example.test"
    assert got["Subject"] == "welcome: hello"  # journey and template when the body names no subject
    assert got.get_content() == "Just text\nno subject\n"


def test_smtp_reconnects_when_the_server_dropped_the_kept_connection() -> None:
    with mail_server() as mail:
        sink = smtp_sink(mail.port)
        assert sink.send(send(1), b"").kind == "accepted"
        assert sink._smtp is not None
        sink._smtp.sock.close()  # type: ignore[union-attr]  # as a server's idle timeout would
        assert sink.send(send(2), b"").kind == "accepted"
        sink.close()
    assert [m["Subject"] for m in mail.messages] == ["Hello 1", "Hello 2"]


@pytest.mark.parametrize(
    ("answer", "kind"), [("550 no such user", "permanent"), ("451 try later", "retry")], ids=["550", "451"]
)
def test_smtp_refused_recipients(answer: str, kind: str) -> None:
    with mail_server() as mail:
        mail.rcpt_answer = answer
        sink = smtp_sink(mail.port)
        outcome = sink.send(send(1), b"")
        sink.close()
    assert outcome.kind == kind
    assert "recipient refused" in outcome.reason and answer.split()[0] in outcome.reason


def test_smtp_records_that_cannot_be_emails_are_permanent() -> None:
    sink = smtp_sink(free_port())  # never connected: refused before any network
    no_address = send(1)
    no_address["data"] = {"items": 1}
    outcome = sink.send(no_address, b"")
    assert outcome.kind == "permanent" and "data.email is not an email address: None" in outcome.reason
    outcome = sink.send(call(1), b"")
    assert outcome.kind == "permanent" and "a call record without a text body" in outcome.reason
    injected = send(2)
    injected["data"]["email"] = "a@b\nBcc: everyone@example.test"
    outcome = sink.send(injected, b"")
    assert outcome.kind == "permanent" and "cannot build the email" in outcome.reason


def test_smtp_server_down_is_retried() -> None:
    sink = smtp_sink(free_port())
    outcome = sink.send(send(1), b"")
    assert outcome.kind == "retry" and "ConnectionRefusedError" in outcome.reason


def test_smtp_starttls_refused_by_a_server_without_it_is_retried() -> None:
    with mail_server() as mail:
        sink = smtp_sink(mail.port, security="starttls")
        outcome = sink.send(send(1), b"")
        sink.close()
    assert outcome.kind == "retry" and "SMTPNotSupportedError" in outcome.reason
    assert mail.messages == []


def test_smtp_login_refused_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: smtplib.SMTP, user: str, password: str, **_: Any) -> None:
        raise smtplib.SMTPAuthenticationError(535, b"bad credentials")

    monkeypatch.setattr(smtplib.SMTP, "login", refuse)
    with mail_server() as mail:
        sink = smtp_sink(mail.port, security="none", username="u", password="p")
        outcome = sink.send(send(1), b"")
        sink.close()
    assert outcome.kind == "retry" and "login refused: 535 bad credentials" in outcome.reason


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context with a self-signed certificate that the sinks' default client context trusts."""
    cert, key = self_signed(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: real(cafile=str(cert)))
    return server


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    return AuthResult(success=(data.login, data.password) == (b"relay", b"pw"))


@pytest.mark.parametrize("password", ["pw", "wrong"])
def test_smtp_starttls_and_login(tls: ssl.SSLContext, password: str) -> None:
    with mail_server(tls_context=tls, require_starttls=True, authenticator=_authenticator) as mail:
        sink = smtp_sink(mail.port, security="starttls", username="relay", password=password, timeout=1.0)
        outcome = sink.send(send(1), b"")
        sink.close()
    if password == "pw":
        assert outcome.kind == "accepted"
        assert [m["Subject"] for m in mail.messages] == ["Hello 1"]
    else:  # a refused login waits for an operator instead of killing every record (aiosmtpd answers 535 to PLAIN,
        # then leaves smtplib's LOGIN fallback unanswered: a timeout; either way a retry)
        assert outcome.kind == "retry"
        assert mail.messages == []


def test_smtp_implicit_tls(tls: ssl.SSLContext) -> None:
    with mail_server(ssl_context=tls) as mail:
        sink = smtp_sink(mail.port, security="ssl")
        assert sink.send(send(1), b"").kind == "accepted"
        sink.close()
    assert len(mail.messages) == 1


def test_smtp_refuses_an_untrusted_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    with mail_server(tls_context=server, require_starttls=True) as mail:
        sink = smtp_sink(mail.port, security="starttls")  # the system's CAs do not know this certificate
        outcome = sink.send(send(1), b"")
        sink.close()
    assert outcome.kind == "retry" and "CERTIFICATE_VERIFY_FAILED" in outcome.reason
    assert mail.messages == []


def test_split_subject() -> None:
    assert split_subject("Subject: Hi\n\nText\nmore") == ("Hi", "Text\nmore")
    assert split_subject("Subject:  Hi  \nText") == ("Hi", "Text")
    assert split_subject("Subject: only") == ("only", "")
    assert split_subject("Hello\n\nText") == (None, "Hello\n\nText")


# ---- files and streams


def test_jsonl_appends_lines_and_survives_a_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.jsonl"
    sink = JsonlSink(SinkSpec("default", "jsonl", JsonlOptions(path)), JsonlOptions(path))
    outcome = sink.send(send(1), dumps(send(1)))
    assert outcome.kind == "retry" and str(path) in outcome.reason  # no folder: retried, not lost
    path.parent.mkdir()
    for n in (1, 2):
        assert sink.send(send(n), dumps(send(n))).kind == "accepted"
    sink.close()
    assert path.read_bytes() == dumps(send(1)) + b"\n" + dumps(send(2)) + b"\n"


class _Broken(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise OSError(28, "No space left on device")


def test_stdout_writes_the_line_and_retries_a_failed_write() -> None:
    out = io.BytesIO()
    sink = StdoutSink(SinkSpec("default", "stdout", StdoutOptions()), out)
    assert sink.send(send(1), dumps(send(1))).kind == "accepted"
    assert out.getvalue() == dumps(send(1)) + b"\n"
    broken = StdoutSink(SinkSpec("default", "stdout", StdoutOptions()), _Broken())  # type: ignore[arg-type]
    outcome = broken.send(send(1), b"{}")
    assert outcome.kind == "retry" and "No space left on device" in outcome.reason


def test_build_sink_makes_the_sink_of_each_kind(tmp_path: Path) -> None:
    text = f"""
[channels.email]
sink = "webhook"
url = "http://127.0.0.1:9/x"
secret_env = "S"
[channels.sms]
sink = "smtp"
host = "127.0.0.1"
from = "a@b"
to = "c@d"
security = "none"
[calls.x]
sink = "jsonl"
path = "{tmp_path / "x.jsonl"}"
"""
    config = parse(text, environ={"S": "k"})
    kinds = [type(build_sink(spec)).__name__ for spec in config.specs()]
    assert kinds == ["WebhookSink", "SmtpSink", "JsonlSink", "StdoutSink"]
