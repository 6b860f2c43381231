"""Request and response bodies for segmentation jobs (``/segmentations``, ``/jobs``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cellhub.domain.jobs import Job, JobState
from cellhub.ports.images_repository import MAX_IMAGES_PER_BATCH


class SegmentationCreate(BaseModel):
    """Which images to segment and how; unset model and threshold take the project's defaults."""

    model_config = ConfigDict(extra="forbid")

    # null: every ready or failed image of the project (and segmented ones with ``force``).
    image_ids: list[str] | None = Field(default=None, min_length=1, max_length=MAX_IMAGES_PER_BATCH)
    model: str | None = Field(default=None, min_length=1, max_length=64)
    threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    # Re-run images that already have a segmentation.
    force: bool = False
    options: dict[str, Any] = Field(default_factory=dict)


class JobCountsOut(BaseModel):
    total: int
    done: int
    failed: int
    finished: bool


class JobOut(BaseModel):
    id: str
    project_id: str
    kind: str
    state: JobState
    model: str
    threshold: float
    options: dict[str, Any]
    counts: JobCountsOut
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            project_id=job.project_id,
            kind=job.kind,
            state=job.state,
            model=job.model,
            threshold=job.threshold,
            options=job.options,
            counts=JobCountsOut(
                total=job.counts.total,
                done=job.counts.done,
                failed=job.counts.failed,
                finished=job.counts.finished,
            ),
            created_by=job.created_by,
            created_at=job.created_at,
        )
