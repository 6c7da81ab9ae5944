"""Prometheus metrics of one app, in its own registry (two apps in one process never share counters).

* ``gankit_requests_total{endpoint, status}``: HTTP requests answered;
* ``gankit_request_duration_seconds{endpoint}``: their latency (histogram);
* ``gankit_batch_size``: images per model call (histogram) -- micro-batching at work;
* ``gankit_batch_duration_seconds``: time per model call (histogram);
* ``gankit_queue_depth``: images waiting for the worker (gauge);
* ``gankit_images_total``: images the model produced;
* ``gankit_rejected_total{reason}``: requests refused by the queue (``full``, ``draining``, ``timeout``).

``endpoint`` is the route's path template (``/v1/generate``), ``/static`` for the page's files or
``other``, so unknown paths (a fuzzer's) cannot grow the label set without bound.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = r = CollectorRegistry()
        self.requests = Counter("gankit_requests", "HTTP requests answered, by endpoint and status.", ["endpoint", "status"], registry=r)
        self.latency = Histogram("gankit_request_duration_seconds", "HTTP request latency, by endpoint.", ["endpoint"],
                                 buckets=LATENCY_BUCKETS, registry=r)  # fmt: skip
        self.batch_size = Histogram("gankit_batch_size", "Images per model call (micro-batching).", buckets=BATCH_BUCKETS, registry=r)
        self.batch_seconds = Histogram("gankit_batch_duration_seconds", "Time per model call.", buckets=LATENCY_BUCKETS, registry=r)
        self.queue_depth = Gauge("gankit_queue_depth", "Images waiting for the inference worker.", registry=r)
        self.images = Counter("gankit_images", "Images the model produced.", registry=r)
        self.rejected = Counter("gankit_rejected", "Requests refused by the queue, by reason.", ["reason"], registry=r)

    def observe_batch(self, n: int, seconds: float) -> None:
        self.batch_size.observe(n)
        self.batch_seconds.observe(seconds)
        self.images.inc(n)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """ASGI middleware: count every HTTP answer and time it, under a bounded endpoint label."""

    def __init__(self, app: Any, metrics: Metrics, endpoints: Callable[[], set[str]]) -> None:
        self.app, self.metrics, self.endpoints = app, metrics, endpoints
        self._known: set[str] | None = None

    def label(self, path: str) -> str:
        if self._known is None:
            self._known = self.endpoints()
        if path in self._known:
            return path
        return "/static" if path.startswith("/static/") else "other"

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[..., Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint, t0, status = self.label(scope["path"]), time.perf_counter(), [500]

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.requests.labels(endpoint, str(status[0])).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)
