"""Creating and cancelling segmentation jobs against the real local adapters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_jobs import SqliteJobsRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.adapters.local.sqlite_queue import SqliteJobQueue
from cellhub.domain.events import ImageQueued
from cellhub.domain.images import Image, ImageStatus
from cellhub.domain.jobs import Job, JobState
from cellhub.domain.projects import Project
from cellhub.errors import ImageNotFound, InvalidParameter
from cellhub.ports.notifier import RecordingNotifier
from cellhub.services.segmentation_jobs import SegmentationJobs
from cellhub.services.segmentation_messages import CHUNK_SIZE, parse_chunk


@dataclass
class World:
    images: SqliteImagesRepository
    jobs: SqliteJobsRepository
    queue: SqliteJobQueue
    notifier: RecordingNotifier
    service: SegmentationJobs
    project: Project


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    database = SqliteDatabase(tmp_path / "meta.sqlite3")
    projects = SqliteProjectsRepository(database)
    project = Project.new("Nuclei", owner_id="alice")
    projects.create(project)
    images = SqliteImagesRepository(database)
    jobs = SqliteJobsRepository(database)
    queue = SqliteJobQueue(tmp_path / "queue.sqlite3", "segment")
    notifier = RecordingNotifier()
    yield World(
        images, jobs, queue, notifier, SegmentationJobs(images, jobs, queue, notifier), project
    )
    queue.close()
    database.close()


def add_images(world: World, statuses: list[ImageStatus]) -> list[Image]:
    added = [
        Image.new(
            world.project.id, f"i{n}.png", size=10, content_type="image/png", blob_key=f"o/{n}"
        )
        for n in range(len(statuses))
    ]
    world.images.add_many(added)
    for image, status in zip(added, statuses, strict=True):
        world.images.update_status(image.id, [ImageStatus.UPLOADING], ImageStatus.READY)
        if status is ImageStatus.FAILED:
            world.images.update_status(image.id, [ImageStatus.READY], ImageStatus.QUEUED)
            world.images.update_status(image.id, [ImageStatus.QUEUED], ImageStatus.FAILED)
        elif status is not ImageStatus.READY:
            world.images.update_status(image.id, [ImageStatus.READY], status)
    return added


def status_of(world: World, image: Image) -> ImageStatus:
    stored = world.images.get(world.project.id, image.id)
    assert stored is not None
    return stored.status


def test_all_unsegmented_are_queued_in_chunks_with_positions(world: World) -> None:
    statuses = [ImageStatus.READY] * (CHUNK_SIZE + 2) + [ImageStatus.FAILED, ImageStatus.SEGMENTED]
    added = add_images(world, statuses)
    job = world.service.create(world.project.id, model="classical", threshold=0.5, created_by="a")
    assert job.counts.total == CHUNK_SIZE + 3
    assert [status_of(world, i) for i in added[:-1]] == [ImageStatus.QUEUED] * (CHUNK_SIZE + 3)
    assert status_of(world, added[-1]) is ImageStatus.SEGMENTED
    messages = world.queue.receive(max_messages=10)
    chunks = [parse_chunk(m.body) for m in messages]
    assert sorted(len(c.image_ids) for c in chunks) == [3, CHUNK_SIZE]
    assert {c.job_id for c in chunks} == {job.id}
    events = [e for e in world.notifier.events if isinstance(e, ImageQueued)]
    assert [e.position for e in events] == list(range(1, CHUNK_SIZE + 4))
    stored = world.jobs.get_job(world.project.id, job.id)
    assert stored is not None and stored.counts.total == CHUNK_SIZE + 3


def test_force_requeues_segmented_and_busy_images_are_skipped(world: World) -> None:
    ready, segmented, queued = add_images(
        world, [ImageStatus.READY, ImageStatus.SEGMENTED, ImageStatus.QUEUED]
    )
    ids = [ready.id, segmented.id, queued.id]
    job = world.service.create(
        world.project.id, image_ids=ids, model="m", threshold=0.5, created_by="a", force=True
    )
    assert job.counts.total == 2
    events = [e for e in world.notifier.events if isinstance(e, ImageQueued)]
    # The image queued before this job is ahead of it in the queue.
    assert [e.position for e in events] == [2, 3]


def test_unknown_ids_and_empty_selections_are_refused(world: World) -> None:
    (queued,) = add_images(world, [ImageStatus.QUEUED])
    with pytest.raises(ImageNotFound):
        world.service.create(
            world.project.id, image_ids=["nope"], model="m", threshold=0.5, created_by="a"
        )
    with pytest.raises(InvalidParameter):
        world.service.create(
            world.project.id, image_ids=[queued.id], model="m", threshold=0.5, created_by="a"
        )
    assert world.queue.depth().total == 0


def test_cancel_gives_queued_images_back(world: World) -> None:
    ready, failed = add_images(world, [ImageStatus.READY, ImageStatus.FAILED])
    job = world.service.create(world.project.id, model="m", threshold=0.5, created_by="a")
    cancelled = world.service.cancel(world.project.id, job.id)
    assert cancelled.state is JobState.CANCELLED
    assert status_of(world, ready) is ImageStatus.READY
    assert status_of(world, failed) is ImageStatus.READY
    assert world.jobs.list_active_jobs(world.project.id) == []


def test_a_running_model_job_does_not_keep_cancelled_images_queued(world: World) -> None:
    (ready,) = add_images(world, [ImageStatus.READY])
    finetune = Job.new(
        world.project.id,
        model="classical",
        threshold=0.0,
        total=4,
        created_by="a",
        options={"name": "mine", "epochs": 1},
        kind="finetune",
    )
    world.jobs.create_job(finetune)
    job = world.service.create(world.project.id, model="m", threshold=0.5, created_by="a")
    world.service.cancel(world.project.id, job.id)
    assert status_of(world, ready) is ImageStatus.READY
    cancelling_the_model_job = world.service.cancel(world.project.id, finetune.id)
    assert cancelling_the_model_job.state is JobState.CANCELLED
