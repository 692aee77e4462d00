"""`journeydsl status` counts the sends a contact policy holds until its settle time decides them (per journey and
channel), on every store: from memory, and in SQL over the committed customers of SQLite and PostgreSQL plus the
ones of the open batch; and a damaged waiting send is refused with a StoreError naming the store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from policy_support import T0, policy, policy_bundle, visit

from journeydsl.cli import main
from journeydsl.compile.bundle import write_bundle
from journeydsl.runtime import Engine, open_store
from journeydsl.runtime import state as S
from journeydsl.runtime.aggregates import WaitingSends
from journeydsl.runtime.inflight import in_flight, in_flight_text
from journeydsl.runtime.state import next_due as _due_of
from journeydsl.runtime.store import StoreError

KINDS = ("memory", "sqlite", "postgres")
# c1: promo and winback both send an email within the policy's 1 min settle; c2: promo's email, and nudge's push
# (a channel the policy does not cap: sent at once) and email. Every email waits until its settle time.
EVENTS = [
    visit("c1-promo", 1, T0, "c1"),
    visit("c1-winback", 2, T0 + 30.0, "c1"),
    visit("c2-promo", 1, T0, "c2"),
    visit("c2-nudge", 3, T0 + 5.0, "c2"),
]
WAITING = (
    WaitingSends("nudge", "email", 1),
    WaitingSends("promo", "email", 2),
    WaitingSends("winback", "email", 1),
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return policy_bundle(tmp_path_factory.mktemp("policy"), policy())


def _url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return f"{request.getfixturevalue('postgres_url')}?schema=waiting_{tmp_path.name[-20:].lower()}"


@pytest.mark.parametrize("kind", KINDS)
def test_status_counts_the_sends_waiting_for_the_policy(
    files: dict[str, bytes], kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine = Engine.open(files, store=_url(kind, tmp_path, request))
    try:
        for event in EVENTS:
            assert not [r for r in engine.process(event) if r["kind"] == "send" and r["channel"] == "email"]
        assert engine.store.waiting_sends() == WAITING  # the open batch's customers, counted from memory
        engine.store.flush()
        assert engine.store.waiting_sends() == WAITING  # committed: counted by the store (SQL on a durable one)
        found = in_flight(engine.store)
        assert found.waiting == WAITING
        assert found.as_json()["waiting_sends"] == [
            {"journey": "nudge", "channel": "email", "sends": 1},
            {"journey": "promo", "channel": "email", "sends": 2},
            {"journey": "winback", "channel": "email", "sends": 1},
        ]
        assert "  promo on email: 2\n" in in_flight_text(found)
        decided = engine.advance(T0 + 3600.0)
        assert len([r for r in decided if r["kind"] == "send" and r["channel"] == "email"]) == 4
        assert engine.store.waiting_sends() == ()
        engine.store.flush()
        assert engine.store.waiting_sends() == ()
    finally:
        engine.close()


def _bundle(files: dict[str, bytes], folder: Path) -> Path:
    return write_bundle(files, folder / "shop.jbundle")


def _waiting_store(files: dict[str, bytes], path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = Engine.open(files, store=url)
    try:
        for event in EVENTS:
            engine.process(event)
    finally:
        engine.close()
    return url


def test_journeydsl_status_shows_the_waiting_sends(files: dict[str, bytes], tmp_path: Path) -> None:
    url = _waiting_store(files, tmp_path / "store.db")
    text = CliRunner().invoke(main, ["status", "--store", url])
    assert text.exit_code == 0, text.output
    assert "sends waiting for a contact policy to decide them (at its settle time):" in text.output
    assert "  winback on email: 1\n" in text.output
    shown = CliRunner().invoke(main, ["status", "--store", url, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert {row["journey"]: row["sends"] for row in json.loads(shown.output)["waiting_sends"]} == {
        "nudge": 1,
        "promo": 2,
        "winback": 1,
    }


def test_a_damaged_waiting_send_is_refused(files: dict[str, bytes], tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = _waiting_store(files, path)
    with sqlite3.connect(path) as db:
        (state,) = db.execute("SELECT state FROM customers WHERE id = 'c1'").fetchone()
        instances, caps = json.loads(state)
        caps[S.OFFERS][0][S.OFFER_JOURNEY] = 7  # a journey that is not a name
        db.execute("UPDATE customers SET state = ? WHERE id = 'c1'", (json.dumps([instances, caps]).encode(),))
    reader = open_store(url, mode="read")
    try:
        with pytest.raises(StoreError, match="waiting send"):
            reader.waiting_sends()
    finally:
        reader.abandon()
    for command in (["status"], ["plan", str(_bundle(files, tmp_path))]):
        shown = CliRunner().invoke(main, [*command, "--store", url])
        assert shown.exit_code == 1, shown.output
        assert shown.exception is None or isinstance(shown.exception, SystemExit), shown.exception
        assert str(path) in shown.output and "waiting send" in shown.output


def test_a_damaged_waiting_send_in_postgres_is_refused(files: dict[str, bytes], postgres_url: str) -> None:
    schema = "waiting_damaged"
    engine = Engine.open(files, store=f"{postgres_url}?schema={schema}")
    try:
        for event in EVENTS:
            engine.process(event)
        engine.store.flush()
        with psycopg.connect(postgres_url, autocommit=True) as db:
            db.execute(
                f"UPDATE {schema}.customers SET state = convert_to(jsonb_set(convert_from(state, 'UTF8')::jsonb,"
                " '{1,@offers,0,3}', 'null')::text, 'UTF8') WHERE id = 'c1'"
            )
        with pytest.raises(StoreError, match="waiting send without a journey"):
            engine.store.waiting_sends()
    finally:
        engine.store.abandon()


def test_a_converted_store_keeps_a_waiting_send_s_timer() -> None:
    """An older SQLite layout's customers get `due` when converted: a waiting send's settle time counts, or the
    send would never be decided."""
    offer: list[Any] = [T0 + 60.0, T0, 0, "promo", "shop", "email", None, {"kind": "send"}]
    assert _due_of({"i": {}, "c": {S.OFFERS: [offer]}}) == T0 + 60.0
    timer: list[Any] = [None] * S.SLOTS
    timer[S.TIMER], timer[S.ACTIVE] = T0 + 10.0, 1
    assert _due_of({"i": {"a": timer}, "c": {S.OFFERS: [offer]}}) == T0 + 10.0
    assert _due_of({"i": {}, "c": {}}) is None
