"""Editor additions: splitting a polygon with a line (holes follow their side, a line that
does not cross twice is refused), the shortcut panel, previous/next image with the prompt
on unsaved edits, channel choice on an RGB image, per-polygon classes and version history."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pytest
from PIL import Image as PilImage

from cellhub.services.thumbnails import ThumbnailService
from cellhub.services.uploads import FileSpec
from tests.e2e import hub_seed
from tests.e2e.page_helpers import canvas_point, sign_in

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "extras@example.org", "a long enough password"


def _rgb_png(services: Any, project_id: str, name: str) -> str:
    """A 256 x 256 RGB PNG whose channels are constant: red 200, green 0, blue 90."""
    pixels = np.zeros((256, 256, 3), dtype=np.uint8)
    pixels[..., 0], pixels[..., 2] = 200, 90
    buffer = io.BytesIO()
    PilImage.fromarray(pixels).save(buffer, format="PNG")
    data = buffer.getvalue()
    (planned,) = services.uploads.plan(project_id, [FileSpec(name, len(data), "image/png")]).uploads
    services.blobs.put(planned.key, data)
    ThumbnailService(services.images, services.blobs, services.notifier).handle_object_created(
        planned.key
    )
    return planned.image_id


def _editor(page: Any, expression: str) -> Any:
    return page.evaluate(
        f"(() => {{ const e = window.cellhubEditor.editor; return {expression}; }})()"
    )


def _square(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_editor_extras(page: Any, hub: Any, artifacts: Any) -> None:
    from playwright.sync_api import expect

    services = hub.services
    user_id = hub_seed.verified_user(services, EMAIL, PASSWORD)
    project_id = hub_seed.project(services, user_id, "Extras")
    first = hub_seed.uploaded_png(services, project_id, "a-first.png")
    _rgb_png(services, project_id, "b-second.png")
    wide = {
        "exterior": _square(40, 40, 200, 120),
        "holes": [_square(60, 60, 80, 80), _square(160, 60, 180, 80)],
    }
    hub_seed.save_polygons(services, project_id, first, user_id, [wide], base_version=0)
    sign_in(page, EMAIL, PASSWORD)
    # The project's object classes, set in its settings.
    page.goto(f"/#/projects/{project_id}")
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Object classes").fill("nucleus, cytoplasm, nucleus")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#notice")).to_contain_text("Settings saved")
    assert services.projects.get(project_id).settings.classes == ("nucleus", "cytoplasm")
    page.goto(f"/#/projects/{project_id}/images/{first}")
    expect(page.locator(".save-state")).to_have_text("Saved · version 1")
    canvas = page.locator("canvas")

    # Shortcut panel: "?" opens it, it lists every shortcut the editor knows, "?" closes it.
    canvas.focus()
    page.keyboard.press("?")
    panel = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(panel).to_be_visible()
    for keys in ["Arrow keys", "N", "H", "L", "Delete / Backspace", "Ctrl+Z", "Ctrl+S", "?"]:
        expect(panel.locator("kbd", has_text=keys).first).to_be_visible()
    page.screenshot(path=str(artifacts / "shortcuts.png"))
    listed = panel.locator("tbody").first.locator("tr").count()
    assert listed == page.evaluate("import('/editor-keys.js').then((m) => m.SHORTCUTS.length)")
    page.keyboard.press("?")
    expect(panel).to_be_hidden()

    # A line that ends inside the polygon crosses its outline once: refused with a message.
    page.mouse.click(*canvas_point(page, (120, 100)))
    assert _editor(page, "e.state.selected") == 0
    page.get_by_role("button", name="Split with a line (L)").click()
    page.mouse.click(*canvas_point(page, (120, 20)))
    page.mouse.click(*canvas_point(page, (120, 100)))
    expect(page.locator("#notice")).to_contain_text("exactly twice")
    assert _editor(page, "e.state.polygons.length") == 1
    # A line through a hole is refused too.
    page.mouse.click(*canvas_point(page, (70, 20)))
    page.mouse.click(*canvas_point(page, (70, 140)))
    expect(page.locator("#notice")).to_contain_text("crosses a hole")
    # Across the middle: two polygons, each keeping the hole on its side.
    page.mouse.click(*canvas_point(page, (120, 20)))
    page.mouse.click(*canvas_point(page, (120, 140)))
    parts = _editor(page, "e.polygons()")
    assert len(parts) == 2
    for part in parts:
        xs = [x for x, _ in part["exterior"]]
        assert len(part["holes"]) == 1
        hole_x = part["holes"][0][0][0]
        assert min(xs) <= hole_x <= max(xs)
    assert sorted(round(min(x for x, _ in p["exterior"])) for p in parts) == [40, 120]

    # Class of the selected polygon, from the project's classes.
    page.mouse.click(*canvas_point(page, (150, 110)))
    class_select = page.get_by_label("Class")
    expect(class_select.locator("option")).to_have_text(["nucleus", "cytoplasm", "object"])
    class_select.select_option("cytoplasm")
    assert _editor(page, "e.polygons()[e.state.selected].class") == "cytoplasm"
    page.get_by_role("button", name="Undo").click()
    page.get_by_role("button", name="Redo").click()

    # Next image with unsaved edits asks first; declining stays, then save and go.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    expect(page.locator("#image-position")).to_have_text("1 of 2")
    page.get_by_role("button", name="Next image →").click()
    for _ in range(100):
        if asked:
            break
        page.wait_for_timeout(50)
    assert asked and "unsaved changes" in asked[0]
    assert page.evaluate("window.cellhubEditor.imageId") == first
    page.keyboard.press("Control+s")
    expect(page.locator(".save-state")).to_have_text("Saved · version 2")
    saved = services.editing.latest(project_id, first)[1]["polygons"]
    assert sorted(p["class"] for p in saved) == ["cytoplasm", "object"]
    canvas.focus()
    page.keyboard.press("PageDown")
    expect(page.get_by_role("heading", name="b-second.png")).to_be_visible()
    expect(page.locator("#image-position")).to_have_text("2 of 2")
    expect(page.get_by_role("button", name="Next image →")).to_be_disabled()

    # Channel choice on an RGB original: the red channel alone is shown in grey.
    channel = page.get_by_label("Channel")
    expect(channel.locator("option")).to_have_count(4)
    channel.select_option(label="Channel 1 (red)")
    grey = page.evaluate(
        """() => { const c = window.cellhubEditor.view.image;
          return [...c.getContext('2d').getImageData(5, 5, 1, 1).data].slice(0, 3); }"""
    )
    assert grey == [200, 200, 200]
    channel.select_option(label="Channel 3 (blue)")
    grey = page.evaluate(
        """() => { const c = window.cellhubEditor.view.image;
          return [...c.getContext('2d').getImageData(5, 5, 1, 1).data].slice(0, 3); }"""
    )
    assert grey == [90, 90, 90]

    # A wheel step in lines (as Firefox reports a mouse wheel) zooms like one in pixels.
    factor = page.evaluate(
        """() => { const v = window.cellhubEditor.view; const before = v.scale;
          const r = v.canvas.getBoundingClientRect();
          v.canvas.dispatchEvent(new WheelEvent("wheel", { deltaY: -3, deltaMode: 1,
            clientX: r.left + 50, clientY: r.top + 50, cancelable: true }));
          return v.scale / before; }"""
    )
    assert factor == pytest.approx(math.exp(3 * 16 * 0.0015))

    # Back to the first image: version history, view version 1, revert to it.
    page.get_by_role("button", name="← Previous image").click()
    expect(page.locator(".save-state")).to_have_text("Saved · version 2")
    page.get_by_role("button", name="History…").click()
    versions = page.get_by_role("dialog", name="Version history")
    expect(versions.locator("tbody tr")).to_have_count(2)
    versions.get_by_role("button", name="View version 1").click()
    expect(page.locator(".version-banner")).to_contain_text("Viewing version 1 of 2")
    page.screenshot(path=str(artifacts / "version-on-view.png"))
    assert _editor(page, "e.state.polygons.length") == 1
    expect(page.get_by_role("button", name="Save")).to_be_hidden()
    page.get_by_role("button", name="Revert to this version").click()
    expect(page.locator(".save-state")).to_have_text("Saved · version 3")
    expect(page.locator(".version-banner")).to_be_hidden()
    assert _editor(page, "e.state.polygons.length") == 1
    assert len(services.editing.latest(project_id, first)[1]["polygons"]) == 1
