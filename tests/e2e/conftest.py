"""Browser tests: a real hub served in-process on 127.0.0.1 with the web client at ``/``,
driven by Debian's headless Chromium through Playwright (no browser download).

The hub is shared by the tests of a session (start-up and the segmentation model load
once); every test signs up or creates its own account and project, so they stay
independent. Screenshots and measured numbers go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from cellhub.services.passwords import Passwords
from cellhub.services.project_models import ProjectModelStore
from cellhub_api.app import create_app
from cellhub_api.container import HubServices
from cellhub_api.web_client import mount_web_client
from cellhub_local.loopback import free_port, serving
from cellhub_local.queue_pumps import start_pumps, stop_pumps
from cellhub_local.wiring import MAX_RECEIVES, build_local_services

CHROMIUM = Path(os.environ.get("CELLHUB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHEAP_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@dataclass(frozen=True)
class Hub:
    url: str
    services: HubServices
    data_dir: Path


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    from cellhub_worker.worker_wiring import model_job_worker, project_segmenters

    data_dir = tmp_path_factory.mktemp("hub")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    services = build_local_services(data_dir, public_url=url, passwords=CHEAP_PASSWORDS)
    segmenters = project_segmenters(ProjectModelStore(services.blobs))
    model_jobs = model_job_worker(
        images=services.images,
        jobs=services.jobs,
        blobs=services.blobs,
        notifier=services.notifier,
        segmenters=segmenters,
    )
    pumps = start_pumps(
        services,
        segmenters,
        segment_workers=1,
        max_receives=MAX_RECEIVES,
        model_jobs=model_jobs,
    )
    app = create_app(services)
    assert mount_web_client(app), "web/index.html is missing"
    try:
        with serving(app, port):
            yield Hub(url, services, data_dir)
    finally:
        stop_pumps(pumps)


# Per module, not per session: Playwright's sync API keeps an asyncio loop running in the
# main thread while it is open, which would break later tests that run a loop of their own.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (./dev test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, hub: Hub) -> Iterator[Any]:
    context = browser.new_context(
        base_url=hub.url, accept_downloads=True, viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def record_numbers(artifacts: Path, name: str, numbers: dict[str, Any]) -> None:
    """Merge ``numbers`` under ``name`` into ``test-artifacts/browser-metrics.json``."""
    target = artifacts / "browser-metrics.json"
    existing = json.loads(target.read_text()) if target.exists() else {}
    existing[name] = numbers
    target.write_text(json.dumps(existing, indent=2, sort_keys=True))
    print(f"\n{name}: {json.dumps(numbers, sort_keys=True)}")
