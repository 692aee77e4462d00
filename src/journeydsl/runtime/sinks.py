"""Sinks: where the relay hands one action record, and what the far end answered.

Where it sits: in the runtime, built from delivery_config.py's specs and called by relay.py (the only caller); it
imports nothing of the front end. Every sink gets the record and its JSON bytes (`jsonio.dumps`, exactly the line
`run` prints, without the newline) and answers with an Outcome:
- accepted: the far end has the record; the relay marks it delivered (never before this).
- retry(reason): try again later (network errors, timeouts, 5xx, 408/425/429, SMTP 4xx, a full disk).
- permanent(reason): retrying cannot help (webhook 3xx and other 4xx, SMTP 5xx, a record without an address):
  the relay moves it to the dead deliveries at once instead of retrying a 400 until max_attempts.
A sink never raises for a delivery that failed; the relay treats an exception anyway as a retry (a bug in a sink
must not stop the worker).

Webhook 401 and 403 are retried, not dead at once: they mean a wrong secret or token on one side, which an
operator fixes for every record together, so records wait (up to max_attempts) instead of dying by the thousand.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import smtplib
import ssl
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parsedate_to_datetime
from typing import IO, Any, Literal

import httpx

from journeydsl.runtime.delivery import OutputError, flush, write_all
from journeydsl.runtime.delivery_config import (
    JsonlOptions,
    SinkSpec,
    SmtpOptions,
    StdoutOptions,
    WebhookOptions,
)
from journeydsl.runtime.templates import split_subject

OutcomeKind = Literal["accepted", "retry", "permanent"]

# HTTP statuses under 500 that may well pass on a later try: timeout, too early, too many requests, and the
# authentication ones (see the module docstring).
RETRIED_4XX = frozenset({401, 403, 408, 425, 429})

SIGNATURE_HEADER = "X-Journeydsl-Signature"
KEY_HEADER = "X-Journeydsl-Key"


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    reason: str = ""
    # A wait the far end asked for (HTTP Retry-After), in seconds: the relay waits at least this long.
    retry_after: float | None = None


ACCEPTED = Outcome("accepted")


def retry(reason: str, after: float | None = None) -> Outcome:
    return Outcome("retry", reason, after)


def permanent(reason: str) -> Outcome:
    return Outcome("permanent", reason)


class RecordSink(ABC):
    """One table of the delivery config, ready to send. `timeout` bounds one `send` (the relay's lease counts
    on it); a local sink (a file, a stream) takes it to be a second."""

    timeout: float = 1.0

    def __init__(self, spec: SinkSpec) -> None:
        self.spec = spec
        self.name = spec.name

    @abstractmethod
    def send(self, record: dict[str, Any], body: bytes) -> Outcome: ...

    def close(self) -> None:  # noqa: B027 - a sink holding no connection or file has nothing to close
        """Release connections and files."""


def signature(secret: bytes, body: bytes) -> str:
    """The X-Journeydsl-Signature value: `sha256=` and the hex HMAC-SHA256 of the body under the secret."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSink(RecordSink):
    """POSTs the record's JSON; the receiver checks the signature and drops repeats by Idempotency-Key (the record
    key: a record delivered twice, after a crash or a lost answer, has the same key). Redirects are not followed:
    a signed body goes only to the configured URL."""

    def __init__(self, spec: SinkSpec, options: WebhookOptions, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(spec)
        self.options = options
        self.timeout = options.timeout
        self.client = httpx.Client(
            timeout=httpx.Timeout(options.timeout),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "journeydsl-relay"},
        )

    def send(self, record: dict[str, Any], body: bytes) -> Outcome:
        key = str(record.get("key", ""))
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in key):
            return permanent(f"the record key {key!r} holds a control character, which no HTTP header may carry")
        # Header values as UTF-8 bytes: a record key is the customer id and step, and may hold any character.
        headers = {
            b"Content-Type": b"application/json",
            b"Idempotency-Key": key.encode(),
            SIGNATURE_HEADER.encode(): signature(self.options.secret, body).encode(),
        }
        try:
            response = self.client.post(self.options.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return retry(f"no answer from {self.options.url} within {self.options.timeout:g} s")
        except httpx.TransportError as err:
            return retry(f"{self.options.url}: {type(err).__name__}: {err}")
        except httpx.HTTPError as err:  # a request httpx refuses to build (a header with a line break): never valid
            return permanent(f"{self.options.url}: {type(err).__name__}: {err}")
        status = response.status_code
        if 200 <= status < 300:
            return ACCEPTED
        what = f"{self.options.url} answered {status} {response.reason_phrase}".rstrip()
        if status >= 500 or status in RETRIED_4XX:
            return retry(what, retry_after_seconds(response.headers.get("retry-after")))
        return permanent(what)

    def close(self) -> None:
        self.client.close()


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from now; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text[:9]))
    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class SmtpSink(RecordSink):
    """Sends a send record's body as a plain-text email: the body's first line `Subject: ...` is the subject, the
    rest the text. Message-ID is derived from the record key (a retry repeats it, so a receiving system can drop
    the copy), and X-Journeydsl-Key carries the key itself. One connection, kept open between records and opened
    again when the server dropped it."""

    def __init__(self, spec: SinkSpec, options: SmtpOptions) -> None:
        super().__init__(spec)
        self.options = options
        self.timeout = options.timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        o = self.options
        smtp: smtplib.SMTP
        if o.security == "ssl":
            smtp = smtplib.SMTP_SSL(o.host, o.port, timeout=o.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(o.host, o.port, timeout=o.timeout)
        try:
            if o.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if o.username is not None and o.password is not None:
                smtp.login(o.username, o.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def message(self, record: dict[str, Any]) -> EmailMessage | Outcome:
        """The email for `record`, or the permanent Outcome that says why there can be none."""
        body = record.get("body")
        if not isinstance(body, str):
            return permanent(f"a {record.get('kind')} record without a text body cannot go by email")
        to = self.options.to
        if to is None:
            field = self.options.to_data
            data = record.get("data")
            found = data.get(field) if isinstance(data, dict) else None
            if not isinstance(found, str) or "@" not in found:
                return permanent(f"the record's data.{field} is not an email address: {found!r}")
            to = found
        subject = record.get("subject")
        text = body
        if not isinstance(subject, str):  # a record from before sends carried their subject apart
            subject, text = split_subject(body)
        if subject is None:
            subject = f"{record.get('journey')}: {record.get('template')}"
        key = str(record.get("key", ""))
        message = EmailMessage()
        try:
            message["From"] = self.options.sender
            message["To"] = to
            message["Subject"] = subject
            message["Date"] = formatdate(usegmt=True)
            message["Message-ID"] = message_id(key, self.options.sender)
            message[KEY_HEADER] = key
        except (ValueError, TypeError) as err:  # a line break or an unparsable address in a header
            return permanent(f"cannot build the email: {err}")
        message.set_content(text)
        return message

    def send(self, record: dict[str, Any], body: bytes) -> Outcome:
        message = self.message(record)
        if isinstance(message, Outcome):
            return message
        reused = self._smtp is not None
        try:
            try:
                self._send(message)
            except smtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                self._send(message)  # the kept connection had timed out on the server's side: once more, fresh
        except smtplib.SMTPRecipientsRefused as err:
            self.close()
            codes = [code for code, _ in err.recipients.values()]
            text = "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in err.recipients.items())
            return _by_code(min(codes, default=500), f"recipient refused: {text}")
        except smtplib.SMTPAuthenticationError as err:
            self.close()
            return retry(f"{self.options.host}: login refused: {err.smtp_code} {_text(err.smtp_error)}")
        except smtplib.SMTPResponseException as err:
            self.close()
            return _by_code(err.smtp_code, f"{self.options.host} answered {err.smtp_code} {_text(err.smtp_error)}")
        except (smtplib.SMTPException, OSError) as err:  # refused or dropped connections, timeouts, TLS
            self.close()
            return retry(f"{self.options.host}:{self.options.port}: {type(err).__name__}: {err}")
        return ACCEPTED

    def _send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self._smtp = None
            raise

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _by_code(code: int, reason: str) -> Outcome:
    """SMTP's own split: 4xx try again later, 5xx never."""
    return retry(reason) if code < 500 else permanent(reason)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def message_id(key: str, sender: str) -> str:
    """A Message-ID that is the same for every delivery of the record `key`, at the sender's domain."""
    domain = sender.rpartition("@")[2].strip("<> ") or "journeydsl.invalid"
    return f"<jd.{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


class JsonlSink(RecordSink):
    """Appends one JSON line per record to a file (opened with O_APPEND, so several workers may share it: one write
    per line) and fsyncs it before the record counts as delivered."""

    def __init__(self, spec: SinkSpec, options: JsonlOptions) -> None:
        super().__init__(spec)
        self.path = options.path
        self._file: IO[bytes] | None = None

    def send(self, record: dict[str, Any], body: bytes) -> Outcome:
        try:
            if self._file is None:
                self._file = open(self.path, "ab", buffering=0)  # kept open between records
            write_all(self._file, body + b"\n")
            os.fsync(self._file.fileno())
        except (OSError, OutputError) as err:
            self.close()  # reopened on the next record: the file may have been rotated or its disk remounted
            return retry(f"{self.path}: {err.strerror if isinstance(err, OSError) else err}")
        return ACCEPTED

    def close(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            try:
                handle.close()
            except OSError:
                pass


class StdoutSink(RecordSink):
    """One JSON line per record on standard output (or `out`), flushed: the bytes `journeydsl run` prints."""

    def __init__(self, spec: SinkSpec, out: IO[bytes] | None = None) -> None:
        super().__init__(spec)
        self.out = out

    def send(self, record: dict[str, Any], body: bytes) -> Outcome:
        out = self.out
        try:
            if out is None:
                if sys.stdout is None:
                    raise OutputError("standard output is closed")
                out = sys.stdout.buffer
            write_all(out, body + b"\n")
            flush(out)
        except OutputError as err:
            return retry(f"standard output: {err}")
        return ACCEPTED


def build_sink(spec: SinkSpec, out: IO[bytes] | None = None) -> RecordSink:
    """The sink a config table describes; `out` replaces standard output for stdout sinks (tests, serve)."""
    options = spec.options
    if isinstance(options, WebhookOptions):
        return WebhookSink(spec, options)
    if isinstance(options, SmtpOptions):
        return SmtpSink(spec, options)
    if isinstance(options, JsonlOptions):
        return JsonlSink(spec, options)
    if isinstance(options, StdoutOptions):
        return StdoutSink(spec, out)
    raise TypeError(f"no sink for {type(options).__name__}")  # a new kind in delivery_config without a sink here
