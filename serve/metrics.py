"""Prometheus metrics, and the middleware that records every request (and logs it, without text).

Each app has its own registry, so several apps in one process (tests) never collide. With
``--workers N`` every process counts its own requests: scrape each, or run one worker per
container.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("moderation.serve.access")

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "moderation_http_requests", "HTTP requests by route, method and status",
            ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram(
            "moderation_http_request_duration_seconds", "Time to answer a request, by route",
            ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram(
            "moderation_model_batch_size", "Texts per model call (micro-batch size)",
            buckets=BATCH_BUCKETS, registry=self.registry)
        self.model_seconds = Histogram(
            "moderation_model_duration_seconds", "Time of one model call",
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.texts = Counter("moderation_texts_scored", "Texts sent to the model", registry=self.registry)
        self.queue = Gauge("moderation_queue_texts", "Texts waiting for the model", registry=self.registry)

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.model_seconds.observe(seconds)
        self.texts.inc(size)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ObserveMiddleware:
    """Counts, times and logs each request by its route template, never by its content."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log_requests: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - start
            # The template (/v1/score), not the raw path: bounded label values, no user input.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            if self.log_requests:
                access_log.info("%s %s %d %.1fms", scope["method"], route, status, elapsed * 1000)
