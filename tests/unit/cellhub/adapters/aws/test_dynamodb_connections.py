"""WebSocket connections in the single table, on moto's DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cellhub.adapters.aws.dynamodb_connections import (
    CONNECTION_TTL_SECONDS,
    DynamoConnections,
    LiveSubscriber,
)
from cellhub.adapters.aws.dynamodb_table import create_hub_table


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield create_hub_table(boto3.resource("dynamodb", region_name="us-east-1"), "hub")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def connections(table: Any, clock: Clock) -> DynamoConnections:
    return DynamoConnections(table, clock=clock)


def test_subscribers_of_a_project_are_found_by_one_query(
    table: Any, connections: DynamoConnections
) -> None:
    connections.put("c1", "alice")
    connections.put("c2", "bob")
    connections.put("c3", "carol")
    assert connections.subscribe("c1", "p1")
    assert connections.subscribe("c2", "p1")
    assert connections.subscribe("c3", "p2")
    queries: list[dict[str, Any]] = []
    table.meta.client.meta.events.register(
        "before-call.dynamodb.*", lambda params, model, **_: queries.append(model.name)
    )
    found = connections.connections_for_project("p1")
    assert sorted(found, key=lambda s: s.connection_id) == [
        LiveSubscriber("c1", "alice"),
        LiveSubscriber("c2", "bob"),
    ]
    assert queries == ["Query"]


def test_items_use_only_the_table_keys_and_carry_a_ttl(
    table: Any, connections: DynamoConnections, clock: Clock
) -> None:
    connections.put("c1", "alice")
    connections.subscribe("c1", "p1")
    items = table.scan()["Items"]
    assert {(i["pk"], i["sk"]) for i in items} == {
        ("WSCONN#c1", "CONNECTION"),
        ("WSCONN#c1", "SUB#p1"),
        ("LIVE#p1", "CONN#c1"),
        ("LIVEUSER#alice", "CONN#c1"),
    }
    assert all(int(i["expires_at"]) == int(clock.now) + CONNECTION_TTL_SECONDS for i in items)
    assert not any(key.startswith("gsi") for item in items for key in item)


def test_delete_removes_the_connection_and_every_subscription(
    table: Any, connections: DynamoConnections
) -> None:
    connections.put("c1", "alice")
    connections.put("c2", "alice")
    connections.subscribe("c1", "p1")
    connections.subscribe("c1", "p2")
    connections.subscribe("c2", "p1")
    connections.delete("c1")
    assert connections.user_of("c1") is None
    assert connections.connections_for_project("p1") == [LiveSubscriber("c2", "alice")]
    assert connections.connections_for_project("p2") == []
    assert connections.connections_for_user("alice") == ["c2"]
    assert {i["pk"] for i in table.scan()["Items"]} == {"WSCONN#c2", "LIVE#p1", "LIVEUSER#alice"}
    connections.delete("c1")  # a repeated $disconnect is harmless


def test_unsubscribe_and_subscriptions(connections: DynamoConnections) -> None:
    connections.put("c1", "alice")
    connections.subscribe("c1", "p1")
    connections.subscribe("c1", "p2")
    connections.unsubscribe("c1", "p1")
    assert connections.subscriptions("c1") == frozenset({"p2"})
    assert connections.connections_for_project("p1") == []


def test_an_unknown_connection_cannot_subscribe(connections: DynamoConnections) -> None:
    assert not connections.subscribe("ghost", "p1")
    assert connections.connections_for_project("p1") == []


def test_expired_items_are_ignored_before_dynamodb_removes_them(
    connections: DynamoConnections, clock: Clock
) -> None:
    connections.put("c1", "alice")
    connections.subscribe("c1", "p1")
    clock.now += CONNECTION_TTL_SECONDS + 1
    assert connections.user_of("c1") is None
    assert connections.connections_for_project("p1") == []
    assert connections.connections_for_user("alice") == []


class SmallPages:
    """The table, answering queries seven items at a time, as a large partition would."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def query(self, **arguments: Any) -> Any:
        return self._table.query(Limit=7, **arguments)


def test_many_subscribers_are_paged_through(table: Any, clock: Clock) -> None:
    connections = DynamoConnections(SmallPages(table), clock=clock)
    for n in range(20):
        connections.put(f"c{n:02}", f"u{n}")
        connections.subscribe(f"c{n:02}", "p1")
    assert len(connections.connections_for_project("p1")) == 20
