"""The WebSocket Lambda on genuine API Gateway WebSocket events, with the table on moto.

The gateway is built by the handler from the environment; only the management API client
is a recorder, so that each answer the function posts can be read back one by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from cellhub.adapters.aws import wiring
from cellhub.adapters.aws.apigateway_notifier import ApiGatewayNotifier
from cellhub.adapters.aws.dynamodb_table import create_hub_table
from cellhub.domain.accounts import User, utc_now
from cellhub.domain.events import ThumbnailReady, event_json
from cellhub.domain.projects import Member, Project, Role
from cellhub.settings import get_settings
from cellhub_api import websocket_handlers
from cellhub_api.websocket_handlers import LiveGateway

REGION = "us-east-1"
ENDPOINT = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/live"


@dataclass
class LambdaContext:
    function_name: str = "cellhub-websocket"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cellhub-ws"
    aws_request_id: str = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"


@dataclass
class ManagementApi:
    """Records ``post_to_connection``; connections in ``gone`` answer 410 as API Gateway does."""

    posts: list[tuple[str, Any]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        if ConnectionId in self.gone:
            raise ClientError(
                {
                    "Error": {"Code": "GoneException", "Message": ""},
                    "ResponseMetadata": {"HTTPStatusCode": 410},
                },
                "PostToConnection",
            )
        self.posts.append((ConnectionId, json.loads(Data)))
        return {}

    def to(self, connection_id: str) -> list[Any]:
        return [data for target, data in self.posts if target == connection_id]


@dataclass
class Cloud:
    gateway: LiveGateway
    api: ManagementApi
    alice: str
    bob: str
    project: Project

    def token(self, user_id: str) -> str:
        return self.gateway.tokens.issue(user_id)


def add_user(gateway: LiveGateway, user_id: str) -> str:
    gateway.users.create_user(
        User(
            id=user_id,
            email=f"{user_id}@lab.example.org",
            password_hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            email_verified=True,
            created_at=utc_now(),
        )
    )
    return user_id


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_METRICS_NAMESPACE": "CellHubTest",
        "CELLHUB_TABLE_NAME": "hub",
        "CELLHUB_WEBSOCKET_ENDPOINT": ENDPOINT,
        "CELLHUB_PUBLIC_URL": "https://hub.example.org",
        "CELLHUB_JWT_SECRET": "j" * 48,
    }.items():
        monkeypatch.setenv(name, value)
    api = ManagementApi()
    monkeypatch.setattr(wiring, "management_api", lambda resources: api)
    with mock_aws():
        create_hub_table(boto3.resource("dynamodb", region_name=REGION), "hub")
        get_settings.cache_clear()
        websocket_handlers.live_gateway.cache_clear()
        gateway = websocket_handlers.live_gateway()
        alice, bob = add_user(gateway, "u-alice"), add_user(gateway, "u-bob")
        project = Project.new("Organoids", owner_id=alice)
        gateway.projects.create(project)
        yield Cloud(gateway, api, alice, bob, project)
    websocket_handlers.live_gateway.cache_clear()
    get_settings.cache_clear()


def request_context(route: str, connection_id: str, event_type: str) -> dict[str, Any]:
    return {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": "Cx9ZxGbZIAMFbTw=",
        "requestTime": "24/Nov/2026:04:40:00 +0000",
        "messageDirection": "IN",
        "stage": "live",
        "connectedAt": 1795495200000,
        "requestTimeEpoch": 1795495200123,
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"},
        "requestId": "Cx9ZxGbZIAMFbTw=",
        "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "connectionId": connection_id,
        "apiId": "a1b2c3d4e5",
    }


def connect_event(connection_id: str, token: str | None) -> dict[str, Any]:
    query = {"token": token} if token is not None else None
    return {
        "headers": {
            "Host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "Origin": "https://hub.example.org",
            "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https",
        },
        "queryStringParameters": query,
        "multiValueQueryStringParameters": (
            {k: [v] for k, v in query.items()} if query is not None else None
        ),
        "requestContext": request_context("$connect", connection_id, "CONNECT"),
        "isBase64Encoded": False,
    }


def message_event(connection_id: str, message: Any) -> dict[str, Any]:
    context = request_context("$default", connection_id, "MESSAGE")
    context["messageId"] = "Cx9a0c5XIAMCIhw="
    body = message if isinstance(message, str) else json.dumps(message)
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_event(connection_id: str) -> dict[str, Any]:
    context = request_context("$disconnect", connection_id, "DISCONNECT")
    context.update({"disconnectStatusCode": 1001, "disconnectReason": "Going away"})
    return {"headers": {"Host": context["domainName"]}, "requestContext": context,
            "isBase64Encoded": False}  # fmt: skip


def invoke(event: dict[str, Any]) -> int:
    return int(websocket_handlers.handler(event, LambdaContext())["statusCode"])


def test_connect_stores_the_connection_of_a_valid_token(cloud: Cloud) -> None:
    assert invoke(connect_event("L0SM9cOFvHcCIhw=", cloud.token(cloud.alice))) == 200
    assert cloud.gateway.connections.user_of("L0SM9cOFvHcCIhw=") == cloud.alice


@pytest.mark.parametrize("token", [None, "", "e30.e30.forged"])
def test_connect_refuses_a_bad_token_with_401(cloud: Cloud, token: str | None) -> None:
    assert invoke(connect_event("c1", token)) == 401
    assert cloud.gateway.connections.user_of("c1") is None


def test_connect_refuses_the_token_of_a_deleted_account(cloud: Cloud) -> None:
    token = cloud.token(cloud.bob)
    cloud.gateway.users.delete_user(cloud.bob)
    assert invoke(connect_event("c1", token)) == 401


def test_a_member_subscribes_and_receives_the_projects_events(cloud: Cloud) -> None:
    invoke(connect_event("c1", cloud.token(cloud.alice)))
    project_id = cloud.project.id
    assert invoke(message_event("c1", {"action": "subscribe", "project_id": project_id})) == 200
    assert cloud.api.to("c1") == [{"type": "subscribed", "project_id": project_id}]
    event = ThumbnailReady(project_id=project_id, image_id="i1", width=8, height=8)
    ApiGatewayNotifier(cloud.gateway.connections, client=cloud.api).publish(event)
    assert cloud.api.to("c1")[-1] == json.loads(event_json(event))


def test_a_project_the_user_may_not_see_is_not_found(cloud: Cloud) -> None:
    invoke(connect_event("c2", cloud.token(cloud.bob)))
    request = {"action": "subscribe", "project_id": cloud.project.id}
    invoke(message_event("c2", request))
    assert cloud.api.to("c2") == [
        {"type": "error", "code": "not_found", "project_id": cloud.project.id}
    ]
    assert cloud.gateway.connections.connections_for_project(cloud.project.id) == []


def test_unsubscribe_and_malformed_requests(cloud: Cloud) -> None:
    invoke(connect_event("c1", cloud.token(cloud.alice)))
    project_id = cloud.project.id
    invoke(message_event("c1", {"action": "subscribe", "project_id": project_id}))
    invoke(message_event("c1", {"action": "unsubscribe", "project_id": project_id}))
    invoke(message_event("c1", "not json"))
    invoke(message_event("c1", {"action": "subscribe"}))
    assert cloud.api.to("c1")[1:] == [
        {"type": "unsubscribed", "project_id": project_id},
        {"type": "error", "code": "invalid_request"},
        {"type": "error", "code": "invalid_request"},
    ]
    assert cloud.gateway.connections.connections_for_project(project_id) == []


def test_a_message_on_an_unknown_connection_asks_for_a_new_token(cloud: Cloud) -> None:
    invoke(message_event("ghost", {"action": "subscribe", "project_id": cloud.project.id}))
    assert cloud.api.to("ghost") == [{"type": "error", "code": "invalid_token"}]


def test_disconnect_forgets_the_connection_and_its_subscriptions(cloud: Cloud) -> None:
    invoke(connect_event("c1", cloud.token(cloud.alice)))
    invoke(message_event("c1", {"action": "subscribe", "project_id": cloud.project.id}))
    assert invoke(disconnect_event("c1")) == 200
    assert cloud.gateway.connections.user_of("c1") is None
    assert cloud.gateway.connections.connections_for_project(cloud.project.id) == []


def test_a_removed_member_stops_receiving_events(cloud: Cloud) -> None:
    cloud.gateway.projects.add_member(Member(cloud.project.id, cloud.bob, Role.VIEWER))
    invoke(connect_event("c2", cloud.token(cloud.bob)))
    invoke(message_event("c2", {"action": "subscribe", "project_id": cloud.project.id}))
    cloud.gateway.projects.remove_member(cloud.project.id, cloud.bob)
    # The notifier every publisher builds re-checks membership before delivering.
    notifier = wiring.notifier(wiring.AwsResources.from_env(), projects=cloud.gateway.projects)
    notifier.publish(ThumbnailReady(project_id=cloud.project.id, image_id="i", width=1, height=1))
    assert cloud.api.to("c2") == [{"type": "subscribed", "project_id": cloud.project.id}]
    assert cloud.gateway.connections.connections_for_project(cloud.project.id) == []


def test_an_unknown_route_is_a_bad_request(cloud: Cloud) -> None:
    event = message_event("c1", {})
    event["requestContext"]["routeKey"] = "sendmessage"
    assert invoke(event) == 400
