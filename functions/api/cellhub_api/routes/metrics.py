"""``GET /metrics``: request counts, latency histograms and queue depths for Prometheus.

Unauthenticated like ``/health``: scrapers reach it from inside the deployment, and the
series hold route templates and counts only, never ids, paths or user data.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from cellhub_api.deps import Services
from cellhub_api.observability import (
    CONTENT_TYPE,
    RequestMetrics,
    exposition,
    render_queue_depths,
)

router = APIRouter(tags=["observability"], include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request, services: Services) -> Response:
    recorded: RequestMetrics | None = getattr(request.app.state, "request_metrics", None)
    queues = {"segment": services.segment_queue, "export": services.export_queue}
    families = [recorded.render() if recorded else [], render_queue_depths(queues)]
    return Response(exposition(families), media_type=CONTENT_TYPE)
