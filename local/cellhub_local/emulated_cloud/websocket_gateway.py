"""API Gateway's WebSocket API on loopback: ``$connect``, ``$default`` and ``$disconnect``.

A client opens ``/ws?token=…``; the function is invoked with the ``$connect`` event (query
string, headers, ``requestContext`` with ``eventType`` CONNECT) and anything but a 200
refuses the handshake with that status, as API Gateway does. Each frame is one ``$default``
invocation (the API routes every message there); the close is one ``$disconnect``
invocation with the close code. Nothing the function returns reaches the client: answers
and events go through the management API (``management_api``), which finds the socket in
the ``ConnectionRegistry`` by its connection id.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from cellhub_local.emulated_cloud.http_gateway import request_time
from cellhub_local.emulated_cloud.lambda_runtime import ACCOUNT_ID, LocalFunction

log = logging.getLogger(__name__)

API_ID = "localws"
STAGE = "local"
# The code API Gateway reports when the client closed without one.
NO_STATUS_CODE = 1005


def new_connection_id() -> str:
    """An id shaped like API Gateway's (16 characters, URL-safe base64)."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


@dataclass
class Connection:
    """One open socket, as the management API's ``GetConnection`` describes it."""

    id: str
    websocket: WebSocket
    source_ip: str
    user_agent: str
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, data: bytes) -> None:
        """Deliver one message: a text frame when ``data`` is UTF-8, else a binary one."""
        async with self.sending:
            try:
                await self.websocket.send_text(data.decode("utf-8"))
            except UnicodeDecodeError:
                await self.websocket.send_bytes(data)


class ConnectionRegistry:
    """The open connections by id; used from the server's event loop only."""

    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}

    def add(self, connection: Connection) -> None:
        self._connections[connection.id] = connection

    def get(self, connection_id: str) -> Connection | None:
        return self._connections.get(connection_id)

    def remove(self, connection_id: str) -> Connection | None:
        return self._connections.pop(connection_id, None)

    def ids(self) -> set[str]:
        return set(self._connections)

    def __len__(self) -> int:
        return len(self._connections)


def websocket_event(
    connection: Connection, route_key: str, event_type: str, *, domain: str, now: float
) -> dict[str, Any]:
    """The event skeleton all three routes share (``requestContext`` and base64 flag)."""
    return {
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": uuid.uuid4().hex[:16] + "=",
            "requestTime": request_time(now),
            "messageDirection": "IN",
            "stage": STAGE,
            "connectedAt": int(connection.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "requestId": uuid.uuid4().hex[:16] + "=",
            "domainName": domain,
            "connectionId": connection.id,
            "apiId": API_ID,
            "accountId": ACCOUNT_ID,
        },
        "isBase64Encoded": False,
    }


def connect_event(connection: Connection, *, domain: str, now: float) -> dict[str, Any]:
    websocket = connection.websocket
    event = websocket_event(connection, "$connect", "CONNECT", domain=domain, now=now)
    event["headers"] = dict(websocket.headers.items())
    event["multiValueHeaders"] = {
        name: websocket.headers.getlist(name) for name in websocket.headers
    }
    query = websocket.query_params
    if query:
        event["queryStringParameters"] = dict(query.items())
        event["multiValueQueryStringParameters"] = {name: query.getlist(name) for name in query}
    return event


def message_event(
    connection: Connection, message: str | bytes, *, domain: str, now: float
) -> dict[str, Any]:
    event = websocket_event(connection, "$default", "MESSAGE", domain=domain, now=now)
    event["requestContext"]["messageId"] = uuid.uuid4().hex[:16] + "="
    if isinstance(message, bytes):
        event["body"] = base64.b64encode(message).decode()
        event["isBase64Encoded"] = True
    else:
        event["body"] = message
    return event


def disconnect_event(
    connection: Connection, *, code: int, reason: str, domain: str, now: float
) -> dict[str, Any]:
    event = websocket_event(connection, "$disconnect", "DISCONNECT", domain=domain, now=now)
    event["requestContext"]["disconnectStatusCode"] = code
    event["requestContext"]["disconnectReason"] = reason
    event["headers"] = dict(connection.websocket.headers.items())
    return event


def websocket_endpoint(function: LocalFunction, registry: ConnectionRegistry) -> Any:
    """A Starlette WebSocket endpoint that plays the WebSocket API in front of ``function``."""

    async def invoke(event: dict[str, Any]) -> int:
        try:
            result = await function.invoke_async(event)
        except Exception:
            log.exception("function %s failed", function.name)
            return 500
        return int((result or {}).get("statusCode", 200))

    async def endpoint(websocket: WebSocket) -> None:
        domain = websocket.headers.get("host", "127.0.0.1")
        connection = Connection(
            id=new_connection_id(),
            websocket=websocket,
            source_ip=websocket.client.host if websocket.client else "127.0.0.1",
            user_agent=websocket.headers.get("user-agent", ""),
        )
        status = await invoke(connect_event(connection, domain=domain, now=time.time()))
        if status != 200:
            await websocket.send_denial_response(Response(status_code=status))
            return
        await websocket.accept()
        registry.add(connection)
        code, reason = NO_STATUS_CODE, "Client-side close frame status not set"
        try:
            while True:
                frame = await websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    code = int(frame.get("code") or NO_STATUS_CODE)
                    reason = str(frame.get("reason") or reason)
                    break
                message = frame.get("text")
                message = frame.get("bytes") if message is None else message
                connection.last_active_at = time.time()
                if message is not None:
                    await invoke(message_event(connection, message, domain=domain, now=time.time()))
        except (WebSocketDisconnect, RuntimeError):
            code, reason = 1006, "Going away"
        finally:
            registry.remove(connection.id)
            event = disconnect_event(
                connection, code=code, reason=reason, domain=domain, now=time.time()
            )
            await invoke(event)

    return endpoint
