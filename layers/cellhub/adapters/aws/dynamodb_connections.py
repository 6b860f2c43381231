"""Live WebSocket connections of the API Gateway WebSocket API, kept in the hub's single table.

Only the table's ``pk``/``sk`` keys are used (no index), and every item carries
``expires_at`` (epoch seconds, the table's TTL attribute), so a connection that API Gateway
dropped without a ``$disconnect`` is removed by DynamoDB on its own. TTL deletion lags (up
to days), so reads also skip items whose ``expires_at`` has passed. Item layout::

    pk                       sk                   attributes         what it is
    WSCONN#<connection_id>   CONNECTION           user_id            the connection itself
    WSCONN#<connection_id>   SUB#<project_id>     project_id         what it follows (for cleanup)
    LIVE#<project_id>        CONN#<connection_id> user_id            who follows the project
    LIVEUSER#<user_id>       CONN#<connection_id> connection_id      a user's connections

``connections_for_project`` is one Query on ``LIVE#<project_id>``; ``delete`` is one Query on
``WSCONN#<connection_id>`` plus deletes of what it lists, so nothing ever needs a Scan.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key

# API Gateway closes a WebSocket connection after two hours at most; the margin covers
# clock skew between Lambda and DynamoDB.
CONNECTION_TTL_SECONDS = 2 * 3600 + 15 * 60

_CONNECTION = "CONNECTION"


@dataclass(frozen=True, slots=True)
class LiveSubscriber:
    """One connection that follows a project, and the user it was opened by."""

    connection_id: str
    user_id: str


def _connection_pk(connection_id: str) -> str:
    return f"WSCONN#{connection_id}"


def _project_pk(project_id: str) -> str:
    return f"LIVE#{project_id}"


def _user_pk(user_id: str) -> str:
    return f"LIVEUSER#{user_id}"


class DynamoConnections:
    """Connections and their project subscriptions; ``table`` is a boto3 ``Table`` resource."""

    def __init__(
        self,
        table: Any,
        *,
        ttl_seconds: int = CONNECTION_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table
        self._ttl_seconds = ttl_seconds
        self._clock = clock

    def put(self, connection_id: str, user_id: str) -> None:
        """Record a new connection opened by ``user_id``."""
        expires_at = self._expires_at()
        self._table.put_item(
            Item={
                "pk": _user_pk(user_id),
                "sk": f"CONN#{connection_id}",
                "connection_id": connection_id,
                "expires_at": expires_at,
            }
        )
        self._table.put_item(
            Item={
                "pk": _connection_pk(connection_id),
                "sk": _CONNECTION,
                "user_id": user_id,
                "expires_at": expires_at,
            }
        )

    def user_of(self, connection_id: str) -> str | None:
        """The user who opened the connection, or None when it is unknown or expired."""
        item = self._table.get_item(
            Key={"pk": _connection_pk(connection_id), "sk": _CONNECTION}, ConsistentRead=True
        ).get("Item")
        if item is None or not self._alive(item):
            return None
        return str(item["user_id"])

    def delete(self, connection_id: str) -> None:
        """Forget the connection and all its subscriptions; unknown ids are a no-op."""
        items = list(self._query(_connection_pk(connection_id), consistent=True))
        user_id = next((str(i["user_id"]) for i in items if i["sk"] == _CONNECTION), None)
        with self._table.batch_writer() as batch:
            for item in items:
                if item["sk"].startswith("SUB#"):
                    batch.delete_item(
                        Key={"pk": _project_pk(item["project_id"]), "sk": f"CONN#{connection_id}"}
                    )
            if user_id is not None:
                batch.delete_item(Key={"pk": _user_pk(user_id), "sk": f"CONN#{connection_id}"})
            # The connection's own items last: a retry after a crash still finds the rest.
            for item in items:
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    def subscribe(self, connection_id: str, project_id: str) -> bool:
        """Follow ``project_id``; False when the connection is unknown (already gone)."""
        user_id = self.user_of(connection_id)
        if user_id is None:
            return False
        expires_at = self._expires_at()
        # The connection's own record first, so that ``delete`` always finds the other one.
        self._table.put_item(
            Item={
                "pk": _connection_pk(connection_id),
                "sk": f"SUB#{project_id}",
                "project_id": project_id,
                "expires_at": expires_at,
            }
        )
        self._table.put_item(
            Item={
                "pk": _project_pk(project_id),
                "sk": f"CONN#{connection_id}",
                "user_id": user_id,
                "expires_at": expires_at,
            }
        )
        return True

    def unsubscribe(self, connection_id: str, project_id: str) -> None:
        self._table.delete_item(Key={"pk": _project_pk(project_id), "sk": f"CONN#{connection_id}"})
        self._table.delete_item(
            Key={"pk": _connection_pk(connection_id), "sk": f"SUB#{project_id}"}
        )

    def connections_for_project(self, project_id: str) -> list[LiveSubscriber]:
        """Every live connection that follows ``project_id`` (one Query, paged)."""
        return [
            LiveSubscriber(connection_id=item["sk"].removeprefix("CONN#"), user_id=item["user_id"])
            for item in self._query(_project_pk(project_id))
        ]

    def connections_for_user(self, user_id: str) -> list[str]:
        """The ids of the user's live connections."""
        return [str(item["connection_id"]) for item in self._query(_user_pk(user_id))]

    def subscriptions(self, connection_id: str) -> frozenset[str]:
        """The projects the connection follows."""
        return frozenset(
            str(item["project_id"])
            for item in self._query(_connection_pk(connection_id), consistent=True)
            if item["sk"].startswith("SUB#")
        )

    def _query(self, pk: str, *, consistent: bool = False) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(pk),
            "ConsistentRead": consistent,
        }
        while True:
            page = self._table.query(**arguments)
            yield from (item for item in page.get("Items", []) if self._alive(item))
            last = page.get("LastEvaluatedKey")
            if last is None:
                return
            arguments["ExclusiveStartKey"] = last

    def _alive(self, item: dict[str, Any]) -> bool:
        expires_at = item.get("expires_at")
        return expires_at is None or int(expires_at) > self._clock()

    def _expires_at(self) -> int:
        return int(self._clock()) + self._ttl_seconds
