"""The embedded hub's background work end to end: demo upload → thumbnails → segmentation
by the queue pumps → export by the export pump, on SQLite, files and local queues."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cellhub.domain.events import ExportDone, ImageSegmented
from cellhub.domain.images import ImageStatus
from cellhub.ports.notifier import RecordingNotifier
from cellhub.services.export_messages import ExportRequested
from cellhub.services.passwords import Passwords
from cellhub.services.project_models import ProjectModelStore
from cellhub_api.container import HubServices
from cellhub_local.demo import ensure_demo
from cellhub_local.queue_pumps import start_pumps, stop_pumps
from cellhub_local.wiring import MAX_RECEIVES, build_local_services
from cellhub_worker.worker_wiring import project_segmenters

CHEAP_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubServices, RecordingNotifier]]:
    notifier = RecordingNotifier()
    services = build_local_services(
        tmp_path / "data",
        public_url="http://127.0.0.1:8000",
        notifier=notifier,
        passwords=CHEAP_PASSWORDS,
    )
    pumps = start_pumps(
        services,
        project_segmenters(ProjectModelStore(services.blobs)),
        segment_workers=2,
        max_receives=MAX_RECEIVES,
    )
    try:
        yield services, notifier
    finally:
        stop_pumps(pumps)


def wait_until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for background work"
        time.sleep(0.1)


def test_demo_images_are_segmented_and_exported(
    hub: tuple[HubServices, RecordingNotifier],
) -> None:
    services, notifier = hub
    demo = ensure_demo(services)
    assert ensure_demo(services).project_id == demo.project_id  # idempotent

    def images() -> list:
        return services.images.list(demo.project_id, limit=100).items

    wait_until(lambda: all(i.status is ImageStatus.SEGMENTED for i in images()))
    assert all(i.latest_version == 1 and i.object_count > 0 for i in images())
    segmented = [e for e in notifier.events if isinstance(e, ImageSegmented)]
    assert sorted(e.image_id for e in segmented) == sorted(i.id for i in images())

    user = services.users.find_user_by_email(demo.email)
    assert user is not None
    export = services.exports.create(
        demo.project_id,
        formats=("coco", "csv"),
        image_ids=None,
        pixel_size_um=0.65,
        created_by=user.id,
    )
    services.export_queue.send(
        ExportRequested(export_id=export.id, project_id=demo.project_id).to_json()
    )
    wait_until(lambda: any(isinstance(e, ExportDone) for e in notifier.events))
    done = services.exports.get(demo.project_id, export.id)
    assert done.blob_key is not None
    with zipfile.ZipFile(io.BytesIO(services.blobs.get(done.blob_key))) as archive:
        names = set(archive.namelist())
        header = archive.read("csv/objects.csv").decode().splitlines()[0]
    assert "coco/annotations.json" in names
    assert "area_um2" in header
