"""Upload plans: POST or multipart per file, validation before any write, keys built from ids."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.adapters.local.url_signing import UrlSigner
from cellhub.domain.events import UploadAccepted
from cellhub.domain.images import ImageStatus
from cellhub.domain.projects import Project
from cellhub.errors import (
    BlobNotFound,
    CellhubError,
    Conflict,
    ImageNotFound,
    InvalidParameter,
    ProjectNotFound,
    UploadTooLarge,
)
from cellhub.ports.blob_store import CompletedPart
from cellhub.ports.notifier import RecordingNotifier
from cellhub.services.uploads import FileSpec, UploadService, display_name, original_key

MIB = 1024 * 1024


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.database = SqliteDatabase(tmp_path / "metadata.sqlite3")
        self.projects = SqliteProjectsRepository(self.database)
        self.images = SqliteImagesRepository(self.database)
        self.blobs = FilesystemBlobStore(
            tmp_path / "blobs", base_url="http://hub.test", signer=UrlSigner(b"s" * 32)
        )
        self.notifier = RecordingNotifier()
        self.project = Project.new("Spheroids", owner_id="alice")
        self.projects.create(self.project)
        self.service = UploadService(
            self.images,
            self.blobs,
            self.notifier,
            max_file_bytes=200 * MIB,
            part_size=5 * MIB,
            multipart_threshold=8 * MIB,
        )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.database.close()


def test_small_file_gets_a_post_and_large_one_a_multipart_plan(world: World) -> None:
    files = [FileSpec("a.png", 1000, "image/png"), FileSpec("b.tif", 21 * MIB, "image/tiff")]
    plan = world.service.plan(world.project.id, files)
    small, large = plan.uploads
    assert small.post is not None and small.multipart is None
    assert small.post.fields["key"] == small.key == original_key(world.project.id, small.image_id)
    assert large.post is None and large.multipart is not None
    assert len(large.multipart.part_urls) == math.ceil(21 / 5) == 5
    assert large.multipart.part_size == 5 * MIB
    stored = world.images.get(world.project.id, small.image_id)
    assert stored is not None and stored.status is ImageStatus.UPLOADING
    assert stored.name == "a.png" and stored.blob_key == small.key
    [event] = world.notifier.events
    assert isinstance(event, UploadAccepted)
    assert event.image_ids == (small.image_id, large.image_id)


def test_post_caps_the_body_at_the_declared_size(world: World) -> None:
    [upload] = world.service.plan(world.project.id, [FileSpec("a.png", 10, "image/png")]).uploads
    assert upload.post is not None
    with pytest.raises(UploadTooLarge):
        world.blobs.accept_post_upload(upload.post.fields, b"x" * 11, declared_length=None)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (FileSpec("empty.png", 0, "image/png"), InvalidParameter),
        (FileSpec("huge.tif", 200 * MIB + 1, "image/tiff"), UploadTooLarge),
        (FileSpec("notes.txt", 10, "text/plain"), InvalidParameter),
        (FileSpec("blob.bin", 10, "application/octet-stream"), InvalidParameter),
    ],
)
def test_a_bad_file_refuses_the_whole_request_by_name(
    world: World, spec: FileSpec, error: type[CellhubError]
) -> None:
    good = FileSpec("fine.png", 10, "image/png")
    with pytest.raises(error) as caught:
        world.service.plan(world.project.id, [good, spec])
    assert caught.value.details["name"] == spec.name
    assert world.images.list(world.project.id).items == []
    assert world.notifier.events == []


def test_ome_tiff_may_come_as_octet_stream_and_types_are_normalised(world: World) -> None:
    files = [
        FileSpec("cells.ome.tif", 10, "application/octet-stream"),
        FileSpec("b.PNG", 10, "Image/PNG; charset=binary"),
    ]
    uploads = world.service.plan(world.project.id, files).uploads
    stored = [world.images.get(world.project.id, u.image_id) for u in uploads]
    assert [s.content_type for s in stored if s] == ["application/octet-stream", "image/png"]


@pytest.mark.parametrize("count", [0, 10_001])
def test_file_count_is_limited(world: World, count: int) -> None:
    with pytest.raises(InvalidParameter):
        world.service.plan(world.project.id, [FileSpec("a.png", 1, "image/png")] * count)


def test_unknown_project_is_refused(world: World) -> None:
    with pytest.raises(ProjectNotFound):
        world.service.plan("f" * 32, [FileSpec("a.png", 1, "image/png")])


def test_ten_thousand_files_are_planned_in_one_batch(world: World) -> None:
    files = [FileSpec(f"img_{i:05d}.png", 1000 + i, "image/png") for i in range(10_000)]
    started = time.perf_counter()
    plan = world.service.plan(world.project.id, files)
    elapsed = time.perf_counter() - started
    print(f"planned 10,000 uploads in {elapsed:.2f} s")
    assert len(plan.uploads) == 10_000
    assert len({u.key for u in plan.uploads}) == 10_000
    assert len(world.notifier.events) == 1


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..\\..\\boot.ini", "/abs/x.png", "a/../../b.png", "..", "\x00.png"],
)
def test_user_names_never_reach_keys(world: World, name: str) -> None:
    [upload] = world.service.plan(world.project.id, [FileSpec(name, 5, "image/png")]).uploads
    assert upload.key == f"projects/{world.project.id}/originals/{upload.image_id}"
    assert "/" not in upload.display_name and "\\" not in upload.display_name
    assert upload.display_name not in ("", ".", "..")


def test_display_names_drop_controls_and_keep_extension_when_cut() -> None:
    assert display_name("dir/sub/cell\u202egnp.tif") == "cellgnp.tif"
    assert display_name("a\tb\n.png") == "ab.png"
    long = display_name("x" * 400 + ".ome.tiff")
    assert len(long) == 255 and long.endswith(".tiff")
    assert display_name("   ") == "image"


def test_multipart_upload_completes_into_the_original(world: World) -> None:
    size = 6 * MIB
    service = UploadService(
        world.images, world.blobs, world.notifier, part_size=5 * MIB, multipart_threshold=MIB
    )
    [upload] = service.plan(world.project.id, [FileSpec("big.tif", size, "image/tiff")]).uploads
    assert upload.multipart is not None and len(upload.multipart.part_urls) == 2
    body = bytes(range(256)) * (size // 256)
    parts = []
    for number, url in enumerate(upload.multipart.part_urls, start=1):
        query = dict(parse_qsl(urlsplit(url).query))
        chunk = body[(number - 1) * 5 * MIB : number * 5 * MIB]
        parts.append(CompletedPart(number, world.blobs.accept_part(query, chunk)))
    with pytest.raises(ImageNotFound):
        service.complete_multipart("f" * 32, upload.image_id, upload.multipart.upload_id, parts)
    info = service.complete_multipart(
        world.project.id, upload.image_id, upload.multipart.upload_id, parts
    )
    assert info.key == upload.key and world.blobs.get(upload.key) == body


def test_multipart_completion_needs_an_uploading_image_and_its_own_upload(world: World) -> None:
    service = UploadService(
        world.images, world.blobs, world.notifier, part_size=5 * MIB, multipart_threshold=MIB
    )
    files = [FileSpec("a.tif", 2 * MIB, "image/tiff"), FileSpec("b.tif", 2 * MIB, "image/tiff")]
    first, second = service.plan(world.project.id, files).uploads
    assert first.multipart is not None and second.multipart is not None
    with pytest.raises(BlobNotFound):
        service.complete_multipart(
            world.project.id, first.image_id, second.multipart.upload_id, [CompletedPart(1, "0")]
        )
    world.images.update_status(first.image_id, [ImageStatus.UPLOADING], ImageStatus.FAILED)
    with pytest.raises(Conflict):
        service.complete_multipart(
            world.project.id, first.image_id, first.multipart.upload_id, [CompletedPart(1, "0")]
        )


def test_part_size_must_fit_s3_limits(world: World) -> None:
    with pytest.raises(InvalidParameter):
        UploadService(world.images, world.blobs, world.notifier, part_size=MIB)
