"""The cloud's notifier: pushes live events through the API Gateway management API.

Every connection subscribed to the event's project (``DynamoConnections``) is sent the same
text the embedded hub's ``/ws`` route sends (``event_json``) with ``post_to_connection``. A
410 ``GoneException`` means the client went away without a ``$disconnect``: that connection
is deleted and delivery goes on to the others. Any other failure is logged and skipped;
``publish`` never raises into the caller (events are hints; the REST API is the truth).

Who may see an event mirrors the in-app registry: subscribing checked membership, and a
``MembershipChanged`` with no role drops the user's subscriptions to the project before
delivery. Because a removal can happen in another process without such an event, a
``projects`` repository may be given too: each subscriber's membership is then re-checked
(cached for ``membership_ttl`` seconds) and a non-member is unsubscribed instead of served.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cellhub.adapters.aws.dynamodb_connections import DynamoConnections, LiveSubscriber
from cellhub.domain.events import LiveEvent, MembershipChanged, event_json
from cellhub.ports.projects_repository import ProjectsRepository

logger = logging.getLogger(__name__)

DEFAULT_MEMBERSHIP_TTL = 10.0
# Bounds the membership cache of a long-lived process (the GPU worker).
_MAX_CACHED_MEMBERSHIPS = 10_000


def is_gone(error: ClientError) -> bool:
    """Whether API Gateway answered that the connection no longer exists (410)."""
    code = error.response.get("Error", {}).get("Code")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code == "GoneException" or status == 410


class ApiGatewayNotifier:
    """Implements the ``Notifier`` port; ``client`` is an ``apigatewaymanagementapi`` client."""

    def __init__(
        self,
        connections: DynamoConnections,
        *,
        client: Any,
        projects: ProjectsRepository | None = None,
        membership_ttl: float = DEFAULT_MEMBERSHIP_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connections = connections
        self._client = client
        self._projects = projects
        self._membership_ttl = membership_ttl
        self._clock = clock
        self._members: dict[tuple[str, str], tuple[bool, float]] = {}

    def publish(self, event: LiveEvent) -> None:
        try:
            self._publish(event)
        except Exception:
            logger.exception("could not publish a %s event", event.type)

    def send(self, connection_id: str, text: str) -> bool:
        """Post ``text`` to one connection; False (and the connection dropped) when gone."""
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=text.encode())
        except ClientError as error:
            if is_gone(error):
                self._connections.delete(connection_id)
                return False
            logger.warning(
                "post_to_connection failed: %s", error.response.get("Error", {}).get("Code")
            )
            return False
        except BotoCoreError as error:
            logger.warning("post_to_connection failed: %s", type(error).__name__)
            return False
        return True

    def _publish(self, event: LiveEvent) -> None:
        text = event_json(event)
        project_id = event.project_id
        subscribers = self._connections.connections_for_project(project_id)
        if isinstance(event, MembershipChanged):
            self._members.pop((project_id, event.user_id), None)
            if event.role is None:
                subscribers = self._drop_user(project_id, event.user_id, subscribers)
        for subscriber in subscribers:
            if not self._may_see(project_id, subscriber):
                self._connections.unsubscribe(subscriber.connection_id, project_id)
                continue
            self.send(subscriber.connection_id, text)

    def _drop_user(
        self, project_id: str, user_id: str, subscribers: list[LiveSubscriber]
    ) -> list[LiveSubscriber]:
        kept = []
        for subscriber in subscribers:
            if subscriber.user_id == user_id:
                self._connections.unsubscribe(subscriber.connection_id, project_id)
            else:
                kept.append(subscriber)
        return kept

    def _may_see(self, project_id: str, subscriber: LiveSubscriber) -> bool:
        if self._projects is None:
            return True
        key = (project_id, subscriber.user_id)
        now = self._clock()
        cached = self._members.get(key)
        if cached is not None and now - cached[1] < self._membership_ttl:
            return cached[0]
        allowed = self._projects.get_role(project_id, subscriber.user_id) is not None
        if len(self._members) >= _MAX_CACHED_MEMBERSHIPS:
            self._members.clear()
        self._members[key] = (allowed, now)
        return allowed
