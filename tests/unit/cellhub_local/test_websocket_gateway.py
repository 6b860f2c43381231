"""The loopback WebSocket API and its management API, over real loopback sockets: the events
the function sees, delivery by ``post_to_connection``, and 410 for a connection that is gone."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from cellhub.adapters.aws.apigateway_notifier import ApiGatewayNotifier
from cellhub.adapters.aws.dynamodb_connections import DynamoConnections
from cellhub_local.emulated_cloud.gateway_app import Gateway, create_gateway
from cellhub_local.emulated_cloud.lambda_runtime import LocalFunction
from cellhub_local.emulated_cloud.websocket_gateway import STAGE
from cellhub_local.loopback import free_port, serving


class WebSocketFunction:
    """Accepts ``?token=good`` only and keeps every event."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        if event["requestContext"]["routeKey"] == "$connect":
            token = (event.get("queryStringParameters") or {}).get("token")
            return {"statusCode": 200 if token == "good" else 401}
        return {"statusCode": 200}

    def routes(self) -> list[str]:
        return [event["requestContext"]["routeKey"] for event in self.events]


@dataclass
class Running:
    url: str
    gateway: Gateway
    function: WebSocketFunction
    management: Any

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    function = WebSocketFunction()
    local = LocalFunction("cellhub-websocket", function, region="us-east-1")
    gateway = create_gateway(local, local, web_dir=None)
    with serving(gateway.app, free_port()) as url:
        management = boto3.client(
            "apigatewaymanagementapi", region_name="us-east-1", endpoint_url=f"{url}/{STAGE}"
        )
        yield Running(url, gateway, function, management)
    local.shutdown()


def test_connect_message_and_disconnect_events(running: Running) -> None:
    with connect(f"{running.ws}?token=good&lang=en", open_timeout=5) as socket:
        socket.send('{"action": "subscribe", "project_id": "p1"}')
        socket.send(b"\x00\x01")
        wait_until(lambda: len(running.function.events) == 3)
    wait_until(lambda: "$disconnect" in running.function.routes())
    connected, message, binary, disconnected = running.function.events
    context = connected["requestContext"]
    assert connected["queryStringParameters"] == {"token": "good", "lang": "en"}
    assert connected["multiValueQueryStringParameters"]["token"] == ["good"]
    assert connected["headers"]["host"] == running.url.removeprefix("http://")
    assert context["eventType"] == "CONNECT" and context["routeKey"] == "$connect"
    assert context["stage"] == STAGE and context["domainName"]
    assert context["requestId"] and isinstance(context["connectedAt"], int)
    connection_id = context["connectionId"]
    assert message["requestContext"]["eventType"] == "MESSAGE"
    assert message["requestContext"]["routeKey"] == "$default"
    assert message["requestContext"]["connectionId"] == connection_id
    assert message["body"] == '{"action": "subscribe", "project_id": "p1"}'
    assert message["isBase64Encoded"] is False
    assert base64.b64decode(binary["body"]) == b"\x00\x01" and binary["isBase64Encoded"]
    assert disconnected["requestContext"]["eventType"] == "DISCONNECT"
    assert disconnected["requestContext"]["disconnectStatusCode"] == 1000
    assert disconnected["requestContext"]["connectionId"] == connection_id
    assert len(running.gateway.connections) == 0


def test_connect_refused_unless_the_function_answers_200(running: Running) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{running.ws}?token=bad", open_timeout=5)
    assert refused.value.response.status_code == 401
    assert running.function.routes() == ["$connect"]
    assert len(running.gateway.connections) == 0


def test_post_get_and_delete_connection(running: Running) -> None:
    with connect(f"{running.ws}?token=good", open_timeout=5) as socket:
        connection_id = running.function.events[0]["requestContext"]["connectionId"]
        running.management.post_to_connection(ConnectionId=connection_id, Data=b'{"type":"x"}')
        assert socket.recv(timeout=5) == '{"type":"x"}'
        described = running.management.get_connection(ConnectionId=connection_id)
        assert described["Identity"]["SourceIp"] == "127.0.0.1"
        running.management.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=5)
    wait_until(lambda: "$disconnect" in running.function.routes())
    with pytest.raises(ClientError) as gone:
        running.management.post_to_connection(ConnectionId=connection_id, Data=b"late")
    assert gone.value.response["Error"]["Code"] == "GoneException"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


class DroppedConnections:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, connection_id: str) -> None:
        self.deleted.append(connection_id)


def test_notifier_drops_a_connection_the_gateway_calls_gone(running: Running) -> None:
    store = DroppedConnections()
    notifier = ApiGatewayNotifier(cast(DynamoConnections, store), client=running.management)
    with connect(f"{running.ws}?token=good", open_timeout=5) as socket:
        live_id = running.function.events[0]["requestContext"]["connectionId"]
        assert notifier.send(live_id, "hello") is True
        assert socket.recv(timeout=5) == "hello"
    assert notifier.send("Z29uZS1jb25uZWN0aW9u", "hello") is False
    assert store.deleted == ["Z29uZS1jb25uZWN0aW9u"]


def test_management_api_takes_only_signed_requests(running: Running) -> None:
    response = httpx.post(f"{running.url}/{STAGE}/@connections/any", content=b"x")
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "ForbiddenException"


def test_management_api_serves_only_callers_on_this_machine() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from cellhub_local.emulated_cloud.management_api import management_endpoint
    from cellhub_local.emulated_cloud.websocket_gateway import ConnectionRegistry

    route = Route(
        "/@connections/{connection_id}",
        management_endpoint(ConnectionRegistry()),
        methods=["POST", "GET", "DELETE"],
    )
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=x"}
    remote = TestClient(Starlette(routes=[route]), client=("192.0.2.7", 50000))
    assert remote.post("/@connections/any", headers=signed).status_code == 403
    local = TestClient(Starlette(routes=[route]), client=("127.0.0.1", 50000))
    assert local.post("/@connections/any", headers=signed).status_code == 410
