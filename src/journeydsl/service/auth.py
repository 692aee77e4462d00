"""Bearer tokens from `--token-file`: one token per line, and the file is read again when it changes.

Several lines let a token be rotated without a restart or a window of refused requests: add the new token as a
second line, move the clients over, delete the old line. A file that becomes unreadable or empty while serving
keeps the tokens read last (and says so in the log): a half-written file must not open the service or lock
everyone out.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from pathlib import Path

from journeydsl.service import logs

# Seconds between two looks at the file's mtime and size (a stat per request would be wasted work).
RECHECK = 1.0


class TokenError(Exception):
    """The token file cannot be used (the message names it and says why)."""


def read_tokens(path: Path) -> list[bytes]:
    try:
        text = path.read_bytes()
    except OSError as err:
        raise TokenError(f"cannot read {path}: {err.strerror}") from err
    tokens = [line.strip() for line in text.splitlines() if line.strip()]
    if not tokens:
        raise TokenError(f"{path} is empty")
    for number, token in enumerate(tokens, start=1):
        if any(byte < 0x21 or byte > 0x7E for byte in token):
            raise TokenError(f"{path}: token {number}: a token must be printable ASCII without spaces")
    return tokens


class TokenFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._tokens = read_tokens(path)
        self._stamp = self._stat()
        self._next_check = time.monotonic() + RECHECK
        self._lock = threading.Lock()

    def _stat(self) -> tuple[int, int] | None:
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def _refresh(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        with self._lock:
            self._next_check = now + RECHECK
            stamp = self._stat()
            if stamp == self._stamp:
                return
            self._stamp = stamp
            try:
                self._tokens = read_tokens(self.path)
            except TokenError as err:
                logs.warning("token file unusable; the tokens read before stay valid", reason=str(err))
                return
            logs.info("token file read again", path=str(self.path), tokens=len(self._tokens))

    def accepts(self, given: bytes) -> bool:
        """Whether `given` is one of the tokens; every token is compared in constant time (compare_digest), and
        all of them always, so the time taken tells neither which nor how much of a token matched."""
        self._refresh()
        found = False
        for token in self._tokens:
            found |= hmac.compare_digest(given, token)
        return found
