"""The biologist's path through the web client in a real browser: sign up, create a
project, upload a folder, watch live statuses reach ``segmented``, edit (drag a vertex,
draw a hole), save, see the metrics change, and export COCO + Excel as a ZIP."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.e2e.page_helpers import canvas_point, measurement_rows, sign_up

pytestmark = pytest.mark.browser

IMAGES = 4


def _write_images(folder: Path) -> list[Path]:
    """Small 8-bit PNGs: dark background, a few bright discs and one ring (a hole)."""
    folder.mkdir()
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:128, 0:128]
    paths = []
    for n in range(IMAGES):
        pixels = rng.integers(5, 25, size=(128, 128)).astype(np.uint8)
        for cx, cy, r in [(32, 32, 12), (92, 40, 10), (40, 94, 9)]:
            pixels[(xx - cx - n) ** 2 + (yy - cy) ** 2 <= r * r] = 210
        ring = (xx - 92) ** 2 + (yy - 92) ** 2
        pixels[(ring <= 18 * 18) & (ring > 8 * 8)] = 200
        path = folder / f"cells_{n:02d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def test_sign_up_upload_segment_edit_and_export(
    page: Any, hub: Any, tmp_path: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    folder = tmp_path / "plate_1"
    _write_images(folder)
    sign_up(page, "biologist@example.org", "a long enough password")
    page.screenshot(path=str(artifacts / "projects.png"))

    page.get_by_role("button", name="New project").click()
    page.get_by_label("Name").fill("Spheroids week 3")
    page.get_by_label("Pixel size (µm per pixel)").fill("0.5")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_have_text("Spheroids week 3")
    expect(page.locator(".live-state")).to_have_text("live")

    page.locator("#upload-folder").set_input_files(folder)
    expect(page.locator(".upload-summary")).to_contain_text(f"{IMAGES}/{IMAGES} uploaded")
    expect(page.locator(".badge.ready")).to_have_count(IMAGES, timeout=60_000)
    page.get_by_role("button", name="Segment all").click()
    expect(page.locator(".badge.segmented")).to_have_count(IMAGES, timeout=120_000)
    expect(page.locator(".thumb img[src]")).to_have_count(IMAGES)
    page.screenshot(path=str(artifacts / "gallery.png"))

    page.get_by_role("button", name="Open cells_00.png").click()
    expect(page.locator(".save-state")).to_have_text("Saved · version 1")
    before = measurement_rows(page)
    assert len(before) >= 4

    # Select the ring-shaped object (largest exterior) and pull one of its vertices outwards.
    index = page.evaluate(
        """() => {
          const ps = window.cellhubEditor.editor.state.polygons;
          const xs = (p) => p.exterior.map((q) => q[0]);
          const width = (p) => Math.max(...xs(p)) - Math.min(...xs(p));
          return ps.reduce((best, p, i) => (width(p) > width(ps[best]) ? i : best), 0);
        }"""
    )
    polygon = page.evaluate(f"window.cellhubEditor.editor.state.polygons[{index}]")
    object_id = polygon["id"]
    xs = [p[0] for p in polygon["exterior"]]
    ys = [p[1] for p in polygon["exterior"]]
    centre = (sum(xs) / len(xs), sum(ys) / len(ys))
    inside = (centre[0] + 13, centre[1])  # in the ring itself, not its hole
    page.mouse.click(*canvas_point(page, inside))
    assert page.evaluate("window.cellhubEditor.editor.state.selected") == index
    vertex = polygon["exterior"][0]
    start = canvas_point(page, vertex)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 25, start[1] + 5, steps=5)
    page.mouse.up()
    moved = page.evaluate(f"window.cellhubEditor.editor.state.polygons[{index}].exterior[0]")
    assert moved != vertex
    expect(page.locator(".save-state")).to_have_text("Unsaved changes")

    # A second hole inside the ring's body (its first hole is the ring's centre).
    page.get_by_role("button", name="Draw hole (H)").click()
    for dx, dy in [(-2, -2), (2, -2), (2, 2), (-2, 2)]:
        page.mouse.click(*canvas_point(page, (inside[0] + dx, inside[1] + dy)))
    page.keyboard.press("Enter")
    holes = page.evaluate(f"window.cellhubEditor.editor.state.polygons[{index}].holes.length")
    assert holes == len(polygon["holes"]) + 1
    page.screenshot(path=str(artifacts / "editor.png"))

    page.get_by_role("button", name="Save").click()
    expect(page.locator(".save-state")).to_have_text("Saved · version 2")
    after = measurement_rows(page)
    old = next(r for r in before if r["object_id"] == str(object_id))
    new = next(r for r in after if r["object_id"] == str(object_id))
    assert int(new["hole_count"]) == int(old["hole_count"]) + 1
    assert new["area_um2"] != old["area_um2"]

    # Export COCO and Excel, follow the progress, download the ZIP.
    page.get_by_role("link", name="← Gallery").click()
    page.get_by_role("button", name="Export…").click()
    page.get_by_role("button", name="Start export").click()
    download_link = page.locator("#export-download")
    expect(download_link).to_be_visible(timeout=120_000)
    page.screenshot(path=str(artifacts / "export.png"))
    with page.expect_download() as download_info:
        download_link.click()
    archive = Path(download_info.value.path())
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as zipped:
        names = zipped.namelist()
    assert "coco/annotations.json" in names
    assert any(re.search(r"\.xlsx$", name) for name in names), names
