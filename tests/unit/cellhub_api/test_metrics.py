"""``GET /metrics``: request series keyed by route template, histograms, queue depth gauges."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from fastapi.testclient import TestClient

from cellhub_api.container import HubServices
from cellhub_api.observability import LATENCY_BUCKETS, RequestMetrics

Login = Callable[[str], dict[str, str]]

# Label values hold braces (route templates), so labels are matched as quoted pairs.
_SAMPLE = re.compile(r'^(?P<name>[a-z_]+)(?:\{(?P<labels>(?:\w+="[^"]*",?)*)\})? (?P<value>\S+)$')


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample line as ``(name, labels) -> value``; comment lines are skipped."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = _SAMPLE.match(line)
        assert match is not None, f"not an exposition line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        samples[(match["name"], labels)] = float(match["value"])
    return samples


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_requests_are_counted_by_route_template(client: TestClient, login: Login) -> None:
    headers = login("ada@example.org")
    project_ids = [
        client.post("/projects", json={"name": f"p{n}"}, headers=headers).json()["id"]
        for n in range(2)
    ]
    for project_id in project_ids:
        assert client.get(f"/projects/{project_id}/images", headers=headers).status_code == 200
    assert client.get("/projects/missing/images", headers=headers).status_code == 404
    assert client.get("/no/such/path").status_code == 404

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for project_id in project_ids:
        assert project_id not in text  # concrete ids never become label values
    samples = _samples(text)
    template = "/projects/{project_id}/images"
    ok = {"method": "GET", "route": template, "status": "2xx"}
    assert _value(samples, "cellhub_http_requests_total", **ok) == 2
    assert _value(samples, "cellhub_http_requests_total", **{**ok, "status": "4xx"}) == 1
    created = {"method": "POST", "route": "/projects", "status": "2xx"}
    assert _value(samples, "cellhub_http_requests_total", **created) == 2
    unmatched = {"method": "GET", "route": "unmatched", "status": "4xx"}
    assert _value(samples, "cellhub_http_requests_total", **unmatched) == 1

    buckets = [
        _value(samples, "cellhub_http_request_duration_seconds_bucket", **ok, le=le)
        for le in [repr(float(b)) for b in LATENCY_BUCKETS] + ["+Inf"]
    ]
    assert buckets == sorted(buckets), "buckets are cumulative"
    assert buckets[-1] == 2
    assert _value(samples, "cellhub_http_request_duration_seconds_count", **ok) == 2
    assert _value(samples, "cellhub_http_request_duration_seconds_sum", **ok) > 0


def test_queue_depth_gauges_follow_the_queues(client: TestClient, services: HubServices) -> None:
    def depth(queue: str, state: str) -> float:
        samples = _samples(client.get("/metrics").text)
        return _value(samples, "cellhub_queue_messages", queue=queue, state=state)

    assert depth("segment", "visible") == 0
    services.segment_queue.send('{"probe": 1}')
    services.export_queue.send('{"probe": 2}', delay_seconds=60)
    assert depth("segment", "visible") == 1
    assert depth("export", "delayed") == 1
    services.segment_queue.receive(visibility_timeout=60)
    assert (depth("segment", "visible"), depth("segment", "in_flight")) == (0, 1)


def test_recording_is_thread_safe() -> None:
    metrics = RequestMetrics()

    def hammer() -> None:
        for _ in range(1_000):
            metrics.observe("GET", "/health", 200, 0.001)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    samples = _samples("\n".join(metrics.render()))
    ok = {"method": "GET", "route": "/health", "status": "2xx"}
    assert _value(samples, "cellhub_http_requests_total", **ok) == 8_000
    assert _value(samples, "cellhub_http_request_duration_seconds_bucket", **ok, le="+Inf") == 8_000
