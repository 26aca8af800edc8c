"""Prometheus metrics: requests and latency by route, the index, the corpus, rebuilds, jobs and extraction.

Each app has its own registry (tests build several apps in one process).
Gauges about the index, the corpus and the jobs are read when scraped, so
they are never stale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.extract.model import Extraction
from index.storage.database import CorpusDatabase
from service.holder import IndexHolder


class _StateCollector(Collector):
    def __init__(self, metrics: Metrics, holder: Callable[[], IndexHolder | None]) -> None:
        self._metrics = metrics
        self._holder = holder

    def collect(self) -> Iterator[GaugeMetricFamily]:
        holder = self._holder()
        searcher = holder.searcher if holder else None
        generation = GaugeMetricFamily("concord_index_generation", "Generation of the index being served.")
        groups = GaugeMetricFamily("concord_clause_groups", "Clause groups in the index being served.")
        if searcher is not None:
            generation.add_metric([], searcher.index.generation)
            groups.add_metric([], len(searcher.index.groups))
        yield generation
        yield groups
        database = self._metrics.database
        if database is None:
            return
        counts = database.counts()
        yield GaugeMetricFamily("concord_documents", "Documents in the corpus.", value=counts["documents"])
        yield GaugeMetricFamily("concord_variants", "Variants in the corpus.", value=counts["variants"])
        jobs = GaugeMetricFamily("concord_jobs", "Jobs by status.", labels=["status"])
        by_status = database.job_counts()
        for status, n in by_status.items():
            jobs.add_metric([status], n)
        yield jobs
        yield GaugeMetricFamily(
            "concord_queue_depth",
            "Jobs waiting to run (queued or interrupted).",
            value=by_status["queued"] + by_status["interrupted"],
        )


class Metrics:
    def __init__(self, holder: Callable[[], IndexHolder | None]) -> None:
        self.database: CorpusDatabase | None = None  # set once the lifespan has opened it
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "concord_http_requests", "HTTP requests by route and status.", ["route", "method", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "concord_http_request_seconds", "HTTP request latency by route.", ["route", "method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=self.registry,
        )  # fmt: skip
        self.rebuild_seconds = Histogram(
            "concord_rebuild_seconds", "Rebuild duration.", ["outcome"],
            buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1800), registry=self.registry,
        )  # fmt: skip
        self.rebuilds = Counter(
            "concord_rebuilds", "Rebuilds by outcome.", ["outcome"], registry=self.registry
        )
        self.pages_extracted = Counter(
            "concord_pages_extracted", "Pages of arriving files read, by how (text-layer or ocr).", ["method"],
            registry=self.registry,
        )  # fmt: skip
        self.ocr_seconds = Counter(
            "concord_ocr_seconds",
            "Seconds spent in OCR of scans, photos and PDF pages.",
            registry=self.registry,
        )
        self.registry.register(_StateCollector(self, holder))

    def extracted(self, reading: Extraction) -> None:
        """One reading of an arriving file done: count its pages by method, and its OCR time."""
        for page in reading.pages:
            self.pages_extracted.labels(page.method).inc()
        if not reading.pages:
            self.pages_extracted.labels(reading.method).inc()
        self.ocr_seconds.inc(reading.ocr_seconds)

    def rebuild_finished(self, seconds: float, ok: bool) -> None:
        outcome = "success" if ok else "failure"
        self.rebuild_seconds.labels(outcome).observe(seconds)
        self.rebuilds.labels(outcome).inc()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Pure ASGI (not BaseHTTPMiddleware, which streams every response through a task group):
        counts each HTTP request by route, method and status, and observes its latency."""

        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
                # The router records the matched route in the scope it was given.
                path = getattr(scope.get("route"), "path", None) or "unmatched"
                self.requests.labels(path, scope["method"], str(status)).inc()
                self.latency.labels(path, scope["method"]).observe(time.perf_counter() - started)

        return measured
