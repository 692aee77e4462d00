"""The delivery config (`serve --delivery FILE`, `journeydsl deliver --config FILE`): which sink takes which record.

Where it sits: in the runtime, below sinks.py (which builds a sink from a `SinkSpec`) and relay.py (which routes
records by the tables read here); it reads TOML with the standard library and imports nothing of the front end.

The file (TOML) has up to three kinds of tables, each naming a `sink` and that sink's options:

    [channels.email]            # send records on the channel `email` (not suppressed ones)
    sink = "webhook"
    url = "https://hooks.example.com/email"
    secret_env = "JOURNEYDSL_WEBHOOK_SECRET"   # the HMAC key, read from the environment at start
    [calls.field_service]       # call records named `field_service`
    sink = "smtp"
    host = "mail.example.com"
    from = "journeys@example.com"
    to_data = "email"           # the recipient is the record's data.email (or `to = "fixed@example.com"`)
    [default]                   # everything else; without it: stdout, one JSON line per record, as `run` prints
    sink = "jsonl"
    path = "records.jsonl"      # relative to the config file's folder

Sinks and their options (every table may also set the retry options below):
- webhook: url (http or https), secret_env (required: the name of the environment variable holding the HMAC key;
  unset or empty is an error at start), timeout (seconds, default 10).
- smtp: host (required), port (default 25, 465 with ssl, 587 with starttls), from (required), exactly one of `to`
  (a fixed address) or `to_data` (the field of the record's `data` holding the address: a record without it is
  dead at once), security ("starttls" (default), "ssl" or "none"), username with password_env (both or neither;
  refused with security "none", so a password never crosses the network in clear), timeout (default 30).
- jsonl: path (required; appended to, one JSON line per record, fsynced before the record counts as delivered).
- stdout: no options.
Retry options: max_attempts (default 12), backoff (seconds before the first retry, default 2; doubled each time,
with jitter) and backoff_max (the longest wait, default 1800): by default a sink may be down about an hour
before its records move to the dead deliveries.

Anything else (an unknown table, key or sink, a value of the wrong type) is a DeliveryConfigError naming the file,
the table, the key and, when it can be found in the text, the line.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

SinkKind = Literal["webhook", "smtp", "jsonl", "stdout"]
Security = Literal["starttls", "ssl", "none"]

SINK_KINDS: tuple[SinkKind, ...] = ("webhook", "smtp", "jsonl", "stdout")
SECURITIES: tuple[Security, ...] = ("starttls", "ssl", "none")

DEFAULT_MAX_ATTEMPTS = 12
DEFAULT_BACKOFF = 2.0
DEFAULT_BACKOFF_MAX = 1800.0
DEFAULT_WEBHOOK_TIMEOUT = 10.0
DEFAULT_SMTP_TIMEOUT = 30.0
SMTP_PORTS: dict[Security, int] = {"none": 25, "ssl": 465, "starttls": 587}

_RETRY_KEYS = ("max_attempts", "backoff", "backoff_max")
_SINK_KEYS: dict[SinkKind, tuple[str, ...]] = {
    "webhook": ("url", "secret_env", "timeout"),
    "smtp": ("host", "port", "from", "to", "to_data", "security", "username", "password_env", "timeout"),
    "jsonl": ("path",),
    "stdout": (),
}


class DeliveryConfigError(Exception):
    """A delivery config that cannot be used; the message names the file, table, key and line where known."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff: float = DEFAULT_BACKOFF
    backoff_max: float = DEFAULT_BACKOFF_MAX


@dataclass(frozen=True, slots=True)
class WebhookOptions:
    url: str
    secret_env: str
    secret: bytes = field(repr=False)
    timeout: float = DEFAULT_WEBHOOK_TIMEOUT


@dataclass(frozen=True, slots=True)
class SmtpOptions:
    host: str
    port: int
    sender: str
    to: str | None
    to_data: str | None
    security: Security
    username: str | None
    password: str | None = field(repr=False)
    timeout: float = DEFAULT_SMTP_TIMEOUT


@dataclass(frozen=True, slots=True)
class JsonlOptions:
    path: Path


@dataclass(frozen=True, slots=True)
class StdoutOptions:
    pass


SinkOptions = WebhookOptions | SmtpOptions | JsonlOptions | StdoutOptions


@dataclass(frozen=True, slots=True)
class SinkSpec:
    """One table of the config: `name` is the table ("channels.email", "calls.x", "default"), used in metrics."""

    name: str
    kind: SinkKind
    options: SinkOptions
    retry: RetryPolicy = RetryPolicy()


STDOUT_DEFAULT = SinkSpec("default", "stdout", StdoutOptions())


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    channels: dict[str, SinkSpec] = field(default_factory=dict)
    calls: dict[str, SinkSpec] = field(default_factory=dict)
    default: SinkSpec = STDOUT_DEFAULT
    source: str = "<defaults>"

    def specs(self) -> list[SinkSpec]:
        """Every table's spec, the default last."""
        return [*self.channels.values(), *self.calls.values(), self.default]


def default_config() -> DeliveryConfig:
    """No config: every record to standard output, one JSON line each, as `run` prints them."""
    return DeliveryConfig()


def load(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> DeliveryConfig:
    """Read and check the config file at `path`; secrets come from `environ` (default: os.environ)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeliveryConfigError(f"{source}: no such delivery config file") from None
    except UnicodeDecodeError as err:
        raise DeliveryConfigError(f"{source}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise DeliveryConfigError(f"{source}: cannot read the delivery config: {err.strerror or err}") from None
    return parse(text, str(source), source.parent, environ)


def parse(
    text: str, source: str = "<config>", base_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> DeliveryConfig:
    """The config in `text` (named `source` in errors); jsonl paths are relative to `base_dir` (default: cwd)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:  # its message ends with "(at line L, column C)"
        raise DeliveryConfigError(f"{source}: not valid TOML: {err}") from None
    reader = _Reader(text, source, base_dir or Path.cwd(), os.environ if environ is None else environ)
    return reader.config(document)


class _Reader:
    """Checks one parsed document, with the text at hand to find the line of a table or key for its errors."""

    def __init__(self, text: str, source: str, base_dir: Path, environ: Mapping[str, str]) -> None:
        self.lines = text.splitlines()
        self.source = source
        self.base_dir = base_dir
        self.environ = environ

    def error(self, table: str | None, key: str | None, message: str) -> DeliveryConfigError:
        line = self.line_of(table, key)
        where = f"{self.source}:{line}" if line else self.source
        if table is not None:
            where += f": [{table}]"
        if key is not None:
            where += f" {key}" if table is not None else f": {key}"
        return DeliveryConfigError(f"{where}: {message}")

    def line_of(self, table: str | None, key: str | None) -> int | None:
        """The 1-based line of `key` in the `[table]` section (or of the header itself); None when the text does
        not spell it as a plain header and key (inline tables, dotted keys)."""
        start = 0
        if table is None and key is not None:  # a top-level name: its own header, or an assignment before any
            header = re.compile(r'^\s*\[+\s*"?' + re.escape(key) + r'"?\s*[].]')
            found = next((n for n, line in enumerate(self.lines) if header.match(line)), None)
            if found is not None:
                return found + 1
        if table is not None:
            parts = [r'\s*"?' + re.escape(part) + r'"?\s*' for part in table.split(".", 1)]
            header = re.compile(r"^\s*\[" + r"\.".join(parts) + r"\]\s*(#.*)?$")
            found = next((n for n, line in enumerate(self.lines) if header.match(line)), None)
            if found is None:
                return None
            if key is None:
                return found + 1
            start = found + 1
        assignment = re.compile(r'^\s*"?' + re.escape(key or "") + r'"?\s*=')
        for n in range(start, len(self.lines)):
            line = self.lines[n]
            if re.match(r"^\s*\[", line):
                return None
            if assignment.match(line):
                return n + 1
        return None

    def config(self, document: dict[str, Any]) -> DeliveryConfig:
        for key in document:
            if key not in ("channels", "calls", "default"):
                kind = "table" if isinstance(document[key], dict) else "key"
                raise self.error(None, key, f"unknown {kind} (expected [channels.NAME], [calls.NAME] or [default])")
        channels = self.group(document, "channels")
        calls = self.group(document, "calls")
        default = STDOUT_DEFAULT
        if "default" in document:
            value = document["default"]
            if not isinstance(value, dict):
                raise self.error(None, "default", "must be a table ([default] with a `sink` key)")
            default = self.sink("default", value)
        return DeliveryConfig(channels, calls, default, self.source)

    def group(self, document: dict[str, Any], name: str) -> dict[str, SinkSpec]:
        value = document.get(name, {})
        if not isinstance(value, dict):
            raise self.error(None, name, f"must be tables [{name}.NAME], not a {_type_name(value)}")
        specs: dict[str, SinkSpec] = {}
        for entry, table in value.items():
            if not isinstance(table, dict):
                raise self.error(name, entry, f"must be a table [{name}.{entry}], not a {_type_name(table)}")
            specs[entry] = self.sink(f"{name}.{entry}", table)
        return specs

    def sink(self, name: str, table: dict[str, Any]) -> SinkSpec:
        if "sink" not in table:
            raise self.error(name, None, f"has no `sink` key (one of {', '.join(SINK_KINDS)})")
        kind = table["sink"]
        if kind not in SINK_KINDS:
            raise self.error(name, "sink", f"unknown sink {kind!r} (known: {', '.join(SINK_KINDS)})")
        allowed = {"sink", *_RETRY_KEYS, *_SINK_KEYS[kind]}
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(name, key, f"unknown key for a {kind} sink (known: {known})")
        retry = RetryPolicy(
            max_attempts=self.integer(name, table, "max_attempts", DEFAULT_MAX_ATTEMPTS, 1, 1000),
            backoff=self.seconds(name, table, "backoff", DEFAULT_BACKOFF),
            backoff_max=self.seconds(name, table, "backoff_max", DEFAULT_BACKOFF_MAX),
        )
        if retry.backoff_max < retry.backoff:
            raise self.error(name, "backoff_max", f"is shorter than backoff ({retry.backoff:g} s)")
        options: SinkOptions
        if kind == "webhook":
            options = self.webhook(name, table)
        elif kind == "smtp":
            options = self.smtp(name, table)
        elif kind == "jsonl":
            options = JsonlOptions(self.base_dir / self.need(name, table, "path"))
        else:
            options = StdoutOptions()
        return SinkSpec(name, kind, options, retry)

    def webhook(self, name: str, table: dict[str, Any]) -> WebhookOptions:
        url = self.need(name, table, "url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.error(name, "url", f"{url!r} is not an http:// or https:// URL with a host")
        env = self.need(name, table, "secret_env")
        return WebhookOptions(
            url=url,
            secret_env=env,
            secret=self.secret(name, "secret_env", env).encode(),
            timeout=self.seconds(name, table, "timeout", DEFAULT_WEBHOOK_TIMEOUT),
        )

    def smtp(self, name: str, table: dict[str, Any]) -> SmtpOptions:
        security = self.text(name, table, "security") or "starttls"
        if security not in SECURITIES:
            raise self.error(name, "security", f"{security!r} is not one of {', '.join(SECURITIES)}")
        sec: Security = security  # narrowed by the check above
        to = self.text(name, table, "to")
        to_data = self.text(name, table, "to_data")
        if (to is None) == (to_data is None):
            raise self.error(name, None, "needs exactly one of `to` (a fixed address) or `to_data` (a data field)")
        username = self.text(name, table, "username")
        password_env = self.text(name, table, "password_env")
        if (username is None) != (password_env is None):
            raise self.error(name, "username" if username else "password_env", "needs username and password_env")
        if username is not None and sec == "none":
            raise self.error(name, "security", 'is "none": refusing to send a password in clear (use starttls)')
        password = self.secret(name, "password_env", password_env) if password_env is not None else None
        return SmtpOptions(
            host=self.need(name, table, "host"),
            port=self.integer(name, table, "port", SMTP_PORTS[sec], 1, 65535),
            sender=self.need(name, table, "from"),
            to=to,
            to_data=to_data,
            security=sec,
            username=username,
            password=password,
            timeout=self.seconds(name, table, "timeout", DEFAULT_SMTP_TIMEOUT),
        )

    def secret(self, name: str, key: str, env: str) -> str:
        value = self.environ.get(env)
        if not value:
            state = "is empty" if value == "" else "is not set"
            raise self.error(name, key, f"the environment variable {env} {state}")
        return value

    def need(self, name: str, table: dict[str, Any], key: str) -> str:
        value = self.text(name, table, key)
        if value is None:
            raise self.error(name, None, f"has no `{key}` key (required for a {table['sink']} sink)")
        return value

    def text(self, name: str, table: dict[str, Any], key: str) -> str | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, str):
            raise self.error(name, key, f"must be a string, not a {_type_name(value)}")
        if not value.strip():
            raise self.error(name, key, "must not be empty")
        return value

    def integer(self, name: str, table: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, key, f"must be an integer, not a {_type_name(value)}")
        if not low <= value <= high:
            raise self.error(name, key, f"{value} is out of range ({low}..{high})")
        return value

    def seconds(self, name: str, table: dict[str, Any], key: str, default: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(name, key, f"must be a number of seconds, not a {_type_name(value)}")
        if not 0 < value <= 86400:  # also refuses nan and inf
            raise self.error(name, key, f"{value} is not a number of seconds in (0, 86400]")
        return float(value)


def _type_name(value: object) -> str:
    names = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "table", list: "array"}
    return names.get(type(value), type(value).__name__)
