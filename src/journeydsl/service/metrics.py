"""What `serve` counts, as Prometheus metrics on a private registry (`GET /metrics`).

A private registry, not prometheus_client's global one: tests build several services in one process, and the
process metrics of the default registry are added explicitly. The engine worker, the relay and the reloader
call the methods below from their own threads (prometheus_client's metrics are thread-safe).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServiceMetrics:
    def __init__(self) -> None:
        # No `_created` series: a second line per counter that dashboards do not read (process-wide setting, and
        # this process is the service).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        registry = self.registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        ns = "journeydsl"
        self.events = Counter(
            "events",
            "Events received, by outcome (accepted, duplicate, dead)",
            ["outcome"],
            namespace=ns,
            registry=registry,
        )
        self.records = Counter(
            "records",
            "Action records produced, by kind and send status",
            ["kind", "status"],
            namespace=ns,
            registry=registry,
        )
        self.batches = Counter("batches", "HTTP batches committed", namespace=ns, registry=registry)
        self.rejected = Counter(
            "requests_rejected",
            "Requests refused before the engine, by reason",
            ["reason"],
            namespace=ns,
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "commit_seconds", "Time to process and commit one group of batches", namespace=ns, registry=registry
        )
        self.delivery_attempts = Counter(
            "delivery_attempts", "Delivery attempts, by sink", ["sink"], namespace=ns, registry=registry
        )
        self.delivery_failures = Counter(
            "delivery_failures",
            "Delivery attempts the sink refused or that failed, by sink",
            ["sink"],
            namespace=ns,
            registry=registry,
        )
        self.delivery_seconds = Histogram(
            "delivery_seconds", "Time one delivery attempt took, by sink", ["sink"], namespace=ns, registry=registry
        )
        self.timer_lag = Gauge(
            "timer_lag_seconds",
            "Wall clock minus the due time of the oldest timer fired in the last tick",
            namespace=ns,
            registry=registry,
        )
        self.instances = Gauge(
            "instances_active",
            "Active journey instances, by journey and version (refreshed periodically)",
            ["journey", "version"],
            namespace=ns,
            registry=registry,
        )
        self.bundle = Info("bundle", "The bundle the engine runs", namespace=ns, registry=registry)
        self.reloads = Counter(
            "reloads", "Bundle reloads, by result (ok, failed)", ["result"], namespace=ns, registry=registry
        )
        self.queue = Gauge("queue_batches", "Batches waiting for the engine worker", namespace=ns, registry=registry)
        self.up = Gauge(
            "ready", "1 when the service is ready (store reachable, bundle loaded)", namespace=ns, registry=registry
        )
        for outcome in ("accepted", "duplicate", "dead"):
            self.events.labels(outcome)
        for result in ("ok", "failed"):
            self.reloads.labels(result)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def count_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self.records.labels(str(record.get("kind", "")), str(record.get("status", ""))).inc()

    def count_events(self, accepted: int, duplicates: int, dead: int) -> None:
        if accepted:
            self.events.labels("accepted").inc(accepted)
        if duplicates:
            self.events.labels("duplicate").inc(duplicates)
        if dead:
            self.events.labels("dead").inc(dead)

    def on_attempt(self, sink: str, ok: bool, seconds: float) -> None:
        """The relay's metrics hook: one delivery attempt to `sink`."""
        self.delivery_attempts.labels(sink).inc()
        if not ok:
            self.delivery_failures.labels(sink).inc()
        self.delivery_seconds.labels(sink).observe(seconds)

    def set_instances(self, in_flight: Mapping[tuple[str, int], int]) -> None:
        # clear() first: a version whose last instance ended must drop out, not stay at its old value
        self.instances.clear()
        for (journey, version), count in sorted(in_flight.items()):
            self.instances.labels(journey, str(version)).set(count)

    def set_bundle(self, revision: str, source: str) -> None:
        self.bundle.info({"revision": revision, "source": source})

    def watch_queue(self, depth: Callable[[], float]) -> None:
        self.queue.set_function(depth)
