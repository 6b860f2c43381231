"""The API Gateway notifier: connections on moto's DynamoDB, the management API stubbed.

moto's ``apigatewaymanagementapi`` never answers 410 ``GoneException`` (it has no notion of a
client going away), so the management API is a real botocore client under ``Stubber``, which
answers each ``post_to_connection`` with what the test queued, without any network.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from cellhub.adapters.aws.apigateway_notifier import ApiGatewayNotifier
from cellhub.adapters.aws.dynamodb_connections import DynamoConnections, LiveSubscriber
from cellhub.adapters.aws.dynamodb_table import create_hub_table
from cellhub.domain.events import MembershipChanged, ThumbnailReady, event_json
from cellhub.domain.projects import Role

ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/live"
EVENT = ThumbnailReady(project_id="p1", image_id="i1", width=640, height=480)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoConnections]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        table = create_hub_table(boto3.resource("dynamodb", region_name="us-east-1"), "hub")
        yield DynamoConnections(table)


@pytest.fixture
def management() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("apigatewaymanagementapi", region_name="us-east-1", endpoint_url=ENDPOINT)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def follow(connections: DynamoConnections, project_id: str, *pairs: tuple[str, str]) -> None:
    for connection_id, user_id in pairs:
        connections.put(connection_id, user_id)
        connections.subscribe(connection_id, project_id)


def expect_post(stubber: Stubber, connection_id: str, text: str) -> None:
    stubber.add_response(
        "post_to_connection", {}, {"ConnectionId": connection_id, "Data": text.encode()}
    )


def expect_error(stubber: Stubber, code: str, status: int) -> None:
    stubber.add_client_error("post_to_connection", service_error_code=code, http_status_code=status)


class Members:
    """A projects repository that knows only roles."""

    def __init__(self, roles: dict[tuple[str, str], Role]) -> None:
        self.roles = roles
        self.lookups = 0

    def get_role(self, project_id: str, user_id: str) -> Role | None:
        self.lookups += 1
        return self.roles.get((project_id, user_id))


def test_a_gone_connection_is_dropped_and_the_others_still_get_the_event(
    connections: DynamoConnections, management: tuple[Any, Stubber]
) -> None:
    client, stubber = management
    follow(connections, "p1", ("c1", "alice"), ("c2", "bob"), ("c3", "carol"))
    text = event_json(EVENT)
    expect_post(stubber, "c1", text)
    expect_error(stubber, "GoneException", 410)  # c2's client went away without $disconnect
    expect_post(stubber, "c3", text)
    ApiGatewayNotifier(connections, client=client).publish(EVENT)
    assert connections.user_of("c2") is None
    assert sorted(s.connection_id for s in connections.connections_for_project("p1")) == [
        "c1",
        "c3",
    ]


def test_other_failures_are_skipped_and_keep_the_connection(
    connections: DynamoConnections, management: tuple[Any, Stubber]
) -> None:
    client, stubber = management
    follow(connections, "p1", ("c1", "alice"), ("c2", "bob"))
    expect_error(stubber, "LimitExceededException", 429)
    expect_post(stubber, "c2", event_json(EVENT))
    ApiGatewayNotifier(connections, client=client).publish(EVENT)
    assert connections.user_of("c1") == "alice"


def test_publish_never_raises_into_the_caller(management: tuple[Any, Stubber]) -> None:
    class Broken:
        def connections_for_project(self, project_id: str) -> list[LiveSubscriber]:
            raise RuntimeError("DynamoDB is down")

    client, _ = management
    ApiGatewayNotifier(Broken(), client=client).publish(EVENT)  # type: ignore[arg-type]


def test_a_user_who_left_is_unsubscribed_before_delivery(
    connections: DynamoConnections, management: tuple[Any, Stubber]
) -> None:
    client, stubber = management
    follow(connections, "p1", ("c1", "alice"), ("c2", "bob"))
    left = MembershipChanged(project_id="p1", user_id="bob", role=None)
    expect_post(stubber, "c1", event_json(left))
    ApiGatewayNotifier(connections, client=client).publish(left)
    assert connections.connections_for_project("p1") == [LiveSubscriber("c1", "alice")]
    assert connections.user_of("c2") == "bob"  # still connected, just not following p1


def test_a_subscriber_no_longer_a_member_is_unsubscribed_not_served(
    connections: DynamoConnections, management: tuple[Any, Stubber]
) -> None:
    client, stubber = management
    follow(connections, "p1", ("c1", "alice"), ("c2", "bob"), ("c3", "alice"))
    members = Members({("p1", "alice"): Role.EDITOR})
    notifier = ApiGatewayNotifier(connections, client=client, projects=members)  # type: ignore[arg-type]
    text = event_json(EVENT)
    expect_post(stubber, "c1", text)
    expect_post(stubber, "c3", text)
    notifier.publish(EVENT)
    assert {s.connection_id for s in connections.connections_for_project("p1")} == {"c1", "c3"}
    assert members.lookups == 2  # once per user, not per connection
