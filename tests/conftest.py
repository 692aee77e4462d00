"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pg_server import PostgresUnavailable, postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL for the session (tests/pg_server.py): `postgresql://journeydsl@127.0.0.1:PORT/DB`.

    Started once, on first use, and stopped with its folder removed at the end of the session. Without
    Debian's postgresql package the tests that use it fail (not skip): `make test` installs it.
    """
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as missing:  # raised before the server starts, never at the yield
        pytest.fail(str(missing))
