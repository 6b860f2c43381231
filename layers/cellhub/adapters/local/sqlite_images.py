"""The images repository on one machine: images and segmentation versions in SQLite (see the port).

Listing is keyset-paged over the ``images_by_*`` indexes: each page starts after the sort key
of the previous page's last row, so page 100 costs what page 1 costs and nothing loads the
whole project. Conditional writes read and write inside one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import fields, replace
from typing import Any

from cellhub.adapters.local.sqlite_records import (
    SqliteMetadataRepository,
    decode_cursor,
    encode_cursor,
    time_from_text,
    time_to_text,
)
from cellhub.domain.images import (
    Image,
    ImageStatus,
    SegmentationVersion,
)
from cellhub.errors import (
    DuplicateRecord,
    ImageNotFound,
    InvalidParameter,
    SegmentationVersionConflict,
)
from cellhub.ports.images_repository import ImageOrder, check_batch, check_status_change
from cellhub.ports.projects_repository import DEFAULT_PAGE_LIMIT, Page, check_limit

# Columns in the dataclasses' field order, so rows convert by name.
_IMAGE_FIELDS = tuple(f.name for f in fields(Image))
_VERSION_FIELDS = tuple(f.name for f in fields(SegmentationVersion))
_IMAGE_COLUMNS = ", ".join(_IMAGE_FIELDS)
_VERSION_COLUMNS = ", ".join(_VERSION_FIELDS)
_SORT_COLUMN = {"created": "created_at", "name": "name"}
# SQLite's default limit on bound parameters is far above this, but keep IN lists modest.
_DELETE_CHUNK = 500


class SqliteImagesRepository(SqliteMetadataRepository):
    """An ``ImagesRepository`` in the SQLite file at ``path`` (or an open ``SqliteDatabase``)."""

    def add_many(self, images: Sequence[Image]) -> None:
        if not images:
            return
        project_id = check_batch(images)
        rows = [_image_to_row(image) for image in images]
        with self._db.transaction() as db:
            self._require_project(db, project_id)
            try:
                db.executemany(
                    f"INSERT INTO images_images ({_IMAGE_COLUMNS})"
                    f" VALUES ({', '.join('?' * len(_IMAGE_FIELDS))})",
                    rows,
                )
            except sqlite3.IntegrityError as error:
                raise DuplicateRecord("an image with one of these ids exists") from error

    def get(self, project_id: str, image_id: str) -> Image | None:
        row = (
            self._db.connection()
            .execute(
                f"SELECT {_IMAGE_COLUMNS} FROM images_images WHERE id = ? AND project_id = ?",
                (image_id, project_id),
            )
            .fetchone()
        )
        return None if row is None else _image_from_row(row)

    def list(
        self,
        project_id: str,
        *,
        status: ImageStatus | Collection[ImageStatus] | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE_LIMIT,
        order: ImageOrder = "created",
    ) -> Page[Image]:
        check_limit(limit)
        descending = order.startswith("-")
        key = order.lstrip("-")
        if key not in _SORT_COLUMN:
            raise InvalidParameter("unknown image order", order=order)
        column = _SORT_COLUMN[key]
        where = ["project_id = ?"]
        params: list[Any] = [project_id]
        if status is not None:
            statuses = [status] if isinstance(status, ImageStatus) else list(status)
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            params += [s.value for s in statuses]
        if cursor is not None:
            sort_value, last_id = decode_cursor(cursor, f"images:{order}")
            where.append(f"({column}, id) {'<' if descending else '>'} (?, ?)")
            params += [sort_value, last_id]
        direction = "DESC" if descending else "ASC"
        rows = (
            self._db.connection()
            .execute(
                f"SELECT {_IMAGE_COLUMNS} FROM images_images WHERE {' AND '.join(where)}"
                f" ORDER BY {column} {direction}, id {direction} LIMIT ?",
                (*params, limit + 1),
            )
            .fetchall()
        )
        images = [_image_from_row(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = images[-1]
            sort_value = time_to_text(last.created_at) if key == "created" else last.name
            next_cursor = encode_cursor(f"images:{order}", sort_value, last.id)
        return Page(items=images, next_cursor=next_cursor)

    def update_status(
        self,
        image_id: str,
        from_statuses: Collection[ImageStatus],
        to_status: ImageStatus,
        reason: str | None = None,
        **facts: Any,
    ) -> bool:
        check_status_change(from_statuses, to_status, facts)
        # Column names come from the IMAGE_FACTS whitelist, never from the caller.
        assignments = ", ".join(f"{name} = ?" for name in facts)
        statuses = [s.value for s in from_statuses]
        with self._db.transaction() as db:
            changed = db.execute(
                f"UPDATE images_images SET status = ?, reason = ?"
                f"{', ' + assignments if facts else ''}"
                f" WHERE id = ? AND status IN ({', '.join('?' * len(statuses))})",
                (to_status.value, reason, *facts.values(), image_id, *statuses),
            )
            return changed.rowcount == 1

    def delete_many(self, project_id: str, image_ids: Collection[str]) -> int:
        ids = list(image_ids)
        deleted = 0
        with self._db.transaction() as db:
            for start in range(0, len(ids), _DELETE_CHUNK):
                chunk = ids[start : start + _DELETE_CHUNK]
                deleted += db.execute(
                    f"DELETE FROM images_images WHERE project_id = ?"
                    f" AND id IN ({', '.join('?' * len(chunk))})",
                    (project_id, *chunk),
                ).rowcount
        return deleted

    def add_version(
        self, image_id: str, expected_latest: int, record: SegmentationVersion
    ) -> SegmentationVersion:
        with self._db.transaction() as db:
            latest = _locked_latest_version(db, image_id)
            if latest != expected_latest:
                raise SegmentationVersionConflict(
                    "the image was saved since this version was loaded",
                    current_version=latest,
                    image_id=image_id,
                )
            return _append_version(db, replace(record, image_id=image_id, version=latest + 1))

    def add_model_version_once(
        self, image_id: str, job_id: str, record: SegmentationVersion
    ) -> SegmentationVersion:
        with self._db.transaction() as db:
            row = db.execute(
                f"SELECT {_VERSION_COLUMNS} FROM images_versions WHERE image_id = ? AND job_id = ?",
                (image_id, job_id),
            ).fetchone()
            if row is not None:
                return _version_from_row(row)
            latest = _locked_latest_version(db, image_id)
            stored = replace(record, image_id=image_id, job_id=job_id, version=latest + 1)
            return _append_version(db, stored)

    def get_version(self, image_id: str, version: int | None = None) -> SegmentationVersion | None:
        db = self._db.connection()
        if version is None:
            row = db.execute(
                f"SELECT {_VERSION_COLUMNS} FROM images_versions WHERE image_id = ?"
                " ORDER BY version DESC LIMIT 1",
                (image_id,),
            ).fetchone()
        else:
            row = db.execute(
                f"SELECT {_VERSION_COLUMNS} FROM images_versions"
                " WHERE image_id = ? AND version = ?",
                (image_id, version),
            ).fetchone()
        return None if row is None else _version_from_row(row)

    def list_versions(self, image_id: str) -> builtins.list[SegmentationVersion]:
        rows = (
            self._db.connection()
            .execute(
                f"SELECT {_VERSION_COLUMNS} FROM images_versions WHERE image_id = ?"
                " ORDER BY version",
                (image_id,),
            )
            .fetchall()
        )
        return [_version_from_row(row) for row in rows]


def _locked_latest_version(db: sqlite3.Connection, image_id: str) -> int:
    row = db.execute(
        "SELECT latest_version FROM images_images WHERE id = ?", (image_id,)
    ).fetchone()
    if row is None:
        raise ImageNotFound("no such image", image_id=image_id)
    latest: int = row[0]
    return latest


def _append_version(db: sqlite3.Connection, record: SegmentationVersion) -> SegmentationVersion:
    values = {name: getattr(record, name) for name in _VERSION_FIELDS}
    values["created_at"] = time_to_text(record.created_at)
    db.execute(
        f"INSERT INTO images_versions ({_VERSION_COLUMNS}) VALUES ({', '.join('?' * len(values))})",
        tuple(values.values()),
    )
    db.execute(
        "UPDATE images_images SET latest_version = ?, object_count = ? WHERE id = ?",
        (record.version, record.object_count, record.image_id),
    )
    return record


def _image_to_row(image: Image) -> tuple[Any, ...]:
    values = {name: getattr(image, name) for name in _IMAGE_FIELDS}
    values["status"] = image.status.value
    values["created_at"] = time_to_text(image.created_at)
    return tuple(values.values())


def _image_from_row(row: tuple[Any, ...]) -> Image:
    values = dict(zip(_IMAGE_FIELDS, row, strict=True))
    values["status"] = ImageStatus(values["status"])
    values["created_at"] = time_from_text(values["created_at"])
    return Image(**values)


def _version_from_row(row: tuple[Any, ...]) -> SegmentationVersion:
    values = dict(zip(_VERSION_FIELDS, row, strict=True))
    values["created_at"] = time_from_text(values["created_at"])
    return SegmentationVersion(**values)
