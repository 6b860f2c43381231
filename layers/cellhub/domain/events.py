"""Live events: the typed, versioned messages pushed to a project's connected clients.

Every state change a user can watch is one event. Events carry ids and small facts only; a
client that missed some re-syncs from the REST API, so no state lives only in an event.
``schema`` names the event family's version so old clients can ignore what they do not know.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

EVENT_SCHEMA: Literal["cellhub.event/1"] = "cellhub.event/1"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_: Literal["cellhub.event/1"] = Field(default=EVENT_SCHEMA, alias="schema")
    project_id: str
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class UploadAccepted(_Event):
    type: Literal["upload.accepted"] = "upload.accepted"
    image_ids: tuple[str, ...]


class ThumbnailReady(_Event):
    type: Literal["image.ready"] = "image.ready"
    image_id: str
    width: int
    height: int


class ImageRejected(_Event):
    type: Literal["image.rejected"] = "image.rejected"
    image_id: str
    code: str
    reason: str


class ImageQueued(_Event):
    type: Literal["image.queued"] = "image.queued"
    image_id: str
    job_id: str
    position: int


class ImageProcessing(_Event):
    type: Literal["image.processing"] = "image.processing"
    image_id: str
    job_id: str


class ImageSegmented(_Event):
    type: Literal["image.segmented"] = "image.segmented"
    image_id: str
    version: int
    object_count: int
    seconds: float


class ImageFailed(_Event):
    type: Literal["image.failed"] = "image.failed"
    image_id: str
    code: str
    reason: str


class ExportProgress(_Event):
    type: Literal["export.progress"] = "export.progress"
    export_id: str
    progress: float


class ExportDone(_Event):
    type: Literal["export.done"] = "export.done"
    export_id: str


class ExportFailed(_Event):
    type: Literal["export.failed"] = "export.failed"
    export_id: str
    reason: str


class JobProgress(_Event):
    """A fine-tuning or import job counted a unit (see ``cellhub.ports.model_jobs``)."""

    type: Literal["job.progress"] = "job.progress"
    job_id: str
    kind: str
    unit: str
    done: int
    failed: int
    total: int


class ModelJobFinished(_Event):
    """A model job's report is written; ``model`` is registered when ``accepted``."""

    type: Literal["model_job.finished"] = "model_job.finished"
    job_id: str
    kind: str
    model: str
    accepted: bool
    reason: str


class MembershipChanged(_Event):
    type: Literal["project.membership"] = "project.membership"
    user_id: str
    role: str | None


LiveEvent = Annotated[
    UploadAccepted
    | ThumbnailReady
    | ImageRejected
    | ImageQueued
    | ImageProcessing
    | ImageSegmented
    | ImageFailed
    | ExportProgress
    | ExportDone
    | ExportFailed
    | JobProgress
    | ModelJobFinished
    | MembershipChanged,
    Field(discriminator="type"),
]


def event_json(event: _Event) -> str:
    """The wire form: JSON with ``schema`` and ``type`` first-class fields."""
    return event.model_dump_json(by_alias=True)
