"""Listing a 10,000-image project page by page: the DynamoDB images adapter beside SQLite.

Each run follows ``next_cursor`` from the first page to the last, as the gallery does when a
user scrolls through the whole project, and reports items per second (median of 3 runs on
SQLite; one run on moto, whose Query takes seconds per page at this size).
The DynamoDB adapter runs against moto (``mock_aws``, in this process), so its numbers are
**relative only**: moto answers each Query in Python in a few milliseconds, where DynamoDB
answers in a few milliseconds over the network and returns at most 1 MB per Query. What
the bench does show: the adapter pages with a bounded number of items in memory and its
cost per page, beside the local adapter's on the same data. The DynamoDB items are written
with ``batch_writer`` in the adapter's own item shape (``image_to_item``): moto copies the
table for every transaction, so seeding 10,000 images through ``add_many``'s transactions
would take over an hour there.

Run from the repository root: ``.venv/bin/python bench/bench_dynamodb.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "layers"), str(_ROOT)]
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(_name, _value)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench.table import print_table  # noqa: E402
from cellhub.adapters.aws.dynamodb_image_items import image_to_item  # noqa: E402
from cellhub.adapters.aws.dynamodb_images import DynamoImagesRepository  # noqa: E402
from cellhub.adapters.aws.dynamodb_projects import DynamoProjectsRepository  # noqa: E402
from cellhub.adapters.aws.dynamodb_table import create_hub_table  # noqa: E402
from cellhub.adapters.local.sqlite_database import SqliteDatabase  # noqa: E402
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository  # noqa: E402
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository  # noqa: E402
from cellhub.domain.images import Image  # noqa: E402
from cellhub.domain.projects import Project  # noqa: E402
from cellhub.ports.images_repository import ImagesRepository  # noqa: E402
from cellhub.ports.projects_repository import ProjectsRepository  # noqa: E402

IMAGES = 10_000
PAGE_SIZES = (100, 1000)
RUNS = 3
MOTO_RUNS = 1


def seeded(projects: ProjectsRepository, add: Callable[[list[Image]], None]) -> str:
    """A project with ``IMAGES`` images written by ``add``; returns its id."""
    project = Project.new("listed", "u-bench")
    projects.create(project)
    add([
        Image.new(project.id, f"img{i:05d}.png", size=1000, content_type="image/png",
                  blob_key=f"projects/{project.id}/originals/{i}")
        for i in range(IMAGES)
    ])  # fmt: skip
    return project.id


def list_all(images: ImagesRepository, project_id: str, limit: int) -> tuple[int, int, int]:
    """Follow the cursor to the end: ``(items, pages, largest page)``."""
    items = pages = largest = 0
    cursor: str | None = None
    while True:
        page = images.list(project_id, cursor=cursor, limit=limit)
        items, pages = items + len(page.items), pages + 1
        largest = max(largest, len(page.items))
        cursor = page.next_cursor
        if cursor is None:
            return items, pages, largest


def measure(name: str, images: ImagesRepository, project_id: str, runs: int) -> list[Any]:
    rows = []
    for limit in PAGE_SIZES:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            items, pages, largest = list_all(images, project_id, limit)
            times.append(time.perf_counter() - start)
            if items != IMAGES or largest > limit:
                raise SystemExit(f"{name}: listed {items} of {IMAGES}, a page of {largest}")
        median = statistics.median(times)
        print(f"{name}, pages of {limit}: {median:.2f} s", file=sys.stderr, flush=True)
        rows.append([name, limit, pages, f"{median:.2f}", f"{IMAGES / median:,.0f}",
                     f"{median / pages * 1000:.1f}"])  # fmt: skip
    return rows


def on_sqlite(directory: Path) -> list[Any]:
    database = SqliteDatabase(directory / "hub.sqlite3")
    images = SqliteImagesRepository(database)
    project_id = seeded(SqliteProjectsRepository(database), images.add_many)
    return measure("SQLite (local file, WAL)", images, project_id, RUNS)


def on_moto() -> list[Any]:
    with mock_aws():
        table = create_hub_table(boto3.resource("dynamodb"), "hub")

        def add(batch: list[Image]) -> None:
            with table.batch_writer() as writer:
                for image in batch:
                    writer.put_item(Item=image_to_item(image))

        project_id = seeded(DynamoProjectsRepository(table), add)
        images = DynamoImagesRepository(table)
        return measure("DynamoDB on moto (relative only)", images, project_id, MOTO_RUNS)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        rows = on_sqlite(Path(tmp)) + on_moto()
    print_table(
        f"Listing a {IMAGES:,}-image project page by page",
        ["adapter", "page size", "pages", "s", "items/s", "ms/page"],
        rows,
    )
    print("\nmoto runs DynamoDB in this Python process: compare the adapters' relative cost, "
          "not absolute numbers, with AWS.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
