"""Exports end to end on local adapters: ZIP contents, progress, cancellation, retries, URLs."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
from openpyxl import load_workbook
from pycocotools.coco import COCO

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_jobs import SqliteJobsRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.adapters.local.url_signing import UrlSigner
from cellhub.domain.events import ExportDone, ExportFailed, ExportProgress, LiveEvent
from cellhub.domain.images import Image, ImageStatus, SegmentationVersion
from cellhub.domain.jobs import ExportState
from cellhub.domain.projects import Project, utc_now
from cellhub.errors import ExportError, InvalidParameter
from cellhub.geometry import polygons_from_labels
from cellhub.ports.notifier import RecordingNotifier
from cellhub.results import ImageInfo, ImageResult
from cellhub.services.exports import ExportService
from cellhub.services.segmentation_documents import document_key, save_document

SIZE = 48


class CancellingNotifier(RecordingNotifier):
    """Cancels the export the moment its first progress event is published."""

    service: ExportService | None = None

    def publish(self, event: LiveEvent) -> None:
        super().publish(event)
        if isinstance(event, ExportProgress) and self.service is not None:
            self.service.cancel(event.project_id, event.export_id)


@dataclass
class World:
    service: ExportService
    jobs: SqliteJobsRepository
    blobs: FilesystemBlobStore
    notifier: CancellingNotifier
    project_id: str


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    database = SqliteDatabase(tmp_path / "metadata.sqlite3")
    projects = SqliteProjectsRepository(database)
    images = SqliteImagesRepository(database)
    jobs = SqliteJobsRepository(database)
    blobs = FilesystemBlobStore(
        tmp_path / "blobs", base_url="http://127.0.0.1", signer=UrlSigner(b"k" * 32)
    )
    project = Project.new("Exports", owner_id="alice")
    projects.create(project)
    for i in range(25):
        _add_segmented_image(images, blobs, project.id, i)
    notifier = CancellingNotifier()
    service = ExportService(images, jobs, blobs, notifier)
    yield World(service, jobs, blobs, notifier, project.id)
    database.close()


def _add_segmented_image(
    images: SqliteImagesRepository, blobs: FilesystemBlobStore, project_id: str, i: int
) -> None:
    """Image ``i`` holds ``i % 3 + 1`` square objects in its version 1."""
    name = f"well_{i:02d}.png"
    image = Image.new(project_id, name, size=10, content_type="image/png", blob_key=f"o/{i}")
    images.add_many([image])
    images.update_status(
        image.id, [ImageStatus.UPLOADING], ImageStatus.READY,
        width=SIZE, height=SIZE, channels=1, dtype="uint8",
    )  # fmt: skip
    labels = np.zeros((SIZE, SIZE), np.int32)
    for label in range(1, i % 3 + 2):
        labels[label * 12 : label * 12 + 8, 4 : 12 + i] = label
    polygons = polygons_from_labels(labels)
    result = ImageResult(ImageInfo(name, SIZE, SIZE, 1, "uint8"), polygons, [], {})
    key = document_key(project_id, image.id, 1)
    save_document(blobs, key, result.to_document())
    version = SegmentationVersion(
        image.id, 0, key, len(polygons), "classical", 0.5, "model", None, "w"
    )
    images.add_version(image.id, 0, version)
    images.update_status(image.id, [ImageStatus.READY], ImageStatus.SEGMENTED)


def _create(world: World, formats: tuple[str, ...] = ("coco", "excel")) -> str:
    export = world.service.create(
        world.project_id, formats=formats, image_ids=None, pixel_size_um=0.5, created_by="alice"
    )
    return export.id


def test_coco_and_excel_export_of_25_images(world: World, tmp_path: Path) -> None:
    export_id = _create(world)
    export = world.service.run(export_id, world.project_id)

    assert export.state is ExportState.DONE and export.blob_key is not None
    assert export.expires_at is not None and export.expires_at > utc_now() + timedelta(days=6)
    with zipfile.ZipFile(io.BytesIO(world.blobs.get(export.blob_key))) as archive:
        assert {"coco/annotations.json", "excel/measurements.xlsx"} <= set(archive.namelist())
        (tmp_path / "annotations.json").write_bytes(archive.read("coco/annotations.json"))
        workbook = load_workbook(io.BytesIO(archive.read("excel/measurements.xlsx")))
    coco = COCO(str(tmp_path / "annotations.json"))
    assert len(coco.getImgIds()) == 25
    assert len(coco.getAnnIds()) == sum(i % 3 + 1 for i in range(25))
    assert workbook["images"].max_row == 1 + 25

    progress = [e.progress for e in world.notifier.events if isinstance(e, ExportProgress)]
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) <= 51
    assert isinstance(world.notifier.events[-1], ExportDone)

    url = world.service.download_url(world.project_id, export_id, expires_in=600)
    assert world.blobs.verify_download(dict(parse_qsl(urlsplit(url).query))) == export.blob_key


def test_cancelling_mid_run_leaves_no_blob(world: World) -> None:
    export_id = _create(world)
    world.notifier.service = world.service

    export = world.service.run(export_id, world.project_id)

    assert export.state is ExportState.CANCELLED and export.blob_key is None
    assert world.blobs.list(f"exports/{world.project_id}/") == []
    assert not any(isinstance(e, ExportDone) for e in world.notifier.events)


def test_unknown_formats_are_refused(world: World) -> None:
    with pytest.raises(InvalidParameter):
        _create(world, ("coco", "pdf"))
    with pytest.raises(InvalidParameter):
        _create(world, ())


def test_a_done_export_is_not_run_again(world: World) -> None:
    export_id = _create(world, ("csv",))
    first = world.service.run(export_id, world.project_id)
    events = len(world.notifier.events)
    again = world.service.run(export_id, world.project_id, resume=True)
    assert again == first and len(world.notifier.events) == events
    assert len(world.blobs.list(f"exports/{world.project_id}/")) == 1


def test_a_crashed_run_is_finished_by_the_retry_path_only(world: World) -> None:
    export_id = _create(world, ("csv",))
    # A run that died after queued -> running leaves the state running.
    assert world.jobs.set_export_state(export_id, [ExportState.QUEUED], ExportState.RUNNING)

    plain = world.service.run(export_id, world.project_id)
    assert plain.state is ExportState.RUNNING
    resumed = world.service.run(export_id, world.project_id, resume=True)
    assert resumed.state is ExportState.DONE


def test_download_urls_only_for_done_unexpired_exports(world: World) -> None:
    export_id = _create(world, ("csv",))
    with pytest.raises(InvalidParameter):
        world.service.download_url(world.project_id, export_id, expires_in=60)
    world.service.run(export_id, world.project_id)
    world.service.clock = lambda: utc_now() + timedelta(days=8)
    with pytest.raises(InvalidParameter):
        world.service.download_url(world.project_id, export_id, expires_in=60)


def test_an_unreadable_document_fails_the_export_with_its_reason(world: World) -> None:
    export_id = _create(world, ("json",))
    document = world.blobs.list(f"projects/{world.project_id}/segmentations/")[0]
    world.blobs.put(document.key, b"not gzip")

    export = world.service.run(export_id, world.project_id)

    assert export.state is ExportState.FAILED and export.error
    assert isinstance(world.notifier.events[-1], ExportFailed)
    assert world.blobs.list(f"exports/{world.project_id}/") == []


class FlakyPut:
    """Makes the blob store's ``put`` raise ``error`` the next ``failures`` times."""

    def __init__(self, blobs: FilesystemBlobStore, error: Exception, failures: int = 1) -> None:
        self.put = blobs.put
        self.error = error
        self.failures = failures

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        self.put(*args, **kwargs)


@pytest.mark.parametrize(
    "error", [RuntimeError("connection reset"), ExportError("storage throttled")]
)
def test_a_transient_failure_is_retried_by_the_next_delivery(
    world: World, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    export_id = _create(world, ("csv",))
    monkeypatch.setattr(world.blobs, "put", FlakyPut(world.blobs, error))

    with pytest.raises(type(error)):
        world.service.run(export_id, world.project_id, last_attempt=False)  # delivery 1
    left = world.service.get(world.project_id, export_id)
    assert left.state is ExportState.RUNNING and left.error is None
    assert not any(isinstance(event, ExportFailed) for event in world.notifier.events)

    retried = world.service.run(export_id, world.project_id, resume=True, last_attempt=False)

    assert retried.state is ExportState.DONE and retried.blob_key is not None
    assert [blob.key for blob in world.blobs.list(f"exports/{world.project_id}/")] == [
        retried.blob_key
    ]
    assert isinstance(world.notifier.events[-1], ExportDone)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RuntimeError("connection reset"), "internal error while building the export"),
        (ExportError("storage throttled"), "storage throttled"),
    ],
)
def test_a_failure_on_the_last_delivery_fails_the_export(
    world: World, monkeypatch: pytest.MonkeyPatch, error: Exception, reason: str
) -> None:
    export_id = _create(world, ("csv",))
    monkeypatch.setattr(world.blobs, "put", FlakyPut(world.blobs, error, failures=3))
    for _ in range(2):
        with pytest.raises(type(error)):
            world.service.run(export_id, world.project_id, resume=True, last_attempt=False)

    if isinstance(error, ExportError):
        export = world.service.run(export_id, world.project_id, resume=True, last_attempt=True)
    else:
        with pytest.raises(RuntimeError):
            world.service.run(export_id, world.project_id, resume=True, last_attempt=True)
        export = world.service.get(world.project_id, export_id)

    assert export.state is ExportState.FAILED and export.error == reason
    failed = [event for event in world.notifier.events if isinstance(event, ExportFailed)]
    assert [(event.export_id, event.reason) for event in failed] == [(export_id, reason)]
    assert world.blobs.list(f"exports/{world.project_id}/") == []


def test_a_permanent_failure_fails_the_export_on_any_delivery(world: World) -> None:
    export_id = _create(world, ("json",))
    document = world.blobs.list(f"projects/{world.project_id}/segmentations/")[0]
    world.blobs.put(document.key, b"not gzip")

    export = world.service.run(export_id, world.project_id, last_attempt=False)

    assert export.state is ExportState.FAILED and export.error
    assert isinstance(world.notifier.events[-1], ExportFailed)
