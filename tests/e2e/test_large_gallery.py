"""The gallery with 10,000 images and the editor with 1,000 polygons: both stay usable.

Image records are inserted straight into the repository (no uploads). The test prints the
time to the gallery's first paint, the frames drawn while scrolling and while dragging a
vertex, and writes them to ``test-artifacts/browser-metrics.json``. It asserts only loose
sanity bounds: timings depend on the machine.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from cellhub.domain.images import Image, ImageStatus
from tests.e2e import hub_seed
from tests.e2e.conftest import record_numbers
from tests.e2e.page_helpers import canvas_point, sign_in

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "many@example.org", "a long enough password"
IMAGE_COUNT = 10_000
POLYGON_COUNT = 1_000
STATUS_CYCLE = [ImageStatus.READY, ImageStatus.QUEUED, ImageStatus.SEGMENTED, ImageStatus.FAILED]

# Scroll the gallery a little every animation frame for `ms`, counting frames.
SCROLL_FRAMES = """(ms) => new Promise((done) => {
  const gallery = document.querySelector(".gallery");
  const start = performance.now();
  let frames = 0, worst = 0, last = start, maxCells = 0;
  function step(now) {
    frames++;
    worst = Math.max(worst, now - last);
    last = now;
    gallery.scrollTop += 150;
    maxCells = Math.max(maxCells, gallery.querySelectorAll(".thumb").length);
    if (now - start < ms) requestAnimationFrame(step);
    else done({frames, seconds: (now - start) / 1000, worst_frame_ms: worst,
               max_cells_in_dom: maxCells, scroll_top: gallery.scrollTop});
  }
  requestAnimationFrame(step);
})"""

# With the mouse held down (on a vertex, or on empty space to pan), move it every frame.
DRAG_FRAMES = """([ms, x, y]) => new Promise((done) => {
  const {view} = window.cellhubEditor;
  const start = performance.now();
  const drawnBefore = view.frames;
  let frames = 0;
  function step(now) {
    frames++;
    const dx = 20 * Math.sin(frames / 5);
    view.canvas.dispatchEvent(new PointerEvent("pointermove", {
      pointerId: 1, clientX: x + dx, clientY: y, bubbles: true, buttons: 1}));
    if (now - start < ms) requestAnimationFrame(step);
    else done({frames, seconds: (now - start) / 1000, redraws: view.frames - drawnBefore});
  }
  requestAnimationFrame(step);
})"""


def _many_images(services: Any, project_id: str) -> None:
    images = []
    for n in range(IMAGE_COUNT):
        image = Image.new(
            project_id, f"well_{n:05d}.png", size=1000, content_type="image/png", blob_key=f"x/{n}"
        )
        status = STATUS_CYCLE[n % len(STATUS_CYCLE)]
        images.append(dataclasses.replace(image, status=status, width=512, height=512))
    services.images.add_many(images)


def test_ten_thousand_images_and_a_thousand_polygons(page: Any, hub: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    services = hub.services
    user_id = hub_seed.verified_user(services, EMAIL, PASSWORD)
    project_id = hub_seed.project(services, user_id, "Screen of 10,000 wells")
    _many_images(services, project_id)
    dense = hub_seed.uploaded_png(services, project_id, "a_dense_field.png", size=2048)
    polygons = [
        {"exterior": hub_seed.disc(40 + 64 * (k % 32), 40 + 64 * (k // 32), 20)}
        for k in range(POLYGON_COUNT)
    ]
    hub_seed.save_polygons(services, project_id, dense, user_id, polygons, base_version=0)

    sign_in(page, EMAIL, PASSWORD)
    started = time.perf_counter()
    page.goto(f"/#/projects/{project_id}")
    expect(page.locator(".thumb").first).to_be_visible()
    first_thumb_s = time.perf_counter() - started
    expect(page.locator(".counts")).to_contain_text(f"{IMAGE_COUNT + 1} images", timeout=60_000)
    loaded_s = time.perf_counter() - started
    page.screenshot(path=str(artifacts / "gallery-10k.png"))
    in_page = page.evaluate("[window.galleryFirstPaintMs, window.galleryLoadedMs]")
    scroll = page.evaluate(SCROLL_FRAMES, 3000)
    assert scroll["max_cells_in_dom"] < 400, "the gallery must keep only visible rows in the DOM"
    assert scroll["scroll_top"] > 10_000

    page.get_by_role("combobox", name="Show images with status").select_option("failed")
    expect(page.locator(".counts")).to_contain_text(f"{IMAGE_COUNT // 4} failed")
    expect(page.locator(".thumb .badge.failed").first).to_be_visible()
    expect(page.locator(".thumb .badge:not(.failed)")).to_have_count(0)  # after the next frame

    page.goto(f"/#/projects/{project_id}/images/{dense}")
    expect(page.locator(".save-state")).to_have_text("Saved · version 1", timeout=60_000)
    assert page.evaluate("window.cellhubEditor.editor.state.polygons.length") == POLYGON_COUNT
    centre = canvas_point(page, (40, 40))
    page.mouse.click(*centre)
    vertex = canvas_point(page, hub_seed.disc(40, 40, 20)[0])
    page.mouse.move(*vertex)
    page.mouse.down()
    drag = page.evaluate(DRAG_FRAMES, [2000, vertex[0], vertex[1]])
    page.mouse.up()
    page.screenshot(path=str(artifacts / "editor-1000-polygons.png"))
    assert drag["redraws"] > 0
    gap = canvas_point(page, (72, 72))  # between the discs: a press there pans
    page.mouse.move(*gap)
    page.mouse.down()
    pan = page.evaluate(DRAG_FRAMES, [2000, gap[0], gap[1]])
    page.mouse.up()
    assert pan["redraws"] > 0

    numbers = {
        "images": IMAGE_COUNT + 1,
        "first_thumbnail_visible_s": round(first_thumb_s, 3),
        "gallery_first_paint_ms_in_page": round(in_page[0], 1),
        "all_images_listed_ms_in_page": round(in_page[1], 1),
        "all_images_listed_s": round(loaded_s, 3),
        "scroll_fps": round(scroll["frames"] / scroll["seconds"], 1),
        "scroll_worst_frame_ms": round(scroll["worst_frame_ms"], 1),
        "scroll_max_cells_in_dom": scroll["max_cells_in_dom"],
        "drag_polygons": POLYGON_COUNT,
        "drag_fps": round(drag["frames"] / drag["seconds"], 1),
        "drag_redraws_per_s": round(drag["redraws"] / drag["seconds"], 1),
        "pan_fps": round(pan["frames"] / pan["seconds"], 1),
        "pan_redraws_per_s": round(pan["redraws"] / pan["seconds"], 1),
    }
    record_numbers(artifacts, "large_gallery", numbers)
