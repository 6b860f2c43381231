"""The worker step under at-least-once delivery, on the real local adapters."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PilImage

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_jobs import SqliteJobsRepository
from cellhub.adapters.local.sqlite_queue import SqliteJobQueue
from cellhub.domain.events import ImageFailed, ImageProcessing, ImageQueued, ImageSegmented
from cellhub.domain.images import Image, ImageStatus
from cellhub.domain.jobs import Job, JobState
from cellhub.domain.projects import Project
from cellhub.ports.notifier import RecordingNotifier
from cellhub.segmenter import Instances, Segmenter
from cellhub.services.segmentation_documents import load_document
from cellhub.services.segmentation_jobs import SegmentationJobs
from cellhub.services.segmentation_worker import SegmentationWorker
from tests.unit.local_queue_world import local_queue_world

MAX_RECEIVES = 2


class FixedSegmenter:
    """Two squares per image; raises a retryable error on call number ``crash_on``."""

    name = "fixed"
    version = "test"

    def __init__(self, crash_on: int | None = None) -> None:
        self.calls = 0
        self.crash_on = crash_on

    def segment(self, pixels: Any, *, threshold: float | None = None) -> Instances:
        self.calls += 1
        if self.calls == self.crash_on:
            raise RuntimeError("worker lost its GPU")
        labels = np.zeros(pixels.shape[:2], np.int32)
        labels[2:10, 2:10] = 1
        labels[20:30, 20:30] = 2
        return Instances(labels, {1: 0.9, 2: 0.8})


@dataclass
class World:
    images: SqliteImagesRepository
    jobs: SqliteJobsRepository
    blobs: FilesystemBlobStore
    queue: SqliteJobQueue
    notifier: RecordingNotifier
    project: Project
    clock: list[float] = field(default_factory=lambda: [1_000.0])

    def worker(self, segmenter: Segmenter) -> SegmentationWorker:
        return SegmentationWorker(
            self.images, self.jobs, self.blobs, self.notifier, lambda project, model: segmenter
        )

    def start(self, count: int, *, corrupt: int | None = None) -> tuple[Job, list[Image]]:
        added = []
        for n in range(count):
            image = Image.new(
                self.project.id, f"i{n}.png", size=1, content_type="image/png", blob_key=f"o/{n}"
            )
            self.blobs.put(image.blob_key, b"not an image" if n == corrupt else png())
            added.append(image)
        self.images.add_many(added)
        for image in added:
            self.images.update_status(image.id, [ImageStatus.UPLOADING], ImageStatus.READY)
        service = SegmentationJobs(self.images, self.jobs, self.queue, self.notifier)
        return service.create(self.project.id, model="fixed", threshold=0.5, created_by="a"), added

    def job(self, job_id: str) -> Job:
        job = self.jobs.get_job(self.project.id, job_id)
        assert job is not None
        return job

    def image(self, image: Image) -> Image:
        stored = self.images.get(self.project.id, image.id)
        assert stored is not None
        return stored


def png() -> bytes:
    buffer = io.BytesIO()
    PilImage.fromarray(np.full((40, 40), 30, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with local_queue_world(tmp_path, max_receives=MAX_RECEIVES) as parts:
        yield World(
            SqliteImagesRepository(parts.database),
            SqliteJobsRepository(parts.database),
            parts.blobs,
            parts.queue,
            RecordingNotifier(),
            parts.project,
            parts.clock,
        )


def test_every_image_is_segmented_once_with_events_in_order(world: World) -> None:
    job, added = world.start(3)
    assert world.worker(FixedSegmenter()).drain(world.queue) == 1
    for image in added:
        stored = world.image(image)
        assert (stored.status, stored.latest_version, stored.object_count) == (
            ImageStatus.SEGMENTED,
            1,
            2,
        )
        (version,) = world.images.list_versions(image.id)
        assert version.job_id == job.id
        assert len(load_document(world.blobs, version.blob_key)["polygons"]) == 2
        kinds = [type(e) for e in world.notifier.events if getattr(e, "image_id", "") == image.id]
        assert kinds == [ImageQueued, ImageProcessing, ImageSegmented]
    finished = world.job(job.id)
    assert (finished.state, finished.counts.done, finished.counts.failed) == (JobState.DONE, 3, 0)


def test_crash_mid_chunk_is_finished_by_redelivery_without_a_second_version(
    world: World,
) -> None:
    job, added = world.start(3)
    assert world.worker(FixedSegmenter(crash_on=2)).drain(world.queue) == 0
    assert world.image(added[1]).status is ImageStatus.PROCESSING
    world.clock[0] += 301  # the crashed delivery's visibility runs out
    assert world.worker(FixedSegmenter()).drain(world.queue) == 1
    for image in added:
        assert len(world.images.list_versions(image.id)) == 1
        assert world.image(image).status is ImageStatus.SEGMENTED
    assert world.job(job.id).counts.done == 3


class CrashingJobs(SqliteJobsRepository):
    """Dies once while counting an image: after its status changed, before its count."""

    crashed = False

    def record_outcome(self, job_id: str, image_id: str, *, failed: bool = False) -> Any:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("worker killed between status change and count")
        return super().record_outcome(job_id, image_id, failed=failed)


def test_crash_between_status_change_and_count_is_repaired_by_redelivery(
    world: World, tmp_path: Path
) -> None:
    job, added = world.start(2)
    crashing = CrashingJobs(tmp_path / "meta.sqlite3")
    worker = SegmentationWorker(
        world.images, crashing, world.blobs, world.notifier, lambda project, model: FixedSegmenter()
    )
    assert worker.drain(world.queue) == 0
    assert world.image(added[0]).status is ImageStatus.SEGMENTED
    assert world.job(job.id).counts.done == 0
    world.clock[0] += 301
    assert worker.drain(world.queue) == 1
    finished = world.job(job.id)
    assert (finished.state, finished.counts.done, finished.counts.failed) == (JobState.DONE, 2, 0)
    assert [len(world.images.list_versions(i.id)) for i in added] == [1, 1]
    # The crashed image's event went out before the crash and again with the repaired count.
    segmented = [e.image_id for e in world.notifier.events if isinstance(e, ImageSegmented)]
    assert (segmented.count(added[0].id), segmented.count(added[1].id)) == (2, 1)


def test_duplicate_delivery_of_a_finished_chunk_adds_nothing(world: World) -> None:
    job, added = world.start(2)
    (message,) = world.queue.receive()
    worker = world.worker(FixedSegmenter())
    worker.handle(message, heartbeat=lambda: None)
    worker.handle(message, heartbeat=lambda: None)
    assert [len(world.images.list_versions(i.id)) for i in added] == [1, 1]
    assert world.job(job.id).counts.done == 2
    assert sum(isinstance(e, ImageSegmented) for e in world.notifier.events) == 2


def test_poison_message_is_dead_lettered_and_its_images_fail(world: World) -> None:
    job, added = world.start(2)
    always = FixedSegmenter(crash_on=1)
    for _ in range(MAX_RECEIVES):
        always.calls = 0
        world.worker(always).drain(world.queue)
        world.clock[0] += 301
    assert world.queue.receive() == []
    dead = world.queue.dead_letter
    assert dead is not None
    assert world.worker(always).drain_dead_letters(dead, attempts=MAX_RECEIVES) == 1
    for image in added:
        stored = world.image(image)
        assert stored.status is ImageStatus.FAILED
        assert stored.reason == f"gave up after {MAX_RECEIVES} attempts"
    assert world.job(job.id).counts.failed == 2
    assert world.job(job.id).state is JobState.DONE


def test_unknown_schema_goes_to_the_dead_letter_queue(world: World) -> None:
    world.queue.send('{"schema": "cellhub.segment/99"}')
    worker = world.worker(FixedSegmenter())
    assert worker.drain(world.queue) == 0
    dead = world.queue.dead_letter
    assert dead is not None and dead.depth().visible == 1
    assert worker.drain_dead_letters(dead, attempts=MAX_RECEIVES) == 1


def test_corrupt_image_fails_alone(world: World) -> None:
    job, added = world.start(3, corrupt=1)
    world.worker(FixedSegmenter()).drain(world.queue)
    assert [world.image(i).status for i in added] == [
        ImageStatus.SEGMENTED,
        ImageStatus.FAILED,
        ImageStatus.SEGMENTED,
    ]
    failed = [e for e in world.notifier.events if isinstance(e, ImageFailed)]
    assert [e.image_id for e in failed] == [added[1].id]
    counts = world.job(job.id).counts
    assert (counts.done, counts.failed) == (2, 1)


def test_cancelled_job_is_discarded_by_the_worker(world: World) -> None:
    job, added = world.start(2)
    SegmentationJobs(world.images, world.jobs, world.queue, world.notifier).cancel(
        world.project.id, job.id
    )
    assert [world.image(i).status for i in added] == [ImageStatus.READY] * 2
    segmenter = FixedSegmenter()
    assert world.worker(segmenter).drain(world.queue) == 1
    assert segmenter.calls == 0
    assert all(world.images.list_versions(i.id) == [] for i in added)
    assert world.job(job.id).state is JobState.CANCELLED


def test_classical_segmenter_on_a_synthetic_image(world: World) -> None:
    from cellhub_worker.models.classical import ClassicalSegmenter
    from cellhub_worker.synthetic import synthetic_nuclei

    pixels, truth = synthetic_nuclei((128, 128), count=6, seed=3)
    image = Image.new(world.project.id, "n.png", size=1, content_type="image/png", blob_key="o/n")
    buffer = io.BytesIO()
    PilImage.fromarray(np.asarray(pixels)).save(buffer, format="PNG")
    world.blobs.put(image.blob_key, buffer.getvalue())
    world.images.add_many([image])
    world.images.update_status(image.id, [ImageStatus.UPLOADING], ImageStatus.READY)
    SegmentationJobs(world.images, world.jobs, world.queue, world.notifier).create(
        world.project.id, model="classical", threshold=0.5, created_by="a"
    )
    world.worker(ClassicalSegmenter()).drain(world.queue)
    stored = world.image(image)
    assert stored.status is ImageStatus.SEGMENTED
    assert abs(stored.object_count - int(truth.max())) <= 2
