"""Images and segmentation versions contract: batches, paging, conditional writes."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cellhub.domain.images import Image, ImageStatus, SegmentationVersion
from cellhub.domain.projects import Project, new_id
from cellhub.errors import (
    DuplicateRecord,
    ImageNotFound,
    InvalidParameter,
    ProjectNotFound,
    SegmentationVersionConflict,
)
from cellhub.ports.images_repository import ImageOrder

from .conftest import Repositories, all_pages, make_images, race, version_record

# --- images -----------------------------------------------------------------------------


def test_add_many_is_all_or_nothing(repos: Repositories, project: Project) -> None:
    images = make_images(project.id, 5)
    repos.images.add_many(images[:2])
    with pytest.raises(DuplicateRecord):
        repos.images.add_many(images[1:])
    assert len(repos.images.list(project.id).items) == 2
    with pytest.raises(ProjectNotFound):
        repos.images.add_many(make_images("missing", 1))
    with pytest.raises(InvalidParameter):
        repos.images.add_many(make_images(project.id, 1) + make_images(new_id(), 1))
    with pytest.raises(InvalidParameter):
        repos.images.add_many(make_images(project.id, 10_001))


def test_get_is_scoped_to_the_project(repos: Repositories, project: Project) -> None:
    other = Project.new("Other", owner_id="bob")
    repos.projects.create(other)
    [image] = make_images(project.id, 1)
    repos.images.add_many([image])
    assert repos.images.get(project.id, image.id) == image
    assert repos.images.get(other.id, image.id) is None
    assert repos.images.delete_many(other.id, [image.id]) == 0


def test_add_many_takes_ten_thousand_images_in_one_call(
    repos: Repositories, project: Project
) -> None:
    images = make_images(project.id, 10_000)
    repos.images.add_many(images)
    listed = all_pages(lambda cursor: repos.images.list(project.id, cursor=cursor, limit=1000))
    assert {image.id for image in listed} == {image.id for image in images}


@pytest.mark.parametrize("order", ["created", "-created", "name", "-name"])
def test_list_pages_over_every_image_once(
    repos: Repositories, project: Project, order: ImageOrder
) -> None:
    images = make_images(project.id, 2_500)
    random.Random(7).shuffle(images)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Few distinct timestamps, so ties on the sort key must be broken consistently.
    images = [
        replace(
            image,
            created_at=start + timedelta(seconds=i % 50),
            status=ImageStatus.READY if i % 5 == 0 else ImageStatus.UPLOADING,
        )
        for i, image in enumerate(images)
    ]
    repos.images.add_many(images)
    key = order.lstrip("-")

    def sort_key(image: Image) -> tuple[object, str]:
        return (image.created_at if key == "created" else image.name, image.id)

    listed = all_pages(lambda c: repos.images.list(project.id, cursor=c, limit=97, order=order))
    assert listed == sorted(images, key=sort_key, reverse=order.startswith("-"))
    ready = all_pages(
        lambda c: repos.images.list(
            project.id, status=ImageStatus.READY, cursor=c, limit=97, order=order
        )
    )
    assert len(ready) == len({image.id for image in ready}) == 500
    assert all(image.status is ImageStatus.READY for image in ready)


def test_conditional_status_update_has_one_winner(repos: Repositories, project: Project) -> None:
    [image] = make_images(project.id, 1)
    repos.images.add_many([image])
    facts: dict[str, Any] = {"width": 640, "height": 480, "channels": 1, "dtype": "uint16"}
    assert repos.images.update_status(
        image.id, {ImageStatus.UPLOADING}, ImageStatus.READY, thumbnail_key="thumbs/1", **facts
    )
    outcomes = race(
        8, lambda _: repos.images.update_status(image.id, {ImageStatus.READY}, ImageStatus.QUEUED)
    )
    assert sorted(outcomes, key=str) == [False] * 7 + [True]
    stored = repos.images.get(project.id, image.id)
    assert stored is not None
    assert (stored.status, stored.width, stored.dtype) == (ImageStatus.QUEUED, 640, "uint16")
    assert stored.thumbnail_key == "thumbs/1"
    assert repos.images.update_status(
        image.id, {ImageStatus.QUEUED}, ImageStatus.FAILED, reason="dead-lettered"
    )
    stored = repos.images.get(project.id, image.id)
    assert stored is not None and stored.reason == "dead-lettered"
    assert not repos.images.update_status("missing", {ImageStatus.READY}, ImageStatus.QUEUED)
    with pytest.raises(InvalidParameter):
        repos.images.update_status(image.id, {ImageStatus.REJECTED}, ImageStatus.READY)
    with pytest.raises(InvalidParameter):
        repos.images.update_status(image.id, {ImageStatus.FAILED}, ImageStatus.QUEUED, owner="x")


def test_stale_edit_gets_a_version_conflict(repos: Repositories, project: Project) -> None:
    [image] = make_images(project.id, 1)
    repos.images.add_many([image])
    for expected in range(3):
        assert (
            repos.images.add_version(image.id, expected, version_record()).version == expected + 1
        )
    outcomes = race(2, lambda i: repos.images.add_version(image.id, 3, version_record(count=i)))
    [saved] = [o for o in outcomes if isinstance(o, SegmentationVersion)]
    [conflict] = [o for o in outcomes if isinstance(o, SegmentationVersionConflict)]
    assert saved.version == 4
    assert conflict.current_version == 4
    assert conflict.as_dict()["code"] == "version_conflict"
    stored = repos.images.get(project.id, image.id)
    assert stored is not None
    assert (stored.latest_version, stored.object_count) == (4, saved.object_count)
    assert repos.images.get_version(image.id) == saved
    assert repos.images.get_version(image.id, 2) == repos.images.list_versions(image.id)[1]
    assert [v.version for v in repos.images.list_versions(image.id)] == [1, 2, 3, 4]
    assert repos.images.get_version(image.id, 9) is None
    with pytest.raises(ImageNotFound):
        repos.images.add_version("missing", 0, version_record())


def test_model_writes_are_idempotent_per_job(repos: Repositories, project: Project) -> None:
    [image] = make_images(project.id, 1)
    repos.images.add_many([image])
    repos.images.add_version(image.id, 0, version_record())
    outcomes = race(
        8, lambda _: repos.images.add_model_version_once(image.id, "job1", version_record("model"))
    )
    assert all(isinstance(o, SegmentationVersion) and o.version == 2 for o in outcomes)
    again = repos.images.add_model_version_once(image.id, "job1", version_record("model"))
    assert again.version == 2 and again.job_id == "job1"
    assert (
        repos.images.add_model_version_once(image.id, "job2", version_record("model")).version == 3
    )
    assert [v.job_id for v in repos.images.list_versions(image.id)] == [None, "job1", "job2"]


def test_delete_many_removes_images_and_versions(repos: Repositories, project: Project) -> None:
    images = make_images(project.id, 3)
    repos.images.add_many(images)
    repos.images.add_version(images[0].id, 0, version_record())
    assert repos.images.delete_many(project.id, [images[0].id, images[1].id, "missing"]) == 2
    assert [i.id for i in repos.images.list(project.id).items] == [images[2].id]
    assert repos.images.list_versions(images[0].id) == []
