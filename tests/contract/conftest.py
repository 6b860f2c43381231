"""Shared set-up of the metadata contract suites (projects, images, jobs/exports).

Every metadata contract test runs against each factory in ``FACTORIES``: the SQLite
adapters, and the DynamoDB adapters on a fresh moto table (``moto_hub_table``, shared with
the accounts suite). To add an adapter, write a factory beside these and list it there.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber
from moto.dynamodb import models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.responses import DynamoResult

from cellhub.adapters.aws.dynamodb_images import DynamoImagesRepository
from cellhub.adapters.aws.dynamodb_jobs import DynamoJobsRepository
from cellhub.adapters.aws.dynamodb_projects import DynamoProjectsRepository
from cellhub.adapters.aws.dynamodb_table import create_hub_table
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


# Fake credentials and a fixed region, so nothing can reach a real account.
MOTO_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_MOTO_DYNAMODB_LOCK = threading.Lock()


@contextmanager
def _moto_serves_one_dynamodb_request_at_a_time() -> Iterator[None]:
    """Give moto the per-request atomicity of the real service.

    DynamoDB evaluates a condition and applies its write (or a whole transaction) as one
    step; moto runs requests in the callers' threads with no lock, so a thread switch
    between its check and its write would let two racing requests both win. Holding one
    lock per request restores what the contract's race tests rely on.
    """
    original = BotocoreStubber.__call__

    def serialised(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        if ".dynamodb." not in event_name:
            return original(self, event_name, request, **kwargs)
        with _MOTO_DYNAMODB_LOCK:
            return original(self, event_name, request, **kwargs)

    with mock.patch.object(BotocoreStubber, "__call__", serialised):
        yield


@contextmanager
def _moto_transactions_back_up_only_their_items() -> Iterator[None]:
    """Keep moto's all-or-nothing transactions, without copying the table for each.

    moto backs up a transaction by deep-copying the whole table once per action, which
    makes a 99-image batch into a 10,000-image table take minutes. This backs up just the
    items the transaction names and puts them back if it is cancelled: the same outcome.
    """
    original = models.DynamoDBBackend.transact_write_items

    def only_whole_table_copies_skipped(value: Any) -> Any:
        return value if isinstance(value, models.Table) else copy.deepcopy(value)

    def transact(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = []
        for action in transact_items:
            operation = next(iter(action.values()))
            table = self.tables.get(operation.get("TableName"))
            if table is None:
                continue
            key = operation.get("Key") or operation["Item"]
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr])
            stored = table.items.get(hash_value, {}).get(range_value)
            backups.append((table, hash_value, range_value, copy.deepcopy(stored)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, stored in reversed(backups):
                if stored is None:
                    table.items[hash_value].pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = stored
            raise

    copier = SimpleNamespace(deepcopy=only_whole_table_copies_skipped)
    with (
        mock.patch.object(models, "copy", copier),
        mock.patch.object(models.DynamoDBBackend, "transact_write_items", transact),
    ):
        yield


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


@contextmanager
def _moto_fast_paths() -> Iterator[None]:
    """Two shortcuts that change no result: moto compares strings and writes JSON faster.

    moto resolves every key comparison of its query sort through a chain of type checks
    and serialises each reply by walking the API model, which together make listing a
    10,000-image project take most of a minute. Strings compare as themselves, and a reply
    of plain JSON data (every query, get and write reply here) is dumped directly; anything
    else takes moto's own path.
    """
    cast_value = DynamoType.cast_value
    execute_result = DynamoResult.execute_result

    def fast_cast_value(self: DynamoType) -> Any:
        return self.value if self.type == "S" else cast_value.fget(self)  # type: ignore[attr-defined]

    def fast_execute_result(self: DynamoResult, context: Any) -> Any:
        try:
            body = json.dumps(self.result, default=_refuse)
        except TypeError:
            return execute_result(self, context)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    with (
        mock.patch.object(DynamoType, "cast_value", property(fast_cast_value)),
        mock.patch.object(DynamoResult, "execute_result", fast_execute_result),
    ):
        yield


@contextmanager
def moto_hub_table() -> Iterator[Any]:
    """A fresh hub table on moto (boto3 ``Table`` resource), gone when the block ends."""
    with (
        mock.patch.dict(os.environ, MOTO_ENVIRONMENT),
        mock_aws(),
        _moto_serves_one_dynamodb_request_at_a_time(),
        _moto_transactions_back_up_only_their_items(),
        _moto_fast_paths(),
    ):
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        yield create_hub_table(resource, "cellhub-test")


def dynamodb_repositories(tmp_path: Path) -> Iterator[Repositories]:
    with moto_hub_table() as table:
        yield Repositories(
            projects=DynamoProjectsRepository(table),
            images=DynamoImagesRepository(table),
            jobs=DynamoJobsRepository(table),
        )


FACTORIES: dict[str, Callable[[Path], Iterator[Repositories]]] = {
    "sqlite": sqlite_repositories,
    "dynamodb": dynamodb_repositories,
}


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
