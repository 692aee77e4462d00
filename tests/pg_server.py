"""A throwaway PostgreSQL server for the tests: Debian's `initdb` + `pg_ctl`, a temp folder, a loopback port.

`make test` installs Debian's `postgresql` package when it is missing (`make postgresql`); Debian keeps the
server programs in /usr/lib/postgresql/<major>/bin/, off PATH, so they are found with a glob (the newest
major wins), then on PATH. The server listens on 127.0.0.1 only, on a port found free at run time, with
its Unix socket in its own folder; `fsync=off` and `initdb --no-sync` because the data is thrown away.

`initdb` refuses to run as root. As root, every server program runs as the `postgres` user the package
creates (`runuser -u postgres --`), in a folder chowned to that user; as anyone else they run as that user.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "journeydsl"  # the superuser initdb creates; trust authentication, no password
DATABASE = "journeydsl_test"
START_TIMEOUT = 30  # seconds pg_ctl waits for the server to accept connections
RUN_AS = "postgres"  # the system user Debian's package creates, for root


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server programs, or the user to run them as, are not on this machine."""


@dataclass(frozen=True)
class Binaries:
    initdb: Path
    pg_ctl: Path

    @property
    def bindir(self) -> Path:
        return self.pg_ctl.parent


def _major(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([0-9.]+)/bin/", path)
    return tuple(int(part) for part in match.group(1).split(".") if part) if match else ()


def find_binaries() -> Binaries:
    """initdb and pg_ctl of the newest PostgreSQL installed; PostgresUnavailable when there is none."""
    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major, reverse=True):
        pg_ctl = Path(initdb).with_name("pg_ctl")
        if os.access(initdb, os.X_OK) and os.access(pg_ctl, os.X_OK):
            return Binaries(Path(initdb), pg_ctl)
    initdb_on_path, pg_ctl_on_path = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb_on_path and pg_ctl_on_path:
        return Binaries(Path(initdb_on_path), Path(pg_ctl_on_path))
    raise PostgresUnavailable(
        "the PostgreSQL tests need Debian's postgresql package (initdb and pg_ctl, looked for in "
        "/usr/lib/postgresql/*/bin/ and on PATH): run `make postgresql`"
    )


def _prefix() -> list[str]:
    """What runs a server program: nothing for a non-root user, `runuser -u postgres --` for root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    try:
        import pwd

        pwd.getpwnam(RUN_AS)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, the PostgreSQL tests run the server as the `{RUN_AS}` user, which Debian's "
            "postgresql package creates; there is none: run `make postgresql`"
        ) from None
    if runuser is None:
        raise PostgresUnavailable("running as root, the PostgreSQL tests need `runuser` (util-linux)")
    return [runuser, "-u", RUN_AS, "--"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(command: list[str], what: str, timeout: float) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}): {(result.stdout + result.stderr).strip()}")


def _log_tail(log: Path) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:])
    except OSError:
        return "(no server log)"


@contextmanager
def postgres_server(database: str = DATABASE) -> Iterator[str]:
    """Start a private PostgreSQL, create `database`, yield its URL; stop the server and remove its folder."""
    binaries = find_binaries()
    prefix = _prefix()
    # A short path of its own under the system temp folder (not pytest's, whose folders are 0700 root when
    # running as root, which the postgres user cannot enter); the Unix socket's path must stay short too.
    root = Path(tempfile.mkdtemp(prefix="journeydsl-pg-"))
    data, log = root / "data", root / "server.log"
    try:
        if prefix:
            shutil.chown(root, user=RUN_AS)
        _run(
            [*prefix, str(binaries.initdb), "-D", str(data), "-A", "trust", "-U", USER, "--no-sync"]
            + ["-E", "UTF8", "--locale=C", "--no-instructions"],
            "initdb",
            timeout=120,
        )
        url = ""
        for attempt in range(3):  # another process may take the port between free_port() and the bind
            port = free_port()
            options = f"-k {root} -h 127.0.0.1 -p {port} -c fsync=off"
            command = [*prefix, str(binaries.pg_ctl), "start", "-D", str(data), "-l", str(log), "-w"]
            command += ["-t", str(START_TIMEOUT), "-o", options]
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=START_TIMEOUT + 30, stdin=subprocess.DEVNULL
            )
            if result.returncode == 0:
                url = f"postgresql://{USER}@127.0.0.1:{port}"
                break
            if attempt == 2 or "could not bind" not in _log_tail(log):
                raise RuntimeError(
                    f"pg_ctl start failed (exit {result.returncode}): {(result.stdout + result.stderr).strip()}\n"
                    f"server log ({log}):\n{_log_tail(log)}"
                )
        _create_database(url, database)
        yield f"{url}/{database}"
    finally:
        if (data / "postmaster.pid").exists():  # also a server that started after pg_ctl gave up waiting
            try:
                _run([*prefix, str(binaries.pg_ctl), "stop", "-D", str(data), "-m", "fast", "-w"], "pg_ctl stop", 60)
            except (RuntimeError, subprocess.TimeoutExpired):
                # The folder goes anyway; an immediate stop is the last resort for a server that hangs.
                subprocess.run(
                    [*prefix, str(binaries.pg_ctl), "stop", "-D", str(data), "-m", "immediate"],
                    capture_output=True,
                    timeout=60,
                    stdin=subprocess.DEVNULL,
                )
        shutil.rmtree(root, ignore_errors=True)


def _create_database(url: str, database: str, timeout: float = 10.0) -> None:
    import psycopg  # the test extra installs it; imported here so that a missing psycopg names itself
    from psycopg import sql

    deadline = time.monotonic() + timeout
    while True:  # pg_ctl -w has seen the server accept connections; the loop only covers a slow start
        try:
            with psycopg.connect(f"{url}/postgres", autocommit=True, connect_timeout=5) as connection:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
