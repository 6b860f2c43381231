"""``/ws`` live status: token check, subscriptions, delivery from worker threads, resync."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from cellhub.domain.events import EVENT_SCHEMA, ImageSegmented, LiveEvent, MembershipChanged
from cellhub.domain.projects import Role
from cellhub_api.container import HubServices
from cellhub_api.live import RESYNC, LiveConnections

from .conftest import AddMember, Headers, SignUp


def _project(client: TestClient, headers: Headers, name: str = "cells") -> str:
    response = client.post("/projects", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    project_id: str = response.json()["id"]
    return project_id


def _token(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _segmented(project_id: str, image_id: str = "img-1") -> ImageSegmented:
    return ImageSegmented(
        project_id=project_id, image_id=image_id, version=1, object_count=7, seconds=0.5
    )


def _publish_from_worker(services: HubServices, *events: LiveEvent) -> None:
    """Publish ``events`` in order from another thread, as the worker pumps do."""

    def publish() -> None:
        for event in events:
            services.notifier.publish(event)

    worker = threading.Thread(target=publish)
    worker.start()
    worker.join()


def _send(ws: WebSocketTestSession, action: str, project_id: str) -> dict[str, Any]:
    ws.send_json({"action": action, "project_id": project_id})
    reply: dict[str, Any] = ws.receive_json()
    return reply


def test_the_hub_notifier_is_the_connection_registry(services: HubServices) -> None:
    assert isinstance(services.notifier, LiveConnections)


@pytest.mark.parametrize("token", ["not-a-jwt", ""])
def test_a_bad_token_closes_with_4401(client: TestClient, token: str) -> None:
    with (
        client.websocket_connect(f"/ws?token={token}") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_text()
    assert closed.value.code == 4401


def test_a_bad_token_in_the_first_message_closes_with_4401(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"token": "forged"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 4401


def test_subscribed_events_arrive_from_worker_threads(
    client: TestClient, services: HubServices, sign_up: SignUp
) -> None:
    _, owner = sign_up("owner@example.org")
    mine, other = _project(client, owner, "mine"), _project(client, owner, "other")
    with client.websocket_connect(f"/ws?token={_token(owner)}") as ws:
        assert _send(ws, "subscribe", mine) == {"type": "subscribed", "project_id": mine}
        _publish_from_worker(services, _segmented(other, "elsewhere"), _segmented(mine))
        event = ws.receive_json()
    # The other project's event, published first, was never delivered.
    assert event["schema"] == EVENT_SCHEMA
    assert event["type"] == "image.segmented"
    assert (event["project_id"], event["image_id"], event["object_count"]) == (mine, "img-1", 7)


def test_the_token_may_come_as_the_first_message(
    client: TestClient, services: HubServices, sign_up: SignUp
) -> None:
    _, owner = sign_up("owner@example.org")
    project = _project(client, owner)
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"token": _token(owner)})
        assert _send(ws, "subscribe", project)["type"] == "subscribed"
        _publish_from_worker(services, _segmented(project))
        assert ws.receive_json()["project_id"] == project


def test_non_members_cannot_tell_a_project_exists(client: TestClient, sign_up: SignUp) -> None:
    _, owner = sign_up("owner@example.org")
    _, stranger = sign_up("stranger@example.org")
    project = _project(client, owner)
    with client.websocket_connect(f"/ws?token={_token(stranger)}") as ws:
        hidden = _send(ws, "subscribe", project)
        missing = _send(ws, "subscribe", "no-such-project")
    assert hidden["type"] == missing["type"] == "error"
    assert hidden["code"] == missing["code"] == "not_found"


def test_unsubscribing_stops_delivery(
    client: TestClient, services: HubServices, sign_up: SignUp
) -> None:
    _, owner = sign_up("owner@example.org")
    first, second = _project(client, owner, "first"), _project(client, owner, "second")
    with client.websocket_connect(f"/ws?token={_token(owner)}") as ws:
        _send(ws, "subscribe", first)
        _send(ws, "subscribe", second)
        assert _send(ws, "unsubscribe", first)["type"] == "unsubscribed"
        _publish_from_worker(services, _segmented(first), _segmented(second))
        assert ws.receive_json()["project_id"] == second


def test_a_removed_member_stops_receiving(
    client: TestClient, services: HubServices, sign_up: SignUp, member: AddMember
) -> None:
    _, owner = sign_up("owner@example.org")
    viewer_id, viewer = sign_up("viewer@example.org")
    shared, own = _project(client, owner, "shared"), _project(client, viewer, "own")
    member(shared, viewer_id, Role.VIEWER)
    with client.websocket_connect(f"/ws?token={_token(viewer)}") as ws:
        assert _send(ws, "subscribe", shared)["type"] == "subscribed"
        _send(ws, "subscribe", own)
        removed = MembershipChanged(project_id=shared, user_id=viewer_id, role=None)
        _publish_from_worker(services, removed, _segmented(shared), _segmented(own))
        assert ws.receive_json()["project_id"] == own


def test_a_slow_consumer_drops_the_oldest_and_is_told_to_resync() -> None:
    async def scenario() -> list[str]:
        registry = LiveConnections(outbox_size=2)
        connection = registry.connect("user-1", asyncio.get_running_loop())
        registry.subscribe(connection.id, "p1")

        # The worker publishes five events while this loop is busy and reads none.
        def publish_five() -> None:
            for n in range(5):
                registry.publish(_segmented("p1", f"img-{n}"))

        await asyncio.to_thread(publish_five)
        await asyncio.sleep(0)
        received = [await connection.next_message() for _ in range(3)]
        registry.disconnect(connection.id)
        assert registry.connection_count == 0
        return received

    resync, *newest = asyncio.run(scenario())
    assert resync == RESYNC
    assert [ImageSegmented.model_validate_json(text).image_id for text in newest] == [
        "img-3",
        "img-4",
    ]
