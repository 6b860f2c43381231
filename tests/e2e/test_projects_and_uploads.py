"""Project management (search, create, rename with settings, delete with confirmation, sign
out) and uploads (a failed file is retried; a large file goes up in parts) in the browser."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from cellhub.ports.blob_store import MIN_PART_BYTES
from cellhub.services.uploads import UploadService
from cellhub_api.app import create_app
from cellhub_api.web_client import mount_web_client
from cellhub_local.loopback import free_port, serving
from cellhub_local.wiring import build_local_services
from cellhub_worker.registry import default_model_for
from tests.e2e import hub_seed
from tests.e2e.conftest import CHEAP_PASSWORDS
from tests.e2e.page_helpers import sign_in

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"
MULTIPART_FROM = 300_000


def test_projects_search_rename_delete_and_sign_out(page: Any, hub: Any) -> None:
    from playwright.sync_api import expect

    services = hub.services
    user_id = hub_seed.verified_user(services, "projects@example.org", PASSWORD)
    beta = hub_seed.project(services, user_id, "Beta organoids")
    sign_in(page, "projects@example.org", PASSWORD)

    page.get_by_role("button", name="New project").click()
    page.get_by_label("Name").fill("Alpha plates")
    page.get_by_label("Sample type").select_option("spheroids")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_have_text("Alpha plates")
    (created,) = [p for p in services.projects.list_for_user(user_id).items if p.id != beta]
    # Unchosen settings follow the sample type.
    assert created.settings.classes == ("spheroid",)
    assert created.settings.default_model == default_model_for("spheroids")
    page.get_by_role("link", name="← Projects").click()
    rows = page.locator(".project-row")
    expect(rows).to_have_count(2)

    page.get_by_label("Search projects").fill("alpha")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Alpha plates")

    rows.first.get_by_role("button", name="Rename / settings").click()
    page.get_by_label("Name").fill("Alpha plates 2024")
    page.get_by_label("Pixel size (µm per pixel)").fill("0.65")
    page.get_by_label("Threshold").fill("0.4")
    page.get_by_role("button", name="Save").click()
    expect(rows.first).to_contain_text("Alpha plates 2024")
    expect(rows.first).to_contain_text("0.65 µm/px")
    (alpha,) = [p for p in services.projects.list_for_user(user_id).items if p.id != beta]
    assert alpha.settings.threshold == pytest.approx(0.4)

    page.get_by_label("Search projects").fill("")
    expect(rows).to_have_count(2)
    beta_row = rows.filter(has_text="Beta organoids")
    beta_row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(rows).to_have_count(2)
    beta_row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(1)
    assert services.projects.get(beta) is None

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/#/projects")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_failed_upload_is_retried(page: Any, hub: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    services = hub.services
    user_id = hub_seed.verified_user(services, "uploads@example.org", PASSWORD)
    project_id = hub_seed.project(services, user_id, "Flaky network")
    paths = []
    for n in range(3):
        buffer = io.BytesIO()
        Image.fromarray(np.full((32, 32), 40 * n, np.uint8)).save(buffer, format="PNG")
        path = tmp_path / f"tile_{n}.png"
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    (tmp_path / "notes.txt").write_text("not an image")

    sign_in(page, "uploads@example.org", PASSWORD)
    page.goto(f"/#/projects/{project_id}")
    failures = {"left": 1}

    def flaky(route: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/blobs/upload**", flaky)
    page.locator("#upload-files").set_input_files([*paths, tmp_path / "notes.txt"])
    expect(page.locator("#notice")).to_contain_text("1 file(s) skipped")
    expect(page.locator(".upload-summary")).to_contain_text("2/3 uploaded")
    expect(page.locator(".upload-summary")).to_contain_text("1 failed")
    expect(page.locator(".upload-item.failed")).to_contain_text("failed:")
    page.get_by_role("button", name="Retry failed").click()
    expect(page.locator(".upload-summary")).to_contain_text("3/3 uploaded")
    expect(page.locator(".badge.ready")).to_have_count(3, timeout=60_000)


def test_a_large_file_goes_up_in_parts(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    services = build_local_services(tmp_path / "hub", public_url=url, passwords=CHEAP_PASSWORDS)
    uploads = UploadService(
        services.images,
        services.blobs,
        services.notifier,
        multipart_threshold=MULTIPART_FROM,
        part_size=MIN_PART_BYTES,
    )
    services = dataclasses.replace(services, uploads=uploads)
    user_id = hub_seed.verified_user(services, "parts@example.org", PASSWORD)
    project_id = hub_seed.project(services, user_id, "Large files")
    noise = np.random.default_rng(1).integers(0, 255, size=(700, 700), dtype=np.uint8)
    large = tmp_path / "large.png"
    Image.fromarray(noise).save(large)
    assert large.stat().st_size > MULTIPART_FROM

    app = create_app(services)
    mount_web_client(app)
    with serving(app, port):
        context = browser.new_context(base_url=url)
        try:
            page = context.new_page()
            parts: list[str] = []
            page.on("request", lambda r: "/blobs/part" in r.url and parts.append(r.method))
            sign_in(page, "parts@example.org", PASSWORD)
            page.goto(f"/#/projects/{project_id}")
            page.locator("#upload-files").set_input_files(large)
            expect(page.locator(".upload-summary")).to_contain_text("1/1 uploaded")
            expect(page.locator(".badge.ready")).to_have_count(1)
            assert parts and set(parts) == {"PUT"}
        finally:
            context.close()


def test_cancelled_uploads_leave_no_images(page: Any, hub: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    services = hub.services
    user_id = hub_seed.verified_user(services, "cancel@example.org", PASSWORD)
    project_id = hub_seed.project(services, user_id, "Changed my mind")
    paths = []
    for n in range(2):
        path = tmp_path / f"slow_{n}.png"
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(path)
        paths.append(path)
    sign_in(page, "cancel@example.org", PASSWORD)
    page.goto(f"/#/projects/{project_id}")
    held: list[Any] = []
    page.route("**/blobs/upload**", lambda route: held.append(route))  # never answered

    page.locator("#upload-files").set_input_files(paths)
    expect(page.locator(".upload-item.sending")).to_have_count(2)
    page.get_by_role("button", name="Cancel uploads").click()
    expect(page.locator(".upload-summary")).to_contain_text("2 cancelled")
    expect(page.get_by_role("button", name="Retry failed")).to_be_visible()

    def images_left() -> int:
        return len(services.images.list(project_id).items)

    for _ in range(50):
        if images_left() == 0:
            break
        page.wait_for_timeout(100)
    assert images_left() == 0
