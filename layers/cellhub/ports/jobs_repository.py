"""The jobs repository port: segmentation jobs and exports, advanced by queue handlers.

Counters and states change through conditional, atomic calls because several workers finish
images of one job at the same moment and every handler may run twice. DynamoDB mapping
(the item table is in ``cellhub.adapters.aws.dynamodb_table``): a job is its own partition
``JOB#id`` with one outcome item per counted image; an export is ``EXPORT#id``:

- ``record_outcome``: ``TransactWriteItems`` of a ``Put`` of the outcome item
  [``JOB#id``/``IMAGE#image``] with ``attribute_not_exists(pk)`` and an ``Update ... ADD
  done :one`` of the job item; a cancelled transaction on that condition means the image was
  counted already, and the job is read back. The count is idempotent per (job, image), so a
  crash between an image's status change and its count is repaired by the redelivery.
- ``set_job_state`` / ``set_export_state``: ``UpdateItem`` with ``#state IN (:from...)``;
  a failed condition returns False.
- ``set_export_progress``: ``UpdateItem`` with ``#state = :running``, so a cancelled export
  learns of it on its next progress write.
- jobs by state: a sparse GSI3 [``PROJECT#p#ACTIVE_JOBS``/``created#id``] that only active jobs
  carry; the key attribute is removed when the job ends.

An export's ``image_ids`` can list 10,000 ids (~350 KB); the DynamoDB adapter keeps long
selections in chunk items (``IDS#n``) of the export's partition rather than in its item.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple, Protocol

from cellhub.domain.jobs import Export, ExportState, Job, JobState


class RecordedOutcome(NamedTuple):
    """The job after ``record_outcome``, and whether this call was the one that counted."""

    job: Job
    counted: bool


class JobsRepository(Protocol):
    """Jobs and exports. Safe to call from several threads and processes at once."""

    def create_job(self, job: Job) -> None:
        """Raise ``ProjectNotFound`` for a missing project, ``DuplicateRecord`` for a used id."""
        ...

    def get_job(self, project_id: str, job_id: str) -> Job | None:
        """The job, or None when it does not exist *in this project*."""
        ...

    def record_outcome(
        self, job_id: str, image_id: str, *, failed: bool = False
    ) -> RecordedOutcome:
        """Count the image as done (or failed) once per (job, image).

        Calling it again for the same image changes nothing, whatever ``failed`` says: the
        first outcome counted stands. Raise ``JobNotFound`` for a missing job.
        """
        ...

    def set_job_state(
        self, job_id: str, from_states: Collection[JobState], to_state: JobState
    ) -> bool:
        """Move the job to ``to_state`` only if its state is one of ``from_states``."""
        ...

    def list_active_jobs(self, project_id: str) -> list[Job]:
        """Queued and running jobs of the project, oldest first."""
        ...

    def create_export(self, export: Export) -> None:
        """Raise ``ProjectNotFound`` for a missing project, ``DuplicateRecord`` for a used id."""
        ...

    def get_export(self, project_id: str, export_id: str) -> Export | None:
        """The export, or None when it does not exist *in this project*."""
        ...

    def set_export_progress(self, export_id: str, progress: float) -> bool:
        """Record progress (0.0..1.0) of a running export; False when it is not running."""
        ...

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
        """Move the export to ``to_state`` only if its state is one of ``from_states``.

        The given ``blob_key`` / ``error`` / ``expires_at`` are stored with the change;
        ``to_state`` DONE also sets progress to 1.0.
        """
        ...
