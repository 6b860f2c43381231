"""The ObjectCreated step: uploaded originals become ready with a thumbnail, or rejected, once."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image as PILImage

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.adapters.local.url_signing import UrlSigner
from cellhub.domain.events import ImageRejected, ThumbnailReady
from cellhub.domain.images import ImageStatus
from cellhub.domain.projects import Project
from cellhub.ports.notifier import RecordingNotifier
from cellhub.services.thumbnails import ThumbnailService, parse_original_key, thumbnail_key
from cellhub.services.uploads import FileSpec, PlannedUpload, UploadService


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.database = SqliteDatabase(tmp_path / "metadata.sqlite3")
        projects = SqliteProjectsRepository(self.database)
        self.images = SqliteImagesRepository(self.database)
        self.blobs = FilesystemBlobStore(
            tmp_path / "blobs", base_url="http://hub.test", signer=UrlSigner(b"s" * 32)
        )
        self.notifier = RecordingNotifier()
        self.project = Project.new("Spheroids", owner_id="alice")
        projects.create(self.project)
        self.uploads = UploadService(self.images, self.blobs, self.notifier)
        self.thumbnails = ThumbnailService(self.images, self.blobs, self.notifier)

    def upload(self, name: str, data: bytes, content_type: str = "image/png") -> PlannedUpload:
        """Plan one file and send its bytes through the presigned POST, as a browser would."""
        spec = FileSpec(name, len(data), content_type)
        [planned] = self.uploads.plan(self.project.id, [spec]).uploads
        assert planned.post is not None
        self.blobs.accept_post_upload(planned.post.fields, data, declared_length=len(data))
        return planned


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.database.close()


def encoded(pixels: NDArray[Any], fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


def test_uploaded_png_becomes_ready_with_facts_and_a_thumbnail(world: World) -> None:
    rgb = np.random.default_rng(1).integers(0, 255, size=(600, 1200, 3), dtype=np.uint8)
    planned = world.upload("../cells.png", encoded(rgb))
    image = world.thumbnails.handle_object_created(planned.key)
    assert image is not None and image.status is ImageStatus.READY
    assert (image.width, image.height, image.channels, image.dtype) == (1200, 600, 3, "uint8")
    assert image.thumbnail_key == thumbnail_key(world.project.id, planned.image_id)
    thumb = PILImage.open(io.BytesIO(world.blobs.get(image.thumbnail_key)))
    assert thumb.format == "JPEG" and thumb.size == (512, 256)
    ready = world.notifier.events[-1]
    assert isinstance(ready, ThumbnailReady)
    assert (ready.image_id, ready.width, ready.height) == (planned.image_id, 1200, 600)


def test_duplicate_notification_changes_nothing_and_publishes_nothing(world: World) -> None:
    planned = world.upload("a.png", encoded(np.zeros((20, 20), dtype=np.uint8)))
    first = world.thumbnails.handle_object_created(planned.key)
    published = len(world.notifier.events)
    again = world.thumbnails.handle_object_created(planned.key)
    assert again == first
    assert len(world.notifier.events) == published


def test_corrupt_bytes_reject_the_image_with_a_reason(world: World) -> None:
    good = encoded(np.zeros((50, 50), dtype=np.uint8))
    planned = world.upload("broken.png", good[: len(good) // 2])
    image = world.thumbnails.handle_object_created(planned.key)
    assert image is not None and image.status is ImageStatus.REJECTED
    assert image.reason is not None and image.reason.startswith("corrupt: ")
    assert image.thumbnail_key is None
    rejected = world.notifier.events[-1]
    assert isinstance(rejected, ImageRejected) and rejected.code == "corrupt"
    world.thumbnails.handle_object_created(planned.key)
    assert world.notifier.events[-1] is rejected


def test_bytes_of_no_image_format_are_rejected(world: World) -> None:
    planned = world.upload("notes.png", b"just some text, not pixels")
    image = world.thumbnails.handle_object_created(planned.key)
    assert image is not None and image.status is ImageStatus.REJECTED
    assert image.reason is not None and image.reason.startswith("unsupported_format: ")


def test_sixteen_bit_image_gets_a_thumbnail_that_is_not_black(world: World) -> None:
    pixels = np.random.default_rng(2).integers(100, 3000, size=(64, 80), dtype=np.uint16)
    planned = world.upload("deep.tif", encoded(pixels, "TIFF"), "image/tiff")
    image = world.thumbnails.handle_object_created(planned.key)
    assert image is not None and image.status is ImageStatus.READY
    assert image.dtype == "uint16" and image.channels == 1
    assert image.thumbnail_key is not None
    thumb = PILImage.open(io.BytesIO(world.blobs.get(image.thumbnail_key)))
    assert np.asarray(thumb, dtype=np.float64).mean() > 60


def test_keys_other_than_originals_are_ignored(world: World) -> None:
    planned = world.upload("a.png", encoded(np.zeros((8, 8), dtype=np.uint8)))
    world.thumbnails.handle_object_created(planned.key)
    before = list(world.notifier.events)
    thumb = thumbnail_key(world.project.id, planned.image_id)
    for key in (thumb, f"exports/{planned.image_id}.zip", "projects/p/originals", "x"):
        assert world.thumbnails.handle_object_created(key) is None
    assert world.notifier.events == before


def test_unknown_image_or_missing_object_is_ignored(world: World) -> None:
    assert (
        world.thumbnails.handle_object_created(f"projects/{world.project.id}/originals/x") is None
    )
    [planned] = world.uploads.plan(world.project.id, [FileSpec("a.png", 9, "image/png")]).uploads
    assert world.thumbnails.handle_object_created(planned.key) is None
    stored = world.images.get(world.project.id, planned.image_id)
    assert stored is not None and stored.status is ImageStatus.UPLOADING


def test_notification_for_another_etag_waits_for_its_own(world: World) -> None:
    planned = world.upload("a.png", encoded(np.zeros((8, 8), dtype=np.uint8)))
    assert world.thumbnails.handle_object_created(planned.key, etag='"0123"') is None
    etag = world.blobs.head(planned.key).etag
    image = world.thumbnails.handle_object_created(planned.key, etag=f'"{etag.upper()}"')
    assert image is not None and image.status is ImageStatus.READY


def test_original_keys_parse_to_project_and_image() -> None:
    assert parse_original_key("projects/p1/originals/i1") == ("p1", "i1")
    assert parse_original_key("projects/p1/thumbnails/i1.jpg") is None
    assert parse_original_key("projects//originals/i1") is None
    assert parse_original_key("projects/p1/originals/i1/extra") is None


def test_giving_up_rejects_an_image_still_uploading_once(world: World) -> None:
    planned = world.upload("cells.png", encoded(np.zeros((8, 8), np.uint8)))
    image = world.thumbnails.give_up(planned.key, RuntimeError("disk on fire"))
    assert image is not None and image.status is ImageStatus.REJECTED
    assert image.reason == (
        "processing_failed: the image could not be processed; the hub's log has details"
    )
    assert "disk on fire" not in image.reason  # internals stay in the log
    assert world.thumbnails.give_up(planned.key, RuntimeError("again")) == image
    rejected = [e for e in world.notifier.events if isinstance(e, ImageRejected)]
    assert len(rejected) == 1 and rejected[0].code == "processing_failed"
    assert world.thumbnails.give_up("projects/p/thumbnails/x.jpg", RuntimeError()) is None
