"""Manual edits: versioned saves, stale-base conflicts, concurrent savers, validation, revert."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.adapters.local.url_signing import UrlSigner
from cellhub.domain.events import ImageSegmented
from cellhub.domain.images import Image, ImageStatus, SegmentationVersion
from cellhub.domain.projects import Project
from cellhub.errors import ImageNotFound, InvalidParameter, SegmentationVersionConflict
from cellhub.geometry import polygons_from_labels
from cellhub.metrics import measure
from cellhub.ports.notifier import RecordingNotifier
from cellhub.results import ImageInfo, ImageResult
from cellhub.services.editing import MAX_POLYGONS, EditingService
from cellhub.services.segmentation_documents import document_key, polygons_of, save_document

SIZE = 64


@dataclass
class World:
    service: EditingService
    images: SqliteImagesRepository
    blobs: FilesystemBlobStore
    notifier: RecordingNotifier
    project_id: str


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    database = SqliteDatabase(tmp_path / "metadata.sqlite3")
    projects = SqliteProjectsRepository(database)
    images = SqliteImagesRepository(database)
    blobs = FilesystemBlobStore(
        tmp_path / "blobs", base_url="http://127.0.0.1", signer=UrlSigner(b"k" * 32)
    )
    project = Project.new("Edits", owner_id="alice")
    projects.create(project)
    notifier = RecordingNotifier()
    yield World(EditingService(images, blobs, notifier), images, blobs, notifier, project.id)
    database.close()


def add_image(world: World, *, segmented: bool = True) -> Image:
    """A decoded 64 x 64 image; with ``segmented`` its version 1 holds two model squares."""
    image = Image.new(world.project_id, "a.png", size=10, content_type="image/png", blob_key="o")
    world.images.add_many([image])
    world.images.update_status(
        image.id, [ImageStatus.UPLOADING], ImageStatus.READY,
        width=SIZE, height=SIZE, channels=1, dtype="uint8",
    )  # fmt: skip
    if segmented:
        labels = np.zeros((SIZE, SIZE), np.int32)
        labels[4:20, 4:20] = 1
        labels[30:50, 30:60] = 2
        result = ImageResult(
            ImageInfo("a.png", SIZE, SIZE, 1, "uint8"), polygons_from_labels(labels), [], {}
        )
        key = document_key(world.project_id, image.id, 1)
        save_document(world.blobs, key, result.to_document())
        record = SegmentationVersion(image.id, 0, key, 2, "classical", 0.5, "model", None, "w")
        world.images.add_version(image.id, 0, record)
        world.images.update_status(image.id, [ImageStatus.READY], ImageStatus.SEGMENTED)
    stored = world.images.get(world.project_id, image.id)
    assert stored is not None
    return stored


def square(x: float, y: float, side: float, polygon_id: int = 0) -> dict[str, Any]:
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side]]
    return {"id": polygon_id, "exterior": ring, "holes": [], "class": "object"}


def test_save_on_the_latest_version_stores_the_next_with_fresh_metrics(world: World) -> None:
    image = add_image(world)
    _, document = world.service.latest(world.project_id, image.id)
    polygons = document["polygons"]
    before = {row["object_id"]: row["area_px2"] for row in _metrics(world, image.id)}
    polygons[0] = {**polygons[0], "exterior": square(4, 4, 8)["exterior"]}

    stored, rows = world.service.save(
        world.project_id, image.id, base_version=1, polygons=polygons, user_id="bob"
    )

    assert (stored.version, stored.source, stored.created_by) == (2, "manual", "bob")
    areas = {row["object_id"]: row["area_px2"] for row in rows}
    assert areas[1] == pytest.approx(64.0) and areas[1] != before[1]
    assert areas[2] == pytest.approx(before[2])
    record, saved = world.service.latest(world.project_id, image.id)
    assert record == stored
    assert [p["source"] for p in saved["polygons"]] == ["manual", "model"]
    assert [v.version for v in world.service.versions(world.project_id, image.id)] == [1, 2]
    assert isinstance(world.notifier.events[-1], ImageSegmented)


def _metrics(world: World, image_id: str) -> list[dict[str, Any]]:
    _, document = world.service.latest(world.project_id, image_id)
    return measure(polygons_of(document))


def test_a_stale_base_is_refused_with_the_current_version(world: World) -> None:
    image = add_image(world)
    polygons = [square(5, 5, 10, 1)]
    world.service.save(world.project_id, image.id, base_version=1, polygons=polygons, user_id="a")
    with pytest.raises(SegmentationVersionConflict) as caught:
        world.service.save(
            world.project_id, image.id, base_version=1, polygons=polygons, user_id="b"
        )
    assert caught.value.current_version == 2
    assert len(world.service.versions(world.project_id, image.id)) == 2


def test_concurrent_saves_from_one_base_leave_one_intact_winner(world: World) -> None:
    image = add_image(world)
    count = 6
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = world.service.save(
                world.project_id, image.id, base_version=1,
                polygons=[square(2 + i, 2, 10 + i, 1)], user_id=f"u{i}",
            )  # fmt: skip
        except SegmentationVersionConflict as conflict:
            outcomes[i] = conflict

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [i for i, o in enumerate(outcomes) if isinstance(o, tuple)]
    assert len(winners) == 1
    assert all(o.current_version == 2 for o in outcomes if not isinstance(o, tuple))
    record, document = world.service.latest(world.project_id, image.id)
    assert record.created_by == f"u{winners[0]}"
    side = 10 + winners[0]
    assert document["polygons"][0]["exterior"] == square(2 + winners[0], 2, side)["exterior"]
    # Only the winner's document was kept next to version 1's.
    prefix = f"projects/{world.project_id}/segmentations/{image.id}/"
    assert len(world.blobs.list(prefix)) == 2


@pytest.mark.parametrize(
    "polygons",
    [
        [{"exterior": [[1, 1], [5, 1]]}],
        [{"exterior": [[1, 1], [5, 1], [float("nan"), 4]]}],
        [{"exterior": [[1, 1], [5, 1], [5, 10_000]]}],
        [{"exterior": "not a ring"}],
        [{"exterior": [[1, 1], [5, 1], [5, 5]], "holes": [[[2, 2], [3, 2]]]}],
        [{"exterior": [[1, 1], [2, 2], [3, 3]]}],
        [{"exterior": [[1, 1], [5, 1], [5, 5]], "class": ""}],
        ["not an object"],
        [{}] * (MAX_POLYGONS + 1),
    ],
)
def test_invalid_polygons_are_refused(world: World, polygons: list[Any]) -> None:
    image = add_image(world)
    with pytest.raises(InvalidParameter):
        world.service.save(
            world.project_id, image.id, base_version=1, polygons=polygons, user_id="a"
        )
    assert len(world.service.versions(world.project_id, image.id)) == 1


def test_revert_saves_the_old_polygons_as_a_new_version(world: World) -> None:
    image = add_image(world)
    _, original = world.service.latest(world.project_id, image.id)
    world.service.save(
        world.project_id, image.id, base_version=1, polygons=[square(1, 1, 5)], user_id="a"
    )
    stored, rows = world.service.revert(
        world.project_id, image.id, to_version=1, base_version=2, user_id="a"
    )
    assert (stored.version, stored.object_count, len(rows)) == (3, 2, 2)
    _, reverted = world.service.get(world.project_id, image.id, 3)
    assert [p["exterior"] for p in reverted["polygons"]] == [
        p["exterior"] for p in original["polygons"]
    ]


def test_a_first_hand_drawn_version_makes_a_ready_image_segmented(world: World) -> None:
    image = add_image(world, segmented=False)
    stored, _ = world.service.save(
        world.project_id, image.id, base_version=0,
        polygons=[square(1, 1, 5), square(20, 20, 5)], user_id="a",
    )  # fmt: skip
    assert (stored.version, stored.model) == (1, "manual")
    after = world.images.get(world.project_id, image.id)
    assert after is not None and after.status is ImageStatus.SEGMENTED
    _, document = world.service.latest(world.project_id, image.id)
    assert [p["id"] for p in document["polygons"]] == [1, 2]


def test_images_of_other_projects_are_not_found(world: World) -> None:
    image = add_image(world)
    with pytest.raises(ImageNotFound):
        world.service.latest("other-project", image.id)
