"""Tables and value encodings shared by the SQLite projects, images and jobs repositories.

The three repositories keep their tables in one database file so that deleting a project
cascades through foreign keys (``ON DELETE CASCADE``) to members, images, versions, jobs and
exports in one transaction. Each repository applies the whole schema; it is idempotent.

Datetimes are stored as fixed-width ISO 8601 UTC text, so text order is time order and the
keyset pagination below can compare them directly.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.errors import InvalidParameter, ProjectNotFound

SCHEMA = """
CREATE TABLE IF NOT EXISTS projects_projects (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, name_folded TEXT NOT NULL,
    owner_id TEXT NOT NULL, created_at TEXT NOT NULL, settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS projects_members (
    project_id TEXT NOT NULL REFERENCES projects_projects (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (project_id, user_id)
);
CREATE INDEX IF NOT EXISTS projects_members_by_user ON projects_members (user_id, project_id);
CREATE TABLE IF NOT EXISTS images_images (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects_projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL, size INTEGER NOT NULL, content_type TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT, width INTEGER, height INTEGER, channels INTEGER,
    dtype TEXT, blob_key TEXT NOT NULL, thumbnail_key TEXT, created_at TEXT NOT NULL,
    latest_version INTEGER NOT NULL DEFAULT 0, object_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS images_by_created ON images_images (project_id, created_at, id);
CREATE INDEX IF NOT EXISTS images_by_name ON images_images (project_id, name, id);
CREATE INDEX IF NOT EXISTS images_by_status_created
    ON images_images (project_id, status, created_at, id);
CREATE INDEX IF NOT EXISTS images_by_status_name ON images_images (project_id, status, name, id);
CREATE TABLE IF NOT EXISTS images_versions (
    image_id TEXT NOT NULL REFERENCES images_images (id) ON DELETE CASCADE,
    version INTEGER NOT NULL, blob_key TEXT NOT NULL, object_count INTEGER NOT NULL,
    model TEXT NOT NULL, threshold REAL, source TEXT NOT NULL, job_id TEXT,
    created_by TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (image_id, version)
);
-- One model result per (job, image): the guard that makes redelivered messages harmless.
CREATE UNIQUE INDEX IF NOT EXISTS images_versions_once_per_job
    ON images_versions (image_id, job_id) WHERE job_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS jobs_jobs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects_projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL, model TEXT NOT NULL, threshold REAL NOT NULL, options TEXT NOT NULL,
    state TEXT NOT NULL, total INTEGER NOT NULL, done INTEGER NOT NULL,
    failed INTEGER NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs_jobs (project_id, state, created_at, id);
-- One counted outcome per (job, image): a redelivered message never counts an image twice.
CREATE TABLE IF NOT EXISTS jobs_outcomes (
    job_id TEXT NOT NULL REFERENCES jobs_jobs (id) ON DELETE CASCADE,
    image_id TEXT NOT NULL, failed INTEGER NOT NULL,
    PRIMARY KEY (job_id, image_id)
);
CREATE TABLE IF NOT EXISTS jobs_exports (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects_projects (id) ON DELETE CASCADE,
    formats TEXT NOT NULL, image_ids TEXT, pixel_size_um REAL, state TEXT NOT NULL,
    progress REAL NOT NULL, blob_key TEXT, error TEXT, expires_at TEXT,
    created_by TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_exports_by_project ON jobs_exports (project_id, created_at);
"""


def time_to_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise InvalidParameter("datetimes must be timezone-aware", value=str(moment))
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def time_from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def optional_time_to_text(moment: datetime | None) -> str | None:
    return None if moment is None else time_to_text(moment)


def encode_cursor(kind: str, sort_value: Any, record_id: str) -> str:
    """An opaque cursor naming the last row of a page by its sort key, for keyset paging."""
    raw = json.dumps([kind, sort_value, record_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> tuple[Any, str]:
    """The ``(sort_value, record_id)`` of ``encode_cursor``; ``InvalidParameter`` if foreign."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_kind, sort_value, record_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidParameter("malformed page cursor", cursor=cursor) from error
    if cursor_kind != kind or not isinstance(record_id, str):
        raise InvalidParameter("page cursor belongs to another listing", cursor=cursor)
    return sort_value, record_id


class SqliteMetadataRepository:
    """Base of the metadata repositories: one shared database file, tables made on open."""

    def __init__(self, database: SqliteDatabase | Path | str) -> None:
        self._db = database if isinstance(database, SqliteDatabase) else SqliteDatabase(database)
        self._db.apply_schema(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def _require_project(db: sqlite3.Connection, project_id: str) -> None:
        """Inside a write transaction: refuse writes that would hang off a missing project."""
        if db.execute("SELECT 1 FROM projects_projects WHERE id = ?", (project_id,)).fetchone():
            return
        raise ProjectNotFound("no such project", project_id=project_id)
