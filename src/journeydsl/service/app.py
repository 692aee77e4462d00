"""The HTTP routes (Starlette): events in, the event clock, health, readiness and metrics.

Handlers only frame and check requests; the engine worker (ingest.py) does the work and answers through a future,
after the commit. Every answer is JSON (orjson), except /metrics (Prometheus text).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from journeydsl.runtime.jsonio import dumps
from journeydsl.runtime.timeparse import TimeError, parse_time
from journeydsl.service import body
from journeydsl.service.ingest import ClockJob, EventBatch, QueueFull, ServiceStopped, Worker
from journeydsl.service.metrics import CONTENT_TYPE, ServiceMetrics

# Seconds a client should wait before retrying a batch the full queue refused.
RETRY_AFTER = 1
# /v1/clock bodies are tiny: a fixed limit, whatever --max-body says.
CLOCK_BODY = 4096


class Tokens(Protocol):
    def accepts(self, given: bytes) -> bool: ...


@dataclass
class AppConfig:
    worker: Worker
    metrics: ServiceMetrics
    tokens: Tokens | None  # None: --insecure
    max_body: int
    clock: str  # "wall" | "event"


class TooLarge(Exception):
    pass


def _json(status: int, content: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(content), status_code=status, media_type="application/json", headers=headers)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": message}, headers)


async def _read(request: Request, limit: int) -> bytes:
    """The body, refused past `limit` bytes: at once by Content-Length, else while it streams in (chunked)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise TooLarge
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise TooLarge
    return bytes(data)


def build_app(
    config: AppConfig,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    worker, metrics = config.worker, config.metrics

    def unauthorized(request: Request) -> Response | None:
        if config.tokens is None:
            return None
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and config.tokens.accepts(given.strip().encode("latin-1")):
            return None
        metrics.rejected.labels("unauthorized").inc()
        return _error(401, "a bearer token is required", {"WWW-Authenticate": 'Bearer realm="journeydsl"'})

    async def submit(job: EventBatch | ClockJob) -> Any:
        worker.submit(job)  # QueueFull, ServiceStopped: the caller answers 503
        return await asyncio.wrap_future(job.future)

    async def events(request: Request) -> Response:
        refused = unauthorized(request)
        if refused is not None:
            return refused
        kind = body.media_type(request.headers.get("content-type"))
        if kind not in (body.JSON, body.NDJSON):
            metrics.rejected.labels("media_type").inc()
            return _error(415, f"Content-Type must be {body.JSON} or {body.NDJSON}, not {kind}")
        try:
            data = await _read(request, config.max_body)
            parsed = body.parse(data, kind == body.NDJSON)
        except TooLarge:
            metrics.rejected.labels("too_large").inc()
            return _error(413, f"the body is larger than {config.max_body} bytes (--max-body)")
        except body.BodyError as err:
            metrics.rejected.labels("not_json").inc()
            return _error(400, str(err))
        try:
            result = await submit(EventBatch(parsed.events, parsed.dead))
        except QueueFull as err:
            metrics.rejected.labels("queue_full").inc()
            return _error(503, f"the commit queue is full ({err}); retry later", {"Retry-After": str(RETRY_AFTER)})
        except ServiceStopped as err:
            return _error(503, f"not accepted: {err}", {"Retry-After": str(RETRY_AFTER)})
        return _json(202, result.body())

    async def clock(request: Request) -> Response:
        refused = unauthorized(request)
        if refused is not None:
            return refused
        if config.clock != "event":
            return _error(409, "timers follow the wall clock (--clock wall); /v1/clock needs --clock event")
        try:
            parsed = body.parse(await _read(request, CLOCK_BODY), ndjson=False)
        except TooLarge:
            return _error(413, f"a clock request is at most {CLOCK_BODY} bytes")
        except body.BodyError as err:
            return _error(400, str(err))
        value = parsed.events[0][1]
        if not isinstance(value, dict) or "until" not in value:
            return _error(400, 'the body must be {"until": "<RFC 3339 time or epoch seconds>"}')
        try:
            until = parse_time(value["until"])
        except TimeError as err:
            return _error(400, f"until: {err}")
        try:
            records = await submit(ClockJob(until))
        except (QueueFull, ServiceStopped) as err:
            return _error(503, str(err), {"Retry-After": str(RETRY_AFTER)})
        return _json(200, {"records": records})

    async def healthz(request: Request) -> Response:
        return _json(200, {"status": "alive"})

    async def readyz(request: Request) -> Response:
        reason = worker.ready()
        metrics.up.set(0 if reason else 1)
        if reason is not None:
            return _json(503, {"ready": False, "reason": reason})
        return _json(200, {"ready": True, "revision": str(worker.engine.bundle.revision)})

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    routes = [
        Route("/v1/events", events, methods=["POST"]),
        Route("/v1/clock", clock, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        # 404, 405 and the like as JSON too, with the headers Starlette set (Allow on a 405)
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})
