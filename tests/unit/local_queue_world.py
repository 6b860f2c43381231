"""The local parts the worker tests share: a SQLite database with one project, a segment
queue with its dead-letter queue on a clock the test moves, and a folder blob store.

The queue gives up after ``max_receives`` deliveries, so dead-letter paths are reached in a
test by advancing ``clock[0]`` past the visibility timeout that many times.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.adapters.local.sqlite_queue import SqliteJobQueue
from cellhub.adapters.local.url_signing import UrlSigner
from cellhub.domain.projects import Project


@dataclass(frozen=True)
class LocalQueueWorld:
    database: SqliteDatabase
    project: Project
    # The queues' clock in seconds; tests advance ``clock[0]``.
    clock: list[float]
    queue: SqliteJobQueue
    dead: SqliteJobQueue
    blobs: FilesystemBlobStore


@contextmanager
def local_queue_world(root: Path, *, max_receives: int) -> Iterator[LocalQueueWorld]:
    """The parts under ``root``, closed again when the block ends."""
    database = SqliteDatabase(root / "meta.sqlite3")
    project = Project.new("Nuclei", owner_id="alice")
    SqliteProjectsRepository(database).create(project)
    clock = [1_000.0]
    dead = SqliteJobQueue(root / "q.sqlite3", "segment-dlq", clock=lambda: clock[0])
    queue = SqliteJobQueue(
        root / "q.sqlite3",
        "segment",
        max_receives=max_receives,
        dead_letter=dead,
        clock=lambda: clock[0],
    )
    blobs = FilesystemBlobStore(
        root / "blobs", base_url="http://127.0.0.1", signer=UrlSigner(b"k" * 32)
    )
    try:
        yield LocalQueueWorld(database, project, clock, queue, dead, blobs)
    finally:
        queue.close()
        dead.close()
        database.close()
