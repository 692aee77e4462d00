"""Delivery inside `serve`: the runtime's relay (runtime/relay.py) on its own thread and store, or on the worker.

A durable store is opened a second time in mode "deliver" (it claims and settles outbox rows and never owns the
store), and a thread runs the relay on it, woken after every commit. memory:// is one object that only one
thread may touch, so there the engine worker runs the relay between groups (ingest.Worker's `deliverer`).
Delivery errors (a sink down, the store briefly unreachable) are logged and retried: they never stop ingestion.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from journeydsl.service import logs


class RelayLike(Protocol):
    def deliver_once(self) -> Any: ...


def handled(result: Any) -> int:
    """How many outbox rows one `deliver_once` settled: the relay's counts, or a plain number."""
    if isinstance(result, int):
        return result
    for name in ("claimed", "handled", "total"):
        value = getattr(result, name, None)
        if isinstance(value, int):
            return value
    return 0


class RelayLoop:
    """Runs `relay.deliver_once` until there is nothing to deliver; as a thread, again at every wake-up."""

    def __init__(self, relay: RelayLike, poll: float = 0.5, backoff: float = 2.0) -> None:
        self.relay = relay
        self.poll = poll
        self.backoff = backoff  # seconds to wait after a failed round (the store or a sink erroring)
        self.failures = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._deadline = 0.0
        self._thread: threading.Thread | None = None

    def deliver_once(self) -> int:
        """One round; 0 after a failure (logged), so a caller looping until idle stops."""
        try:
            return handled(self.relay.deliver_once())
        except Exception as err:  # noqa: BLE001 - delivery must not stop the service; the rows stay in the outbox
            self.failures += 1
            logs.error("delivery round failed; retrying", reason=f"{type(err).__name__}: {err}")
            return 0

    def close(self) -> None:
        close = getattr(self.relay, "close", None)
        if callable(close):
            try:
                close()
            except Exception as err:  # noqa: BLE001 - at shutdown: say so, the exit goes on
                logs.error("could not close the sinks", reason=f"{type(err).__name__}: {err}")

    # ------------------------------------------------------------------ as a thread
    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="relay", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        """New records were committed: deliver now rather than at the next poll."""
        self._wake.set()

    def stop(self, grace: float) -> bool:
        """Deliver what is due for up to `grace` seconds, then stop; False if the thread was still busy."""
        self._deadline = time.monotonic() + grace
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            return True
        self._thread.join(grace + 5.0)
        return not self._thread.is_alive()

    def _main(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            before = self.failures
            if self.deliver_once():
                continue
            self._wake.wait(self.backoff if self.failures > before else self.poll)
        while time.monotonic() < self._deadline and self.deliver_once():
            pass
