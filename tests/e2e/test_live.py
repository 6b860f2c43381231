"""Live status in the gallery: images added behind the page's back appear through the
WebSocket, and after a dropped connection the page reconnects and re-reads the REST API,
so events missed while it was away are not lost."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e import hub_seed
from tests.e2e.page_helpers import sign_in

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "live@example.org", "a long enough password"


def test_gallery_follows_events_and_resyncs_after_a_reconnect(page: Any, hub: Any) -> None:
    from playwright.sync_api import expect

    services = hub.services
    user_id = hub_seed.verified_user(services, EMAIL, PASSWORD)
    project_id = hub_seed.project(services, user_id, "Live")
    sockets: list[Any] = []
    reach_server = {"on": True}

    def route(socket: Any) -> None:
        # Either a pass-through to the hub, or a dead end that never answers.
        sockets.append(socket)
        if reach_server["on"]:
            socket.connect_to_server()

    # The client puts its access token in the query string (as API Gateway requires).
    page.route_web_socket(re.compile(r"/ws(\?|$)"), route)
    sign_in(page, EMAIL, PASSWORD)
    page.goto(f"/#/projects/{project_id}")
    live = page.locator(".live-state")
    expect(live).to_have_text("live")

    hub_seed.uploaded_png(services, project_id, "first.png")
    expect(page.locator(".badge.ready")).to_have_count(1)

    # Drop the connection; while the page cannot reach the hub, an image arrives.
    reach_server["on"] = False
    sockets[-1].close()
    expect(live).not_to_have_text("live")
    hub_seed.uploaded_png(services, project_id, "missed.png")
    page.wait_for_timeout(300)
    expect(page.locator(".badge.ready")).to_have_count(1)

    reach_server["on"] = True
    sockets[-1].close()
    expect(live).to_have_text("live", timeout=20_000)
    expect(page.locator(".badge.ready")).to_have_count(2)
    expect(page.get_by_role("button", name="Open missed.png")).to_be_visible()
