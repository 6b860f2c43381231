"""The loopback HTTP API: requests become payload 2.0 events, function results become responses."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from mangum import Mangum

from cellhub_local.emulated_cloud.gateway_app import create_gateway, web_file
from cellhub_local.emulated_cloud.lambda_runtime import LocalFunction

PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"


class Recorder:
    """A handler that keeps each event and context and answers ``reply``."""

    def __init__(self, reply: dict[str, Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.reply = reply or {"statusCode": 200, "body": ""}

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        self.contexts.append(context)
        return self.reply


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder, tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "index.html").write_text("<h1>client</h1>")
    api = LocalFunction("cellhub-api", recorder, region="us-east-1")
    websocket = LocalFunction("cellhub-websocket", Recorder(), region="us-east-1")
    gateway = create_gateway(api, websocket, web_dir=tmp_path)
    with TestClient(gateway.app, base_url="http://127.0.0.1:8123") as test_client:
        yield test_client
    api.shutdown()
    websocket.shutdown()


def test_request_becomes_a_payload_2_event(client: TestClient, recorder: Recorder) -> None:
    client.get(
        "/projects/p1/images?status=ready&status=failed&limit=5",
        headers=[("X-Trace", "a"), ("X-Trace", "b"), ("Cookie", "theme=dark; lang=en")],
    )
    event = recorder.events[-1]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/projects/p1/images"
    assert event["rawQueryString"] == "status=ready&status=failed&limit=5"
    assert event["queryStringParameters"] == {"status": "ready,failed", "limit": "5"}
    assert event["cookies"] == ["theme=dark", "lang=en"]
    headers = event["headers"]
    assert headers["x-trace"] == "a,b"
    assert "cookie" not in headers
    assert all(name == name.lower() for name in headers)
    assert "body" not in event and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/projects/p1/images",
        "protocol": "HTTP/1.1",
        "sourceIp": "testclient",
        "userAgent": headers["user-agent"],
    }
    assert context["routeKey"] == "$default" and context["stage"] == "$default"
    assert context["domainName"] == "127.0.0.1:8123"
    assert context["requestId"]
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])
    assert isinstance(context["timeEpoch"], int)


def test_lambda_context_has_what_powertools_reads(client: TestClient, recorder: Recorder) -> None:
    client.get("/health")
    client.get("/health")
    first, second = recorder.contexts[-2:]
    assert first.function_name == "cellhub-api"
    assert first.memory_limit_in_mb > 0
    assert first.invoked_function_arn.startswith("arn:aws:lambda:us-east-1:")
    assert first.aws_request_id != second.aws_request_id
    assert 0 < first.get_remaining_time_in_millis() <= 30_000


def test_text_bodies_are_plain_and_binary_ones_base64(
    client: TestClient, recorder: Recorder
) -> None:
    client.post("/auth/login", json={"email": "a@example.org"})
    assert recorder.events[-1]["body"] == '{"email":"a@example.org"}'
    assert recorder.events[-1]["isBase64Encoded"] is False
    client.put("/blob", content=PNG_BYTES, headers={"Content-Type": "image/png"})
    assert recorder.events[-1]["isBase64Encoded"] is True
    assert base64.b64decode(recorder.events[-1]["body"]) == PNG_BYTES


def test_function_result_becomes_the_response(client: TestClient, recorder: Recorder) -> None:
    recorder.reply = {
        "statusCode": 201,
        "headers": {"content-type": "image/png", "x-request": "r1"},
        "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
        "body": base64.b64encode(PNG_BYTES).decode(),
        "isBase64Encoded": True,
    }
    response = client.get("/thumbnail")
    assert response.status_code == 201
    assert response.content == PNG_BYTES
    assert response.headers["x-request"] == "r1"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]


def test_a_failing_function_is_a_500_and_a_huge_body_a_413(tmp_path: Path) -> None:
    def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    api = LocalFunction("cellhub-api", broken, region="us-east-1")
    gateway = create_gateway(api, api, web_dir=None)
    with TestClient(gateway.app) as client:
        failed = client.get("/anything")
        too_big = client.post("/anything", content=b"x" * (10 * 1024 * 1024 + 1))
    api.shutdown()
    assert failed.status_code == 500
    assert failed.json() == {"message": "Internal Server Error"}
    assert too_big.status_code == 413


def test_mangum_reads_the_events_the_gateway_makes() -> None:
    app = FastAPI()

    @app.post("/echo/{name}")
    async def echo(name: str, request: Request) -> dict[str, Any]:
        return {
            "name": name,
            "query": dict(request.query_params),
            "body": (await request.body()).decode(),
            "client": request.client.host if request.client else None,
            "cookie": request.cookies.get("theme"),
        }

    adapter = Mangum(app, lifespan="off")
    api = LocalFunction("cellhub-api", lambda event, context: adapter(event, context), region="x")
    gateway = create_gateway(api, api, web_dir=None)
    with TestClient(gateway.app) as client:
        response = client.post("/echo/cells?x=1", content="hello", headers={"Cookie": "theme=dark"})
    api.shutdown()
    assert response.status_code == 200
    assert response.json() == {
        "name": "cells",
        "query": {"x": "1"},
        "body": "hello",
        "client": "testclient",
        "cookie": "dark",
    }


def test_web_client_files_are_served_and_nothing_outside(
    client: TestClient, recorder: Recorder, tmp_path: Path
) -> None:
    assert client.get("/").text == "<h1>client</h1>"
    assert not recorder.events
    assert web_file(tmp_path, "/../etc/passwd") is None
    client.get("/projects")
    assert recorder.events[-1]["rawPath"] == "/projects"
