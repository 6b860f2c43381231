"""The WebSocket API's Lambda: ``$connect``, ``$disconnect`` and ``$default``.

The protocol is the embedded hub's ``/ws`` (see ``cellhub_api.routes.live``), carried by API
Gateway: the client connects to ``wss://…/<stage>?token=<access token>`` (a bad token is
refused with 401 before the socket opens), then sends ``{"action": "subscribe" |
"unsubscribe", "project_id": "…"}`` and is answered ``{"type": "subscribed" |
"unsubscribed", "project_id": "…"}``; a project the user is not a member of gets ``{"type":
"error", "code": "not_found"}``. Answers go back through ``post_to_connection``. Events are
pushed by every publisher's ``ApiGatewayNotifier``, not by this function.

One function, ``handler``, serves all three routes and dispatches on ``routeKey``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from cellhub.adapters.aws import wiring
from cellhub.adapters.aws.apigateway_notifier import ApiGatewayNotifier
from cellhub.adapters.aws.dynamodb_connections import DynamoConnections
from cellhub.adapters.aws.wiring import AwsResources
from cellhub.ports.accounts_repository import AccountsRepository
from cellhub.ports.projects_repository import ProjectsRepository
from cellhub.services.access_tokens import AccessTokens, live_user

SERVICE = "cellhub-websocket"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="CellHub", service=SERVICE)

Reply = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LiveGateway:
    """What the three routes need; built once per container by ``live_gateway``."""

    tokens: AccessTokens
    users: AccountsRepository
    projects: ProjectsRepository
    connections: DynamoConnections
    # Answers the caller on its own connection (``send``); a gone caller is dropped.
    notifier: ApiGatewayNotifier


@lru_cache(maxsize=1)
def live_gateway() -> LiveGateway:
    resources = AwsResources.from_env()
    table = wiring.hub_table(resources)
    stores = wiring.repositories(resources, table)
    connections = wiring.live_connections(resources, table)
    return LiveGateway(
        tokens=wiring.access_tokens(resources),
        users=stores.users,
        projects=stores.projects,
        connections=connections,
        notifier=ApiGatewayNotifier(connections, client=wiring.management_api(resources)),
    )


def on_connect(event: dict[str, Any], gateway: LiveGateway) -> Reply:
    token = (event.get("queryStringParameters") or {}).get("token")
    user_id = live_user(gateway.tokens, gateway.users, token)
    if user_id is None:
        metrics.add_metric(name="ConnectRefused", unit=MetricUnit.Count, value=1)
        return {"statusCode": 401}
    gateway.connections.put(_connection_id(event), user_id)
    metrics.add_metric(name="Connected", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}


def on_disconnect(event: dict[str, Any], gateway: LiveGateway) -> Reply:
    gateway.connections.delete(_connection_id(event))
    metrics.add_metric(name="Disconnected", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}


def on_message(event: dict[str, Any], gateway: LiveGateway) -> Reply:
    connection_id = _connection_id(event)
    user_id = gateway.connections.user_of(connection_id)
    if user_id is None:
        # The record expired or was dropped: the client must reconnect with a fresh token.
        _answer(gateway, connection_id, {"type": "error", "code": "invalid_token"})
        metrics.add_metric(name="LiveUnknownConnection", unit=MetricUnit.Count, value=1)
        return {"statusCode": 200}
    request = _parse(event.get("body"))
    action, project_id = request.get("action"), request.get("project_id")
    if action not in ("subscribe", "unsubscribe") or not isinstance(project_id, str):
        reply: Reply = {"type": "error", "code": "invalid_request"}
    elif action == "unsubscribe":
        gateway.connections.unsubscribe(connection_id, project_id)
        reply = {"type": "unsubscribed", "project_id": project_id}
    elif gateway.projects.get_role(project_id, user_id) is not None and (
        gateway.connections.subscribe(connection_id, project_id)
    ):
        reply = {"type": "subscribed", "project_id": project_id}
    else:
        # The same answer for a project that does not exist and one the user may not see.
        reply = {"type": "error", "code": "not_found", "project_id": project_id}
    _answer(gateway, connection_id, reply)
    metrics.add_metric(name=f"Live{reply['type'].capitalize()}", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}


_ROUTES = {"$connect": on_connect, "$disconnect": on_disconnect, "$default": on_message}


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Reply:
    route_key = event.get("requestContext", {}).get("routeKey", "")
    route = _ROUTES.get(route_key)
    if route is None:
        logger.warning("unknown WebSocket route", extra={"route_key": route_key})
        metrics.add_metric(name="UnknownRoute", unit=MetricUnit.Count, value=1)
        return {"statusCode": 400}
    return route(event, live_gateway())


def _answer(gateway: LiveGateway, connection_id: str, reply: Reply) -> None:
    gateway.notifier.send(connection_id, json.dumps(reply))


def _connection_id(event: dict[str, Any]) -> str:
    return str(event["requestContext"]["connectionId"])


def _parse(body: object) -> dict[str, Any]:
    if not isinstance(body, str):
        return {}
    try:
        message = json.loads(body)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}
