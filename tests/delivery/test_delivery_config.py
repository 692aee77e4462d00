"""The delivery config: what a valid file gives, and a clear error (file, table, key, line) for every bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeydsl.runtime.delivery_config import (
    DEFAULT_MAX_ATTEMPTS,
    DeliveryConfigError,
    JsonlOptions,
    SmtpOptions,
    StdoutOptions,
    WebhookOptions,
    load,
    parse,
)

ENV = {"HOOK_SECRET": "k1", "SMTP_PASSWORD": "pw"}

FULL = """\
# every kind of table
[channels.email]
sink = "webhook"
url = "https://hooks.example.com/email"
secret_env = "HOOK_SECRET"
timeout = 3
max_attempts = 5
backoff = 0.5
backoff_max = 60

[channels.sms]
sink = "smtp"
host = "mail.example.com"
from = "journeys@example.com"
to_data = "email"
username = "relay"
password_env = "SMTP_PASSWORD"

[calls.field_service]
sink = "jsonl"
path = "calls.jsonl"

[default]
sink = "stdout"
"""


def test_a_full_config_reads_every_table(tmp_path: Path) -> None:
    path = tmp_path / "delivery.toml"
    path.write_text(FULL, encoding="utf-8")
    config = load(path, ENV)
    email = config.channels["email"]
    assert email.name == "channels.email" and email.kind == "webhook"
    assert isinstance(email.options, WebhookOptions)
    assert email.options.secret == b"k1" and email.options.timeout == 3.0
    assert (email.retry.max_attempts, email.retry.backoff, email.retry.backoff_max) == (5, 0.5, 60.0)
    assert "k1" not in repr(email)  # the secret stays out of logs and tracebacks
    sms = config.channels["sms"].options
    assert isinstance(sms, SmtpOptions)
    assert (sms.security, sms.port, sms.to, sms.to_data, sms.password) == ("starttls", 587, None, "email", "pw")
    assert "pw" not in repr(sms)
    calls = config.calls["field_service"]
    assert isinstance(calls.options, JsonlOptions)
    assert calls.options.path == tmp_path / "calls.jsonl"  # relative to the config file's folder
    assert calls.retry.max_attempts == DEFAULT_MAX_ATTEMPTS
    assert isinstance(config.default.options, StdoutOptions)
    assert [spec.name for spec in config.specs()] == [
        "channels.email",
        "channels.sms",
        "calls.field_service",
        "default",
    ]


def test_an_empty_config_sends_everything_to_stdout() -> None:
    config = parse("", environ={})
    assert config.channels == {} and config.calls == {}
    assert config.default.kind == "stdout"


@pytest.mark.parametrize(
    ("security", "port"), [("ssl", 465), ("none", 25), ("starttls", 587)], ids=["ssl", "none", "starttls"]
)
def test_smtp_port_follows_security(security: str, port: int) -> None:
    text = f'[default]\nsink = "smtp"\nhost = "h"\nfrom = "a@b"\nto = "c@d"\nsecurity = "{security}"\n'
    options = parse(text, environ={}).default.options
    assert isinstance(options, SmtpOptions) and options.port == port


WEBHOOK = '[channels.email]\nsink = "webhook"\nurl = "http://127.0.0.1:9/x"\nsecret_env = "HOOK_SECRET"\n'
SMTP = '[calls.mail]\nsink = "smtp"\nhost = "localhost"\nfrom = "a@b"\n'

BAD = {
    "syntax": ('[channels.email\nsink = "x"\n', "cfg.toml: not valid TOML: ", "line 1"),
    "unknown top table": ('[channel.email]\nsink = "stdout"\n', "cfg.toml:1: channel: unknown table", ""),
    "unknown top key": ('sink = "stdout"\n', "cfg.toml:1: sink: unknown key", ""),
    "channels not tables": ('channels = "email"\n', "cfg.toml:1: channels: must be tables", ""),
    "channel not a table": ('[channels]\nemail = "webhook"\n', "cfg.toml:2: [channels] email: must be a table", ""),
    "default not a table": ("default = 3\n", "cfg.toml:1: default: must be a table", ""),
    "no sink": ('[channels.email]\nurl = "x"\n', "cfg.toml:1: [channels.email]: has no `sink` key", ""),
    "unknown sink": (
        '[channels.email]\nsink = "kafka"\n',
        "cfg.toml:2: [channels.email] sink: unknown sink 'kafka'",
        "webhook, smtp, jsonl, stdout",
    ),
    "unknown key": (
        WEBHOOK + "retries = 3\n",
        "cfg.toml:5: [channels.email] retries: unknown key for a webhook sink",
        "max_attempts",
    ),
    "key of another sink": ('[default]\nsink = "stdout"\npath = "x"\n', "cfg.toml:3: [default] path: unknown key", ""),
    "timeout a string": (WEBHOOK + 'timeout = "10"\n', "cfg.toml:5: [channels.email] timeout: must be a number", ""),
    "timeout negative": (WEBHOOK + "timeout = -1\n", "cfg.toml:5: [channels.email] timeout: -1 is not", ""),
    "timeout inf": (WEBHOOK + "timeout = inf\n", "[channels.email] timeout: inf is not", ""),
    "attempts bool": (WEBHOOK + "max_attempts = true\n", "[channels.email] max_attempts: must be an integer", ""),
    "attempts zero": (WEBHOOK + "max_attempts = 0\n", "[channels.email] max_attempts: 0 is out of range", ""),
    "backoff_max short": (
        WEBHOOK + "backoff = 10\nbackoff_max = 5\n",
        "cfg.toml:6: [channels.email] backoff_max: is shorter than backoff",
        "",
    ),
    "url ftp": (
        '[channels.email]\nsink = "webhook"\nurl = "ftp://x/y"\nsecret_env = "HOOK_SECRET"\n',
        "cfg.toml:3: [channels.email] url: 'ftp://x/y' is not an http:// or https:// URL",
        "",
    ),
    "url no host": (
        '[channels.email]\nsink = "webhook"\nurl = "http:///path"\nsecret_env = "HOOK_SECRET"\n',
        "[channels.email] url: 'http:///path' is not",
        "",
    ),
    "url missing": ('[channels.email]\nsink = "webhook"\nsecret_env = "S"\n', "has no `url` key", "webhook sink"),
    "url a number": ('[channels.email]\nsink = "webhook"\nurl = 3\n', "[channels.email] url: must be a string", ""),
    "url empty": ('[channels.email]\nsink = "webhook"\nurl = " "\n', "[channels.email] url: must not be empty", ""),
    "secret_env missing": (
        '[channels.email]\nsink = "webhook"\nurl = "http://h/"\n',
        "cfg.toml:1: [channels.email]: has no `secret_env` key",
        "",
    ),
    "secret unset": (
        WEBHOOK.replace("HOOK_SECRET", "NOT_THERE"),
        "cfg.toml:4: [channels.email] secret_env: the environment variable NOT_THERE is not set",
        "",
    ),
    "secret empty": (
        WEBHOOK.replace("HOOK_SECRET", "EMPTY"),
        "[channels.email] secret_env: the environment variable EMPTY is empty",
        "",
    ),
    "smtp to and to_data": (SMTP + 'to = "x@y"\nto_data = "email"\n', "[calls.mail]: needs exactly one of `to`", ""),
    "smtp no recipient": (SMTP, "cfg.toml:1: [calls.mail]: needs exactly one of `to`", ""),
    "smtp no host": ('[calls.mail]\nsink = "smtp"\nfrom = "a@b"\nto = "c@d"\n', "has no `host` key", ""),
    "smtp security": (SMTP + 'to = "x@y"\nsecurity = "tls"\n', "cfg.toml:6: [calls.mail] security: 'tls'", ""),
    "smtp port": (SMTP + 'to = "x@y"\nport = 70000\n', "cfg.toml:6: [calls.mail] port: 70000 is out of range", ""),
    "smtp user alone": (SMTP + 'to = "x@y"\nusername = "u"\n', "[calls.mail] username: needs username and", ""),
    "smtp password in clear": (
        SMTP + 'to = "x@y"\nusername = "u"\npassword_env = "SMTP_PASSWORD"\nsecurity = "none"\n',
        'cfg.toml:8: [calls.mail] security: is "none": refusing to send a password in clear',
        "",
    ),
    "jsonl no path": ('[default]\nsink = "jsonl"\n', "cfg.toml:1: [default]: has no `path` key", ""),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_configs_are_refused_with_file_table_key_and_line(case: str) -> None:
    text, start, also = BAD[case]
    with pytest.raises(DeliveryConfigError) as caught:
        parse(text, "cfg.toml", environ={"HOOK_SECRET": "k", "SMTP_PASSWORD": "p", "EMPTY": ""})
    message = str(caught.value)
    assert message.startswith("cfg.toml") and start in message, message
    assert also in message


def test_the_line_is_found_under_quoted_headers_and_keys() -> None:
    text = '# a comment\n[ channels . "e-mail" ]  # quoted\n"sink" = "webhook"\n"bogus" = 1\n'
    with pytest.raises(DeliveryConfigError, match=r"^cfg.toml:4: \[channels.e-mail\] bogus: unknown key"):
        parse(text, "cfg.toml", environ={})


def test_no_line_when_the_text_spells_the_table_inline() -> None:
    text = 'channels = { email = { sink = "webhook", url = "x", secret_env = "S", nope = 1 } }\n'
    with pytest.raises(DeliveryConfigError, match=r"^cfg.toml: \[channels.email\] nope: unknown key"):
        parse(text, "cfg.toml", environ={"S": "k"})


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DeliveryConfigError, match="nope.toml: no such delivery config file"):
        load(tmp_path / "nope.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'[default]\nsink = "stdout" # caf\xe9\n')
    with pytest.raises(DeliveryConfigError, match="latin.toml: not UTF-8 text"):
        load(latin)
    with pytest.raises(DeliveryConfigError, match="cannot read the delivery config"):
        load(tmp_path)  # a folder


def test_secrets_come_from_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JD_TEST_HOOK_SECRET", "from-env")
    options = parse(WEBHOOK.replace("HOOK_SECRET", "JD_TEST_HOOK_SECRET")).channels["email"].options
    assert isinstance(options, WebhookOptions) and options.secret == b"from-env"
