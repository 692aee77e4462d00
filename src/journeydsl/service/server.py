"""`serve`: open the bundle and the store, build the engine, the worker, the relay and the reloader, run uvicorn.

Start-up errors (a refused bundle, a busy store, a port in use) raise ServeError with a one-line reason before
anything listens. SIGTERM and SIGINT stop uvicorn from accepting and let the requests in flight finish (their
batches commit); then the worker commits what is queued, the relay delivers what is due within `--grace`
seconds, and the process exits 0 (1 when the worker stopped on a store failure).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from journeydsl.runtime.bundle import BundleError, load_bundle
from journeydsl.runtime.engine import Engine, EngineError
from journeydsl.runtime.store import Store, StoreBusyError, StoreError
from journeydsl.runtime.stores import open_store
from journeydsl.service import logs
from journeydsl.service.app import AppConfig, build_app
from journeydsl.service.auth import TokenError, TokenFile
from journeydsl.service.ingest import ClockMode, Worker, WorkerSettings
from journeydsl.service.metrics import ServiceMetrics
from journeydsl.service.relaying import RelayLoop
from journeydsl.service.reload import PathSource, Reloader, Source, UrlSource, digest

if TYPE_CHECKING:
    from journeydsl.runtime.bundle import Bundle


# Outbox rows one relay round claims: each round ends with one commit of the delivered marks (an fsync on a durable
# store), so larger rounds cost fewer commits; the relay still leaves rows whose lease would run out to later rounds.
RELAY_BATCH = 500


class ServeError(Exception):
    """A reason `serve` cannot start, one line, for the command line to print."""


@dataclass
class ServeOptions:
    bundle: Path
    store_url: str
    host: str
    port: int
    token_file: Path | None  # None: --insecure
    clock: ClockMode = "wall"
    delivery: Path | None = None
    bundle_path: Path | None = None
    bundle_url: str | None = None
    reload_interval: float = 5.0
    public_key: str | None = None
    max_body: int = 8 * 1024 * 1024
    queue: int = 64
    grace: float = 10.0
    max_skew: float | None = 86400.0
    lease: float = 60.0  # seconds the relay holds the rows it claims
    batch: int | None = None
    tick: float = 1.0
    wait: float = 0.0


class _Server(uvicorn.Server):
    """uvicorn's server without its signal re-raise: uvicorn, once shut down, raises the captured SIGTERM again
    so the default action kills the process (exit status -15); `serve` has more to do after uvicorn stops (commit,
    deliver) and exits 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        logs.info("stopping", signal=signal.Signals(sig).name)
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting for requests in flight
        self.should_exit = True


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a port in use is a clear start-up error (uvicorn would exit itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise ServeError(f"--listen: cannot resolve {host!r}: {err.strerror}") from err
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise ServeError(f"--listen: cannot listen on {host}:{port}: {err.strerror}") from err
    sock.set_inheritable(True)
    return sock


def _open_store(url: str, batch: int | None, mode: str, wait: float) -> Store:
    try:
        return open_store(url, batch=batch, mode=mode, wait=wait)  # type: ignore[arg-type]
    except StoreBusyError as err:
        raise ServeError(f"{err} (stop the other process, or pass --wait SECONDS)") from err
    except StoreError as err:
        raise ServeError(str(err)) from err


def _relay(options: ServeOptions, store: Store, metrics: ServiceMetrics) -> tuple[RelayLoop, Store | None]:
    """The relay loop, and the store opened for it alone (None when it shares the engine's store: memory://)."""
    from journeydsl.runtime import delivery_config
    from journeydsl.runtime.relay import Relay

    try:
        if options.delivery is not None:
            config = delivery_config.load(options.delivery)
        else:
            config = delivery_config.default_config()
    except delivery_config.DeliveryConfigError as err:
        raise ServeError(f"--delivery: {err}") from err
    own: Store | None = None
    if store.durable:
        own = _open_store(options.store_url, None, "deliver", 0.0)
    try:
        relay = Relay(
            own or store,
            config,
            clock=options.clock,
            metrics=metrics,
            log=_relay_log,
            batch=RELAY_BATCH,
            lease=options.lease,
        )
    except (ValueError, OSError) as err:  # a sink that cannot start (a jsonl file that cannot be opened)
        if own is not None:
            own.close()
        raise ServeError(f"--delivery: {err}") from err
    return RelayLoop(relay), own


def _relay_log(msg: str, fields: Mapping[str, Any]) -> None:
    logs.warning(msg, **fields)


def _source(options: ServeOptions, bundle: Bundle) -> Source | None:
    current = digest(bundle.files)
    if options.bundle_path is not None:
        return PathSource(options.bundle_path, current)
    if options.bundle_url is not None:
        return UrlSource(options.bundle_url, current)
    return None


def serve(options: ServeOptions) -> int:
    """Run until SIGTERM/SIGINT; the exit status. Raises ServeError when it cannot start."""
    metrics = ServiceMetrics()
    try:
        bundle = load_bundle(str(options.bundle), public_key=options.public_key)
    except BundleError as err:
        raise ServeError(f"refusing bundle {options.bundle}: {err}") from err
    sock = _bind(options.host, options.port)
    try:
        return _serve(options, bundle, metrics, sock)
    finally:
        sock.close()


def _serve(options: ServeOptions, bundle: Bundle, metrics: ServiceMetrics, sock: socket.socket) -> int:
    wall_clock: Callable[[], float] | None = time.time if options.clock == "wall" else None

    def build_engine(new: Bundle) -> Engine:
        return Engine(new, store, max_skew=options.max_skew, wall_clock=wall_clock)

    store = _open_store(options.store_url, options.batch, "write", options.wait)
    relay_store: Store | None = None
    try:
        tokens = TokenFile(options.token_file) if options.token_file is not None else None
        engine = build_engine(bundle)
        relay, relay_store = _relay(options, store, metrics)
    except EngineError as err:
        store.abandon()
        raise ServeError(f"refusing bundle {options.bundle}: {err}") from err
    except TokenError as err:
        store.abandon()
        raise ServeError(f"--token-file: {err}") from err
    except (StoreError, ServeError) as err:
        store.abandon()
        if relay_store is not None:
            relay_store.close()
        raise ServeError(str(err)) from err
    metrics.set_bundle(str(bundle.revision), str(options.bundle))

    server: _Server | None = None

    def fatal(reason: str) -> None:
        if server is not None:
            server.should_exit = True

    on_thread = relay_store is None
    worker = Worker(
        engine,
        build_engine,
        metrics,
        WorkerSettings(clock=options.clock, queue_size=options.queue, tick=options.tick, grace=options.grace),
        deliverer=relay if on_thread else None,
        after_commit=None if on_thread else relay.kick,
        on_fatal=fatal,
    )
    source = _source(options, bundle)
    reloader = (
        Reloader(source, worker, metrics, options.public_key, options.reload_interval) if source is not None else None
    )
    app = build_app(AppConfig(worker, metrics, tokens, options.max_body, options.clock))
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=int(max(1, options.grace)),
        server_header=False,
    )
    server = _Server(config)
    logs.setup()  # only now: a start-up error is one plain line, and tests calling serve() keep their logging
    worker.start()
    if not on_thread:
        relay.start()
    if reloader is not None:
        reloader.start()
    host, port = sock.getsockname()[:2]
    logs.info(
        "serving",
        listen=f"{host}:{port}",
        store=_redacted(options.store_url),
        clock=options.clock,
        revision=str(bundle.revision),
    )
    try:
        server.run(sockets=[sock])
    finally:
        _shutdown(worker, relay, relay_store, reloader, options.grace)
    if worker.failure is not None:
        return 1
    logs.info("stopped")
    return 0


def _shutdown(
    worker: Worker, relay: RelayLoop, relay_store: Store | None, reloader: Reloader | None, grace: float
) -> None:
    if reloader is not None:
        reloader.stop()
    # The worker commits what is queued (and, on memory://, delivers within the grace period itself).
    if not worker.stop(timeout=grace + 60.0):
        logs.error("the engine worker did not stop in time; uncommitted events will be redone by the next start")
    if relay_store is not None and not relay.stop(grace):
        logs.warning("delivery did not finish within the grace period; the rest stays in the outbox")
    relay.close()
    if relay_store is not None:
        try:
            relay_store.close()
        except StoreError as err:
            logs.error("could not close the delivery store", reason=str(err))


def _redacted(url: str) -> str:
    """A store URL without its password, for the logs."""
    scheme, sep, rest = url.partition("://")
    user, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in user:
        return url
    return f"{scheme}://{user.split(':', 1)[0]}:***@{host}"
