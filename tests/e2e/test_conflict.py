"""Saving in the editor after someone else saved the same image: the page shows a conflict
dialog instead of overwriting, and both answers (keep mine, reload theirs) do what they say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import hub_seed
from tests.e2e.page_helpers import canvas_point, sign_in

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "conflict@example.org", "a long enough password"


def _save_behind_the_page(url: str, project_id: str, image_id: str, base: int, x: float) -> int:
    """Another client's save through the REST API; returns the version it stored."""
    with httpx.Client(base_url=url, timeout=30) as client:
        token = client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        body = {"polygons": [{"exterior": hub_seed.disc(x, 128, 30)}], "base_version": base}
        saved = client.put(
            f"/projects/{project_id}/images/{image_id}/segmentation", json=body, headers=headers
        )
        saved.raise_for_status()
        version: int = saved.json()["version"]["version"]
        return version


def _nudge_a_vertex(page: Any) -> None:
    polygon = page.evaluate("window.cellhubEditor.editor.state.polygons[0]")
    xs = [p[0] for p in polygon["exterior"]]
    ys = [p[1] for p in polygon["exterior"]]
    page.mouse.click(*canvas_point(page, (sum(xs) / len(xs), sum(ys) / len(ys))))
    start = canvas_point(page, polygon["exterior"][0])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 12, start[1], steps=3)
    page.mouse.up()


def test_a_stale_save_opens_the_conflict_dialog(page: Any, hub: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    services = hub.services
    user_id = hub_seed.verified_user(services, EMAIL, PASSWORD)
    project_id = hub_seed.project(services, user_id, "Conflicts")
    image_id = hub_seed.uploaded_png(services, project_id, "shared.png")
    first = [{"exterior": hub_seed.disc(100, 100, 40)}]
    hub_seed.save_polygons(services, project_id, image_id, user_id, first, base_version=0)

    sign_in(page, EMAIL, PASSWORD)
    page.goto(f"/#/projects/{project_id}/images/{image_id}")
    expect(page.locator(".save-state")).to_have_text("Saved · version 1")

    # Keep mine: the page's edit is stored on top of the other save.
    _nudge_a_vertex(page)
    assert _save_behind_the_page(hub.url, project_id, image_id, 1, x=150) == 2
    page.get_by_role("button", name="Save", exact=True).click()
    conflict = page.get_by_role("dialog", name="Someone else saved this image")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("version 2")
    page.screenshot(path=str(artifacts / "conflict.png"))
    conflict.get_by_role("button", name="Keep mine").click()
    expect(page.locator(".save-state")).to_have_text("Saved · version 3")
    latest = services.editing.latest(project_id, image_id)[1]["polygons"]
    assert latest[0]["exterior"][0][0] != first[0]["exterior"][0][0]

    # Reload theirs: the page's edit is dropped and the other save is shown.
    _nudge_a_vertex(page)
    assert _save_behind_the_page(hub.url, project_id, image_id, 3, x=170) == 4
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Reload theirs").click()
    expect(page.locator(".save-state")).to_have_text("Saved · version 4")
    shown = page.evaluate("window.cellhubEditor.editor.state.polygons[0].exterior[0]")
    assert shown == pytest.approx(hub_seed.disc(170, 128, 30)[0], abs=1e-6)
