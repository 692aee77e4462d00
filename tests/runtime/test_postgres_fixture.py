"""The `postgres_url` fixture (tests/conftest.py, tests/pg_server.py) gives a real PostgreSQL to talk to.

What the PostgreSQL store will rely on: psycopg 3 connects, a JSONB column keeps a document, and
`FOR UPDATE SKIP LOCKED` lets a second worker pass over the row a first one holds (delivery workers).
"""

from __future__ import annotations

from urllib.parse import urlparse

import psycopg
from psycopg.types.json import Jsonb


def test_server_is_private_and_on_loopback(postgres_url: str) -> None:
    url = urlparse(postgres_url)
    assert (url.scheme, url.hostname, url.username) == ("postgresql", "127.0.0.1", "journeydsl")
    with psycopg.connect(postgres_url) as connection:
        row = connection.execute(
            "SELECT current_database(), current_setting('listen_addresses'), current_setting('fsync'),"
            " pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    assert row == (url.path.lstrip("/"), "127.0.0.1", "off", "UTF8")


def test_jsonb_and_skip_locked_across_two_connections(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as setup:
        setup.execute("DROP TABLE IF EXISTS smoke_outbox")
        setup.execute("CREATE TABLE smoke_outbox (id integer PRIMARY KEY, record jsonb NOT NULL)")
        with setup.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO smoke_outbox VALUES (%s, %s)",
                [(n, Jsonb({"key": f"c{n}/welcome/1:start:{n}", "kind": "send", "tags": ["a", n]})) for n in (1, 2, 3)],
            )
        assert setup.execute("SELECT record->'tags'->>1 FROM smoke_outbox WHERE id = 2").fetchone() == ("2",)

    claim = "SELECT id, record FROM smoke_outbox ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
    with psycopg.connect(postgres_url) as first, psycopg.connect(postgres_url) as second:
        # first holds row 1 in its open transaction; second is not blocked and takes row 2
        first_row = first.execute(claim).fetchone()
        second.execute("SET lock_timeout = '2s'")  # a regression would block: fail fast instead
        second_row = second.execute(claim).fetchone()
        assert first_row is not None and second_row is not None
        assert first_row[0] == 1 and second_row[0] == 2
        assert first_row[1]["key"] == "c1/welcome/1:start:1"  # JSONB comes back as a dict
        locked = second.execute("SELECT id FROM smoke_outbox ORDER BY id FOR UPDATE SKIP LOCKED").fetchall()
        assert locked == [(2,), (3,)]  # row 1 is skipped, not waited for
        first.rollback()
        # once first lets go, row 1 can be claimed again
        second.rollback()
        assert second.execute(claim).fetchone() == (1, first_row[1])
        second.rollback()
