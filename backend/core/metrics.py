"""Prometheus metrics of the app-env processes (backend, notifier, simulator), names prefixed
`powerdesk_`; the series each serves are listed in docs/contracts.md.

Counters and histograms are kept by the process that counts; figures that live in the database
(outbox lag, service-standard events, hand-off waits) are read from it when scraped
(`backend/monitoring.py`), so that every process serving them, and every notifier, reports the same.
With several processes behind one port (BACKEND_WORKERS), set PROMETHEUS_MULTIPROC_DIR to a fresh
directory: each scrape then adds up the counters of all of them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

REQUESTS = Counter("powerdesk_http_requests", "HTTP requests answered", ["process", "method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "powerdesk_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["process", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PUSHES = Counter("powerdesk_pushes", "Push attempts by the notifier, by channel and outcome", ["channel", "outcome"])
PUSH_SECONDS = Histogram(
    "powerdesk_push_delivery_seconds",
    "From a push's due time to its delivery",
    ["channel"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
)
JOB_RUNS = Counter("powerdesk_periodic_job_runs", "Runs of the periodic jobs, by job and outcome", ["job", "outcome"])
REPORT_SECONDS = Histogram(
    "powerdesk_report_generation_seconds",
    "Time to build a report",
    ["kind", "format"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)


class _Together(Collector):
    """Several collectors' series as one collector's."""

    def __init__(self, *sources: Collector) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Any]:
        for source in self.sources:
            yield from source.collect()


def registry_with(database: Collector | None = None) -> CollectorRegistry:
    """What a scrape gets: this process's series (all processes' in multiprocess mode), and the
    database's figures when a collector of them is given."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(own)
        sources: list[Collector] = [own]
    else:
        sources = [REGISTRY]
    if database is not None:
        sources.append(database)
    registry.register(_Together(*sources))
    return registry


def exposition(database: Collector | None = None) -> tuple[bytes, str]:
    """The body and content type of a scrape (`registry_with`)."""
    return generate_latest(registry_with(database)), CONTENT_TYPE_LATEST


def serve(port: int, database: Collector | None = None, host: str = "127.0.0.1") -> None:
    """A small metrics listener in a daemon thread, for a process that has no HTTP server (the notifier)."""
    start_http_server(port, addr=host, registry=registry_with(database))


def route_template(scope: Scope) -> str:
    """The matched route as declared, with its routers' prefixes (`/api/v1/tickets/{ticket_no}`):
    FastAPI keeps included routers nested, so the route knows only its own part of the path."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template is None:
        return "unmatched"
    path = scope.get("path", "")
    try:
        own = getattr(route, "path_format", template).format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return template
    return path[: len(path) - len(own)] + template if path.endswith(own) else template


class RequestMetrics:
    """ASGI middleware: counts and times each HTTP request by its route template (not its path, so
    that ids do not multiply the series)."""

    def __init__(self, app: ASGIApp, process: str) -> None:
        self.app = app
        self.process = process

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = route_template(scope)
            method = scope.get("method", "")
            REQUESTS.labels(self.process, method, route, str(status)).inc()
            REQUEST_SECONDS.labels(self.process, method, route).observe(time.perf_counter() - started)
