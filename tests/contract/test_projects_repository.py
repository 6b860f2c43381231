"""The metadata contract: every projects / images / jobs repository adapter keeps these rules.

To add an adapter (DynamoDB on moto), write a factory beside ``sqlite_repositories`` and list
it in ``FACTORIES``; every test then runs against it too.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_jobs import SqliteJobsRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.domain.images import Image, ImageStatus, SegmentationVersion, VersionSource
from cellhub.domain.jobs import Export, ExportState, Job, JobState
from cellhub.domain.projects import Member, Project, ProjectSettings, Role, new_id
from cellhub.errors import (
    DuplicateRecord,
    ImageNotFound,
    InvalidParameter,
    LastOwnerRequired,
    MemberNotFound,
    ProjectNotFound,
    SegmentationVersionConflict,
)
from cellhub.ports.images_repository import ImageOrder, ImagesRepository
from cellhub.ports.jobs_repository import JobsRepository
from cellhub.ports.projects_repository import Page, ProjectsRepository

T = TypeVar("T")


@dataclass
class Repositories:
    projects: ProjectsRepository
    images: ImagesRepository
    jobs: JobsRepository


def sqlite_repositories(tmp_path: Path) -> Iterator[Repositories]:
    database = SqliteDatabase(tmp_path / "metadata.sqlite3")
    yield Repositories(
        projects=SqliteProjectsRepository(database),
        images=SqliteImagesRepository(database),
        jobs=SqliteJobsRepository(database),
    )
    database.close()


FACTORIES: dict[str, Callable[[Path], Iterator[Repositories]]] = {"sqlite": sqlite_repositories}


@pytest.fixture(params=sorted(FACTORIES))
def repos(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Repositories]:
    yield from FACTORIES[request.param](tmp_path)


@pytest.fixture
def project(repos: Repositories) -> Project:
    created = Project.new("Spheroids 2026", owner_id="alice")
    repos.projects.create(created)
    return created


def make_images(project_id: str, count: int) -> list[Image]:
    return [
        Image.new(
            project_id,
            f"img_{i:05d}.tif",
            size=1000,
            content_type="image/tiff",
            blob_key=f"originals/{project_id}/{i}",
        )
        for i in range(count)
    ]


def version_record(source: VersionSource = "manual", count: int = 3) -> SegmentationVersion:
    return SegmentationVersion(
        image_id="",
        version=0,
        blob_key=f"segmentations/{new_id()}.json.gz",
        object_count=count,
        model="classical",
        threshold=0.5,
        source=source,
        job_id=None,
        created_by="alice",
    )


def all_pages(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        items += page.items
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def race(count: int, attempt: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``attempt(i)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list[T | BaseException] = [RuntimeError("not run")] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = attempt(i)
        except BaseException as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- projects and members ---------------------------------------------------------------


def test_project_crud(repos: Repositories, project: Project) -> None:
    assert repos.projects.get(project.id) == project
    assert repos.projects.get_role(project.id, "alice") is Role.OWNER
    settings = ProjectSettings("unet", 0.4, 0.325, ("nucleus", "cell"))
    updated = repos.projects.update(project.id, name="Organoids", settings=settings)
    assert updated == replace(project, name="Organoids", settings=settings)
    assert repos.projects.get(project.id) == updated
    assert repos.projects.get("missing") is None
    with pytest.raises(ProjectNotFound):
        repos.projects.update("missing", name="x")
    with pytest.raises(DuplicateRecord):
        repos.projects.create(project)


def test_list_for_user_pages_searches_and_scopes(repos: Repositories) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    names = ["Alpha", "beta", "ALPHABET", "gamma", "Delta", "alp", "epsilon"]
    mine = [
        Project(new_id(), name, "alice", created_at=start + timedelta(minutes=i % 3))
        for i, name in enumerate(names)
    ]
    for created in mine:
        repos.projects.create(created)
    repos.projects.create(Project.new("Alpha of bob", "bob"))
    expected = sorted(mine, key=lambda p: (p.created_at, p.id))

    listed = all_pages(lambda c: repos.projects.list_for_user("alice", cursor=c, limit=3))
    assert listed == expected
    found = all_pages(
        lambda c: repos.projects.list_for_user("alice", search="ALP", cursor=c, limit=2)
    )
    assert sorted(p.name for p in found) == ["ALPHABET", "Alpha", "alp"]
    assert repos.projects.list_for_user("alice", search="%").items == []
    assert [p.name for p in repos.projects.list_for_user("bob").items] == ["Alpha of bob"]
    repos.projects.add_member(Member(mine[0].id, "bob", Role.VIEWER))
    assert len(repos.projects.list_for_user("bob").items) == 2
    with pytest.raises(InvalidParameter):
        repos.projects.list_for_user("alice", cursor="not-a-cursor")
    with pytest.raises(InvalidParameter):
        repos.projects.list_for_user("alice", limit=0)


def test_roles_and_last_owner_protection(repos: Repositories, project: Project) -> None:
    assert Role.OWNER.can_manage and Role.OWNER.can_edit
    assert Role.EDITOR.can_edit and not Role.EDITOR.can_manage
    assert not Role.VIEWER.can_edit
    repos.projects.add_member(Member(project.id, "carol", Role.VIEWER))
    repos.projects.add_member(Member(project.id, "bob", Role.EDITOR))
    with pytest.raises(DuplicateRecord):
        repos.projects.add_member(Member(project.id, "bob", Role.VIEWER))
    with pytest.raises(ProjectNotFound):
        repos.projects.add_member(Member("missing", "bob", Role.VIEWER))
    assert [(m.user_id, m.role) for m in repos.projects.list_members(project.id)] == [
        ("alice", Role.OWNER),
        ("bob", Role.EDITOR),
        ("carol", Role.VIEWER),
    ]
    assert repos.projects.get_role(project.id, "dave") is None
    with pytest.raises(LastOwnerRequired):
        repos.projects.remove_member(project.id, "alice")
    with pytest.raises(LastOwnerRequired):
        repos.projects.change_role(project.id, "alice", Role.EDITOR)
    repos.projects.change_role(project.id, "bob", Role.OWNER)
    repos.projects.change_role(project.id, "alice", Role.VIEWER)
    with pytest.raises(LastOwnerRequired):
        repos.projects.remove_member(project.id, "bob")
    repos.projects.remove_member(project.id, "carol")
    assert repos.projects.get_role(project.id, "carol") is None
    with pytest.raises(MemberNotFound):
        repos.projects.remove_member(project.id, "carol")


def test_two_owners_demoting_each_other_leave_one(repos: Repositories, project: Project) -> None:
    repos.projects.add_member(Member(project.id, "bob", Role.OWNER))
    outcomes = race(
        2, lambda i: repos.projects.change_role(project.id, ("alice", "bob")[i], Role.EDITOR)
    )
    assert sum(isinstance(o, LastOwnerRequired) for o in outcomes) == 1
    roles = [m.role for m in repos.projects.list_members(project.id)]
    assert sorted(roles) == sorted([Role.OWNER, Role.EDITOR])


def test_delete_cascades_to_everything(repos: Repositories, project: Project) -> None:
    repos.projects.add_member(Member(project.id, "bob", Role.EDITOR))
    images = make_images(project.id, 20)
    repos.images.add_many(images)
    repos.images.add_version(images[0].id, 0, version_record())
    job = Job.new(project.id, model="unet", threshold=0.5, total=20, created_by="alice")
    repos.jobs.create_job(job)
    export = Export.new(project.id, ("coco",), created_by="alice")
    repos.jobs.create_export(export)

    repos.projects.delete(project.id)
    assert repos.projects.get(project.id) is None
    assert repos.projects.get_role(project.id, "bob") is None
    assert repos.projects.list_for_user("alice").items == []
    assert repos.images.get(project.id, images[0].id) is None
    assert repos.images.list_versions(images[0].id) == []
    assert repos.jobs.get_job(project.id, job.id) is None
    assert repos.jobs.get_export(project.id, export.id) is None
    with pytest.raises(ProjectNotFound):
        repos.projects.delete(project.id)


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


def test_add_many_of_ten_thousand_images_is_fast(repos: Repositories, project: Project) -> None:
    images = make_images(project.id, 10_000)
    started = time.perf_counter()
    repos.images.add_many(images)
    assert time.perf_counter() - started < 2.0
    assert repos.images.list(project.id, limit=1).next_cursor is not None


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


# --- jobs and exports -------------------------------------------------------------------


def test_job_counters_are_exact_under_concurrency(repos: Repositories, project: Project) -> None:
    job = Job.new(project.id, model="unet", threshold=0.5, total=400, created_by="alice")
    repos.jobs.create_job(job)

    def work(i: int) -> None:
        for _ in range(50):
            repos.jobs.record_progress(job.id, done=i % 2, failed=1 - i % 2)

    assert race(8, work) == [None] * 8
    stored = repos.jobs.get_job(project.id, job.id)
    assert stored is not None
    assert (stored.counts.done, stored.counts.failed) == (200, 200)
    assert stored.counts.finished


def test_job_state_changes_are_conditional(repos: Repositories, project: Project) -> None:
    first = Job.new(project.id, model="unet", threshold=0.5, total=2, created_by="alice")
    second = replace(
        Job.new(project.id, model="hrnet", threshold=0.3, total=1, created_by="bob"),
        options={"tile": 512},
        created_at=first.created_at + timedelta(seconds=1),
    )
    repos.jobs.create_job(first)
    repos.jobs.create_job(second)
    assert repos.jobs.get_job(project.id, second.id) == second
    assert repos.jobs.get_job("other", second.id) is None
    with pytest.raises(DuplicateRecord):
        repos.jobs.create_job(first)
    assert repos.jobs.set_job_state(first.id, {JobState.QUEUED}, JobState.RUNNING)
    assert not repos.jobs.set_job_state(first.id, {JobState.QUEUED}, JobState.RUNNING)
    assert [j.id for j in repos.jobs.list_active_jobs(project.id)] == [first.id, second.id]
    assert repos.jobs.set_job_state(
        second.id, {JobState.QUEUED, JobState.RUNNING}, JobState.CANCELLED
    )
    assert [j.id for j in repos.jobs.list_active_jobs(project.id)] == [first.id]
    assert repos.jobs.record_progress(first.id, done=2).counts.finished


def test_export_progress_and_completion(repos: Repositories, project: Project) -> None:
    export = Export.new(
        project.id, ("coco", "csv"), created_by="alice", image_ids=("a", "b"), pixel_size_um=0.65
    )
    repos.jobs.create_export(export)
    assert repos.jobs.get_export(project.id, export.id) == export
    assert not repos.jobs.set_export_progress(export.id, 0.5)
    assert repos.jobs.set_export_state(export.id, {ExportState.QUEUED}, ExportState.RUNNING)
    assert repos.jobs.set_export_progress(export.id, 0.5)
    expires = datetime(2026, 2, 1, tzinfo=UTC)
    assert repos.jobs.set_export_state(
        export.id,
        {ExportState.RUNNING},
        ExportState.DONE,
        blob_key="exports/x.zip",
        expires_at=expires,
    )
    done = repos.jobs.get_export(project.id, export.id)
    assert done == replace(
        export, state=ExportState.DONE, progress=1.0, blob_key="exports/x.zip", expires_at=expires
    )
    cancelled = Export.new(project.id, ("yolo",), created_by="alice")
    repos.jobs.create_export(cancelled)
    assert repos.jobs.set_export_state(cancelled.id, {ExportState.QUEUED}, ExportState.CANCELLED)
    assert not repos.jobs.set_export_progress(cancelled.id, 0.1)
    assert not repos.jobs.set_export_state(cancelled.id, {ExportState.RUNNING}, ExportState.DONE)
