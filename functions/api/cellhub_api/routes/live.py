"""``/ws``: live status events for the projects a signed-in client subscribes to.

The client authenticates with its access token, either as ``?token=…`` or as the first
message ``{"token": "…"}``; an invalid one closes the socket with code 4401 (refresh and
reconnect). It then sends ``{"action": "subscribe" | "unsubscribe", "project_id": "…"}``
and is answered ``{"type": "subscribed" | "unsubscribed", "project_id": "…"}``. A project
the user is not a member of gets ``{"type": "error", "code": "not_found"}``, the same
answer as one that does not exist. Events arrive as ``event_json`` text; ``{"type":
"resync"}`` means some were dropped and the client should re-read the REST API.

Only a hub whose notifier is a :class:`LiveConnections` serves this route; others close
with 4404 (the cloud's WebSockets go through API Gateway instead).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from cellhub.services.access_tokens import live_user
from cellhub_api.container import HubServices
from cellhub_api.live import LiveConnection, LiveConnections

router = APIRouter(tags=["live"])

CLOSE_INVALID_TOKEN = 4401
CLOSE_NOT_SERVED = 4404


@router.websocket("/ws")
async def live_status(websocket: WebSocket, token: str | None = None) -> None:
    services: HubServices = websocket.app.state.services
    registry = services.notifier
    await websocket.accept()
    if not isinstance(registry, LiveConnections):
        await websocket.close(code=CLOSE_NOT_SERVED)
        return
    if token is None:
        try:
            first = _parse(await websocket.receive_text())
        except WebSocketDisconnect:
            return
        token = first.get("token") if isinstance(first.get("token"), str) else None
    user_id = await run_in_threadpool(live_user, services.access_tokens, services.users, token)
    if user_id is None:
        await websocket.close(code=CLOSE_INVALID_TOKEN)
        return
    connection = registry.connect(user_id, asyncio.get_running_loop())
    sending = asyncio.Lock()
    writer = asyncio.create_task(_forward_events(websocket, connection, sending))
    try:
        await _read_requests(websocket, services, registry, connection, sending)
    except WebSocketDisconnect:
        pass
    finally:
        registry.disconnect(connection.id)
        writer.cancel()
        # Collects the writer's own failure (a send to a closed socket) so none is left unread.
        await asyncio.gather(writer, return_exceptions=True)


async def _forward_events(
    websocket: WebSocket, connection: LiveConnection, sending: asyncio.Lock
) -> None:
    while True:
        text = await connection.next_message()
        async with sending:
            await websocket.send_text(text)


async def _read_requests(
    websocket: WebSocket,
    services: HubServices,
    registry: LiveConnections,
    connection: LiveConnection,
    sending: asyncio.Lock,
) -> None:
    while True:
        request = _parse(await websocket.receive_text())
        action, project_id = request.get("action"), request.get("project_id")
        if action not in ("subscribe", "unsubscribe") or not isinstance(project_id, str):
            reply: dict[str, Any] = {"type": "error", "code": "invalid_request"}
        elif action == "unsubscribe":
            registry.unsubscribe(connection.id, project_id)
            reply = {"type": "unsubscribed", "project_id": project_id}
        elif await _is_member(services, project_id, connection.user_id):
            registry.subscribe(connection.id, project_id)
            reply = {"type": "subscribed", "project_id": project_id}
        else:
            reply = {"type": "error", "code": "not_found", "project_id": project_id}
        async with sending:
            await websocket.send_text(json.dumps(reply))


async def _is_member(services: HubServices, project_id: str, user_id: str) -> bool:
    role = await run_in_threadpool(services.projects.get_role, project_id, user_id)
    return role is not None


def _parse(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}
