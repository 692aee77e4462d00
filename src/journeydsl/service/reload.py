"""Hot reload: watch a bundle file (or folder), or poll a bundle URL, and hand a verified new bundle to the worker.

A source is polled every `interval` seconds. What changed is read and verified here, on the reloader's thread
(signature against `--public-key`, hashes, plan format: runtime.bundle), so a bad bundle never reaches the
worker; the worker then builds a new Engine over the same store between two batches, whose constructor applies
the live-change rules (refuse to orphan instances in flight, refuse a rollback). On any failure the running
engine stays, and the reason is logged and counted (`journeydsl_reloads_total{result="failed"}`).

A file is taken once it looks settled: the same (mtime, size) at two polls in a row, so a bundle being copied in
place is not read half-written (an atomic rename into place is still the better way). The same bytes are never
verified twice, whatever their fate was, so a refused bundle is refused once, not at every poll.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx

from journeydsl.runtime.bundle import MAX_BUNDLE_BYTES, BundleError, read_source, read_tar_gz, verify_files
from journeydsl.service import logs
from journeydsl.service.ingest import ServiceStopped, SwapJob, Worker
from journeydsl.service.metrics import ServiceMetrics

if TYPE_CHECKING:
    from journeydsl.runtime.bundle import Bundle

# How long the reloader waits for the worker to build the new engine (it orphan-checks the whole store).
SWAP_TIMEOUT = 600.0


@dataclass(frozen=True)
class Candidate:
    files: dict[str, bytes]
    source: str  # for logs and the bundle info metric


class Source(Protocol):
    def poll(self) -> Candidate | None:
        """New bytes to verify, or None when nothing changed; raises BundleError or OSError when unreadable."""


def digest(files: Mapping[str, bytes]) -> str:
    hashed = hashlib.sha256()
    for name in sorted(files):
        content = files[name]
        hashed.update(f"{name}\0{len(content)}\0".encode())
        hashed.update(content)
    return hashed.hexdigest()


class PathSource:
    """A `.jbundle` file or a bundle folder on disk (`--bundle-path`)."""

    def __init__(self, path: Path, current: str | None = None) -> None:
        self.path = path
        self.seen = current  # digest of the last bytes handled (the running bundle's, at start)
        self._last: tuple[tuple[str, int, int], ...] | None = None
        self._taken: tuple[tuple[str, int, int], ...] | None = None

    def _stat(self) -> tuple[tuple[str, int, int], ...]:
        path = self.path
        if path.is_dir():
            entries = sorted(p for p in path.rglob("*") if p.is_file())
        else:
            entries = [path]
        stats = []
        for entry in entries:
            status = entry.stat()  # FileNotFoundError for a missing file: the caller logs it
            stats.append((str(entry), status.st_mtime_ns, status.st_size))
        return tuple(stats)

    def poll(self) -> Candidate | None:
        stamp = self._stat()
        settled = stamp == self._last
        self._last = stamp
        if not settled or stamp == self._taken:
            return None
        self._taken = stamp
        files = read_source(self.path)
        found = digest(files)
        if found == self.seen:
            return None
        self.seen = found
        return Candidate(files, str(self.path))


class UrlSource:
    """A bundle served over HTTP(S) (`--bundle-url`), fetched with If-None-Match when the server gave an ETag."""

    def __init__(self, url: str, current: str | None = None, timeout: float = 30.0) -> None:
        self.url = url
        self.seen = current
        self.etag: str | None = None
        self.client = httpx.Client(timeout=timeout, follow_redirects=True)

    def poll(self) -> Candidate | None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        try:
            with self.client.stream("GET", self.url, headers=headers) as response:
                if response.status_code == 304:
                    return None
                if response.status_code != 200:
                    raise BundleError(f"{self.url}: HTTP {response.status_code}")
                blob = bytearray()
                for chunk in response.iter_bytes():
                    blob += chunk
                    if len(blob) > MAX_BUNDLE_BYTES:
                        raise BundleError(f"{self.url}: larger than {MAX_BUNDLE_BYTES} bytes")
                etag = response.headers.get("ETag")
        except httpx.HTTPError as err:
            raise BundleError(f"{self.url}: {type(err).__name__}: {err}") from err
        self.etag = etag
        files = read_tar_gz(bytes(blob), self.url)
        found = digest(files)
        if found == self.seen:
            return None
        self.seen = found
        return Candidate(files, self.url)

    def close(self) -> None:
        self.client.close()


class Reloader:
    """The thread that polls a Source and asks the worker to swap in what verifies."""

    def __init__(
        self,
        source: Source,
        worker: Worker,
        metrics: ServiceMetrics,
        public_key: str | None,
        interval: float,
    ) -> None:
        self.source = source
        self.worker = worker
        self.metrics = metrics
        self.public_key = public_key
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="reloader", daemon=True)
        self._last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        close = getattr(self.source, "close", None)
        if callable(close):
            close()

    def _main(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def check(self) -> str | None:
        """One poll: the new revision when one was swapped in, else None (nothing new, or refused)."""
        try:
            candidate = self.source.poll()
        except BundleError as err:  # read, but not a bundle (a file that is no tar.gz, an HTTP error)
            self._failed("new bundle refused", str(err), None)
            return None
        except OSError as err:
            self._failed("bundle source unreadable", f"{err.filename or ''}: {err.strerror or err}", None)
            return None
        if candidate is None:
            return None
        try:
            bundle = verify_files(candidate.files, self.public_key)
        except BundleError as err:
            self._failed("bundle refused", str(err), candidate.source)
            return None
        return self._swap(bundle, candidate.source)

    def _swap(self, bundle: Bundle, source: str) -> str | None:
        job = SwapJob(bundle, source)
        try:
            self.worker.submit(job)
            revision = job.future.result(SWAP_TIMEOUT)
        except ServiceStopped:
            return None
        except FutureTimeout:
            self._failed("bundle swap timed out", f"no answer within {SWAP_TIMEOUT:g} s", source)
            return None
        except Exception:  # noqa: BLE001 - the worker logged and counted the refusal (EngineError & co)
            return None
        self._last_error = None
        return revision

    def _failed(self, msg: str, reason: str, source: str | None) -> None:
        # A source that stays unreadable (a server down) is logged once until it recovers, counted every time.
        self.metrics.reloads.labels("failed").inc()
        if reason != self._last_error:
            logs.warning(msg + "; the old one keeps running", source=source or "", reason=reason)
        self._last_error = reason
