"""Shared set-up of the metadata contract suites (projects, images, jobs/exports).

To add an adapter (DynamoDB on moto), write a factory beside ``sqlite_repositories`` and list
it in ``FACTORIES``; every metadata contract test then runs against it too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_jobs import SqliteJobsRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.domain.images import Image, SegmentationVersion, VersionSource
from cellhub.domain.projects import Project, new_id
from cellhub.ports.images_repository import ImagesRepository
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
