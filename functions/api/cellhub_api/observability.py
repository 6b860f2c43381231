"""Request metrics for ``/metrics``: counts and latency histograms in Prometheus text format.

Series are labelled by method, the matched route's *template* (``/projects/{project_id}``,
never the concrete path) and the status class (``2xx`` … ``5xx``), so their number stays
bounded by the app's routes however many ids clients send. Requests that match no route
share the template ``unmatched``. One lock guards the tables; recording is a few dict
updates, cheap enough to hold it for.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cellhub.ports.job_queue import JobQueue

# Upper bounds in seconds, Prometheus client defaults: 5 ms … 10 s.
LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
UNMATCHED_ROUTE = "unmatched"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = "cellhub_http_requests_total"
LATENCY = "cellhub_http_request_duration_seconds"
QUEUE_MESSAGES = "cellhub_queue_messages"

SeriesKey = tuple[str, str, str]  # method, route template, status class


@dataclass(slots=True)
class _Histogram:
    # counts[i] is the number of observations in (bucket[i-1], bucket[i]]; the last is +Inf.
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds


class RequestMetrics:
    """Request counts and latency histograms of one process; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._histograms: dict[SeriesKey, _Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, f"{status // 100}xx")
        with self._lock:
            histogram = self._histograms.get(key)
            if histogram is None:
                histogram = self._histograms[key] = _Histogram()
            histogram.observe(seconds)

    def render(self) -> list[str]:
        """The counter and histogram families as Prometheus exposition lines."""
        with self._lock:
            snapshot = {key: (list(h.counts), h.total) for key, h in self._histograms.items()}
        requests = [f"# HELP {REQUESTS} HTTP requests handled.", f"# TYPE {REQUESTS} counter"]
        latency = [
            f"# HELP {LATENCY} Time from request to the end of the response.",
            f"# TYPE {LATENCY} histogram",
        ]
        for (method, route, status), (counts, total) in sorted(snapshot.items()):
            labels = _labels(method=method, route=route, status=status)
            requests.append(f"{REQUESTS}{{{labels}}} {sum(counts)}")
            cumulative = 0
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                cumulative += count
                le = "+Inf" if bound == float("inf") else repr(float(bound))
                latency.append(f'{LATENCY}_bucket{{{labels},le="{le}"}} {cumulative}')
            latency.append(f"{LATENCY}_sum{{{labels}}} {total!r}")
            latency.append(f"{LATENCY}_count{{{labels}}} {cumulative}")
        return requests + latency


def render_queue_depths(queues: Mapping[str, JobQueue]) -> list[str]:
    """A gauge per queue and message state (visible, in_flight, delayed)."""
    lines = [
        f"# HELP {QUEUE_MESSAGES} Messages in a job queue by state (approximate).",
        f"# TYPE {QUEUE_MESSAGES} gauge",
    ]
    for name, queue in queues.items():
        depth = queue.depth()
        for state, value in (
            ("visible", depth.visible),
            ("in_flight", depth.in_flight),
            ("delayed", depth.delayed),
        ):
            lines.append(f"{QUEUE_MESSAGES}{{{_labels(queue=name, state=state)}}} {value}")
    return lines


def exposition(families: Iterable[list[str]]) -> str:
    return "\n".join(line for family in families for line in family) + "\n"


class MetricsMiddleware:
    """ASGI middleware timing every HTTP request into a ``RequestMetrics``."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees when the app raises before responding

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self.metrics.observe(
                scope["method"], _route_template(scope), status, time.perf_counter() - started
            )


def install_request_metrics(app: FastAPI) -> RequestMetrics:
    """Time every request of ``app``; the tables live on ``app.state.request_metrics``."""
    metrics = RequestMetrics()
    app.state.request_metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return metrics


def _route_template(scope: Scope) -> str:
    # The router stores the matched route in the shared scope; its path is the template.
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def _labels(**values: str) -> str:
    return ",".join(f'{name}="{_escape(value)}"' for name, value in values.items())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
