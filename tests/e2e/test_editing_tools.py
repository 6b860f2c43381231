"""The editor's tools one by one: draw a polygon, undo/redo, delete a polygon with the
keyboard, insert and delete a vertex, zoom keys, contrast, and the measurements table
(sorting, hover highlight)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import hub_seed
from tests.e2e.page_helpers import canvas_point, sign_in

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "tools@example.org", "a long enough password"


def _state(page: Any, expression: str) -> Any:
    return page.evaluate(
        f"(() => {{ const e = window.cellhubEditor.editor; return {expression}; }})()"
    )


def test_editing_tools(page: Any, hub: Any) -> None:
    from playwright.sync_api import expect

    services = hub.services
    user_id = hub_seed.verified_user(services, EMAIL, PASSWORD)
    project_id = hub_seed.project(services, user_id, "Tools")
    image_id = hub_seed.uploaded_png(services, project_id, "field.png")
    polygons = [{"exterior": hub_seed.disc(60, 60, 30)}, {"exterior": hub_seed.disc(180, 70, 20)}]
    hub_seed.save_polygons(services, project_id, image_id, user_id, polygons, base_version=0)
    sign_in(page, EMAIL, PASSWORD)
    page.goto(f"/#/projects/{project_id}/images/{image_id}")
    expect(page.locator(".save-state")).to_have_text("Saved · version 1")
    count = "e.state.polygons.length"

    # Draw a triangle, closing it by clicking its first point.
    page.get_by_role("button", name="Draw polygon (N)").click()
    corners = [(100, 180), (160, 180), (130, 230), (100, 180)]
    for corner in corners:
        page.mouse.click(*canvas_point(page, corner))
    assert _state(page, count) == 3
    page.get_by_role("button", name="Undo").click()
    assert _state(page, count) == 2
    page.get_by_role("button", name="Redo").click()
    assert _state(page, count) == 3

    # Select the new polygon; Delete removes it.
    page.mouse.click(*canvas_point(page, (130, 195)))
    assert _state(page, "e.state.selected") == 2
    page.locator("canvas").press("Delete")
    assert _state(page, count) == 2

    # Double-click an edge of the first disc to insert a vertex, then delete that vertex.
    page.mouse.click(*canvas_point(page, (60, 60)))
    a, b = hub_seed.disc(60, 60, 30)[:2]
    page.mouse.dblclick(*canvas_point(page, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)))
    assert _state(page, "e.state.polygons[0].exterior.length") == 17
    page.get_by_role("button", name="Delete vertex").click()
    assert _state(page, "e.state.polygons[0].exterior.length") == 16

    # View: keyboard zoom and fit, contrast.
    fitted = page.evaluate("window.cellhubEditor.view.scale")
    page.locator("canvas").press("+")
    assert page.evaluate("window.cellhubEditor.view.scale") > fitted
    page.locator("canvas").press("0")
    assert page.evaluate("window.cellhubEditor.view.scale") == pytest.approx(fitted)
    page.get_by_label("Contrast").fill("2")
    assert "contrast(2)" in page.evaluate("window.cellhubEditor.view.filter")

    # Measurements: sort by area (largest first on the second click), hover highlights.
    page.get_by_role("button", name="area_px2", exact=True).click()
    page.get_by_role("button", name="area_px2", exact=True).click()
    header = page.locator("th", has=page.get_by_role("button", name="area_px2", exact=True))
    expect(header).to_have_attribute("aria-sort", "descending")
    first_row = page.locator("table.measurements tbody tr").first
    largest_id = int(first_row.get_attribute("data-id") or 0)
    first_row.hover()
    highlighted = _state(page, "e.state.polygons[e.state.highlighted].id")
    assert highlighted == largest_id

    # Leaving with unsaved edits asks first; declining keeps the editor and the edits.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("link", name="← Gallery").click()
    for _ in range(50):  # the router asks on the hashchange event, after the click returns
        if asked:
            break
        page.wait_for_timeout(50)
    expect(page.locator(".save-state")).to_have_text("Unsaved changes")
    assert asked and "unsaved changes" in asked[0]

    page.locator("canvas").focus()
    page.keyboard.press("Control+s")
    expect(page.locator(".save-state")).to_have_text("Saved · version 2")
    assert len(services.editing.latest(project_id, image_id)[1]["polygons"]) == 2
