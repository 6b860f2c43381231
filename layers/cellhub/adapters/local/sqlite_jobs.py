"""The jobs repository on one machine: segmentation jobs and exports in SQLite (see the port).

An image's outcome is inserted into ``jobs_outcomes`` (primary key job, image) and the
counter is incremented in the same transaction only when the insert happened, so concurrent
workers never lose an increment and redeliveries never add one; state changes carry their
precondition in the ``WHERE``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from datetime import datetime
from typing import Any

from cellhub.adapters.local.sqlite_records import (
    SqliteMetadataRepository,
    optional_time_to_text,
    time_from_text,
    time_to_text,
)
from cellhub.domain.jobs import Export, ExportState, Job, JobCounts, JobState
from cellhub.errors import DuplicateRecord, InvalidParameter, JobNotFound
from cellhub.ports.jobs_repository import RecordedOutcome

_JOB_COLUMNS = (
    "id, project_id, kind, model, threshold, options, state, total, done, failed,"
    " created_by, created_at"
)
_EXPORT_COLUMNS = (
    "id, project_id, formats, image_ids, pixel_size_um, state, progress, blob_key, error,"
    " expires_at, created_by, created_at"
)


class SqliteJobsRepository(SqliteMetadataRepository):
    """A ``JobsRepository`` in the SQLite file at ``path`` (or an open ``SqliteDatabase``)."""

    def create_job(self, job: Job) -> None:
        self._insert(
            "jobs_jobs",
            _JOB_COLUMNS,
            job.project_id,
            (
                job.id,
                job.project_id,
                job.kind,
                job.model,
                job.threshold,
                json.dumps(job.options),
                job.state.value,
                job.counts.total,
                job.counts.done,
                job.counts.failed,
                job.created_by,
                time_to_text(job.created_at),
            ),
        )

    def get_job(self, project_id: str, job_id: str) -> Job | None:
        row = (
            self._db.connection()
            .execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs_jobs WHERE id = ? AND project_id = ?",
                (job_id, project_id),
            )
            .fetchone()
        )
        return None if row is None else _job_from_row(row)

    def record_outcome(
        self, job_id: str, image_id: str, *, failed: bool = False
    ) -> RecordedOutcome:
        with self._db.transaction() as db:
            inserted = db.execute(
                "INSERT INTO jobs_outcomes (job_id, image_id, failed) SELECT id, ?, ?"
                " FROM jobs_jobs WHERE id = ? ON CONFLICT (job_id, image_id) DO NOTHING",
                (image_id, int(failed), job_id),
            ).rowcount
            if inserted:
                column = "failed" if failed else "done"
                db.execute(f"UPDATE jobs_jobs SET {column} = {column} + 1 WHERE id = ?", (job_id,))
            row = db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs_jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                raise JobNotFound("no such job", job_id=job_id)
            return RecordedOutcome(_job_from_row(row), counted=bool(inserted))

    def set_job_state(
        self, job_id: str, from_states: Collection[JobState], to_state: JobState
    ) -> bool:
        return self._set_state("jobs_jobs", job_id, [s.value for s in from_states], to_state, {})

    def list_active_jobs(self, project_id: str) -> list[Job]:
        rows = (
            self._db.connection()
            .execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs_jobs WHERE project_id = ? AND state IN (?, ?)"
                " ORDER BY created_at, id",
                (project_id, JobState.QUEUED.value, JobState.RUNNING.value),
            )
            .fetchall()
        )
        return [_job_from_row(row) for row in rows]

    def create_export(self, export: Export) -> None:
        self._insert(
            "jobs_exports",
            _EXPORT_COLUMNS,
            export.project_id,
            (
                export.id,
                export.project_id,
                json.dumps(list(export.formats)),
                None if export.image_ids is None else json.dumps(list(export.image_ids)),
                export.pixel_size_um,
                export.state.value,
                export.progress,
                export.blob_key,
                export.error,
                optional_time_to_text(export.expires_at),
                export.created_by,
                time_to_text(export.created_at),
            ),
        )

    def get_export(self, project_id: str, export_id: str) -> Export | None:
        row = (
            self._db.connection()
            .execute(
                f"SELECT {_EXPORT_COLUMNS} FROM jobs_exports WHERE id = ? AND project_id = ?",
                (export_id, project_id),
            )
            .fetchone()
        )
        return None if row is None else _export_from_row(row)

    def set_export_progress(self, export_id: str, progress: float) -> bool:
        if not 0.0 <= progress <= 1.0:
            raise InvalidParameter("progress must be 0.0..1.0", progress=progress)
        with self._db.transaction() as db:
            changed = db.execute(
                "UPDATE jobs_exports SET progress = ? WHERE id = ? AND state = ?",
                (progress, export_id, ExportState.RUNNING.value),
            )
            return changed.rowcount == 1

    def set_export_state(
        self,
        export_id: str,
        from_states: Collection[ExportState],
        to_state: ExportState,
        *,
        blob_key: str | None = None,
        error: str | None = None,
        expires_at: datetime | None = None,
    ) -> bool:
        extra: dict[str, Any] = {}
        if blob_key is not None:
            extra["blob_key"] = blob_key
        if error is not None:
            extra["error"] = error
        if expires_at is not None:
            extra["expires_at"] = time_to_text(expires_at)
        if to_state is ExportState.DONE:
            extra["progress"] = 1.0
        states = [s.value for s in from_states]
        return self._set_state("jobs_exports", export_id, states, to_state, extra)

    def _insert(self, table: str, columns: str, project_id: str, row: tuple[Any, ...]) -> None:
        with self._db.transaction() as db:
            self._require_project(db, project_id)
            try:
                db.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", row
                )
            except sqlite3.IntegrityError as error:
                raise DuplicateRecord("a record with this id exists", id=row[0]) from error

    def _set_state(
        self,
        table: str,
        record_id: str,
        from_states: list[str],
        to_state: JobState | ExportState,
        extra: dict[str, Any],
    ) -> bool:
        if not from_states:
            raise InvalidParameter("from_states must not be empty")
        # Table and column names are fixed in this module, never taken from callers.
        assignments = "".join(f", {name} = ?" for name in extra)
        with self._db.transaction() as db:
            changed = db.execute(
                f"UPDATE {table} SET state = ?{assignments}"
                f" WHERE id = ? AND state IN ({', '.join('?' * len(from_states))})",
                (to_state.value, *extra.values(), record_id, *from_states),
            )
            return changed.rowcount == 1


def _job_from_row(row: tuple[Any, ...]) -> Job:
    job_id, project_id, kind, model, threshold, options, state = row[:7]
    total, done, failed, created_by, created_at = row[7:]
    return Job(
        id=job_id,
        project_id=project_id,
        kind=kind,
        model=model,
        threshold=threshold,
        options=json.loads(options),
        state=JobState(state),
        counts=JobCounts(total=total, done=done, failed=failed),
        created_by=created_by,
        created_at=time_from_text(created_at),
    )


def _export_from_row(row: tuple[Any, ...]) -> Export:
    export_id, project_id, formats, image_ids, pixel_size_um, state, progress = row[:7]
    blob_key, error, expires_at, created_by, created_at = row[7:]
    return Export(
        id=export_id,
        project_id=project_id,
        formats=tuple(json.loads(formats)),
        image_ids=None if image_ids is None else tuple(json.loads(image_ids)),
        pixel_size_um=pixel_size_um,
        state=ExportState(state),
        progress=progress,
        blob_key=blob_key,
        error=error,
        expires_at=None if expires_at is None else time_from_text(expires_at),
        created_by=created_by,
        created_at=time_from_text(created_at),
    )
