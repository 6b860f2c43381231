"""Segmentation jobs and exports: long-running work that a queue handler advances.

Both are written once by the API and then moved forward by at-least-once handlers, so every
change goes through a conditional repository call (see ``cellhub.ports.jobs_repository``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from cellhub.domain.projects import new_id, utc_now

# ``segment``: counts are images. ``finetune`` and ``import_model`` (see
# ``cellhub.ports.model_jobs``): counts are progress units (epochs, evaluations).
JobKind = Literal["segment", "finetune", "import_model"]


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True, slots=True)
class JobCounts:
    """Images in the job, and how many of them have finished either way."""

    total: int
    done: int = 0
    failed: int = 0

    @property
    def finished(self) -> bool:
        return self.done + self.failed >= self.total


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    project_id: str
    model: str
    threshold: float
    counts: JobCounts
    created_by: str
    kind: JobKind = "segment"
    options: dict[str, Any] = field(default_factory=dict)
    state: JobState = JobState.QUEUED
    created_at: datetime = field(default_factory=utc_now)

    @classmethod
    def new(
        cls,
        project_id: str,
        *,
        model: str,
        threshold: float,
        total: int,
        created_by: str,
        options: dict[str, Any] | None = None,
        kind: JobKind = "segment",
    ) -> Job:
        return cls(
            id=new_id(),
            project_id=project_id,
            model=model,
            threshold=threshold,
            counts=JobCounts(total=total),
            created_by=created_by,
            kind=kind,
            options=dict(options or {}),
        )


class ExportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Export:
    """A requested export ZIP. ``image_ids`` None means every image of the project.

    ``progress`` runs from 0.0 to 1.0; ``blob_key`` and ``expires_at`` are set when done,
    ``error`` when failed.
    """

    id: str
    project_id: str
    formats: tuple[str, ...]
    created_by: str
    image_ids: tuple[str, ...] | None = None
    pixel_size_um: float | None = None
    state: ExportState = ExportState.QUEUED
    progress: float = 0.0
    blob_key: str | None = None
    error: str | None = None
    expires_at: datetime | None = None
    created_at: datetime = field(default_factory=utc_now)

    @classmethod
    def new(
        cls,
        project_id: str,
        formats: tuple[str, ...],
        *,
        created_by: str,
        image_ids: tuple[str, ...] | None = None,
        pixel_size_um: float | None = None,
    ) -> Export:
        return cls(
            id=new_id(),
            project_id=project_id,
            formats=formats,
            created_by=created_by,
            image_ids=image_ids,
            pixel_size_um=pixel_size_um,
        )
