"""Request and response bodies of the export routes: request, follow, cancel, download."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cellhub.domain.jobs import Export, ExportState
from cellhub.ports.images_repository import MAX_IMAGES_PER_BATCH

MAX_FORMATS = 16


class ExportCreate(BaseModel):
    """An export request. ``image_ids`` null exports every segmented image of the project.

    Formats are checked against the registered exporters (``coco``, ``yolo``, ``excel``,
    ``csv``, ``geojson``, ``masks``, ``imagej``, ``overlay``, ``json``); an unknown one is 422.
    """

    model_config = ConfigDict(extra="forbid")
    formats: list[str] = Field(min_length=1, max_length=MAX_FORMATS)
    image_ids: list[str] | None = Field(None, min_length=1, max_length=MAX_IMAGES_PER_BATCH)
    pixel_size_um: float | None = Field(None, gt=0, description="µm per pixel for the metrics")


class ExportOut(BaseModel):
    """An export's state; ``progress`` runs from 0.0 to 1.0."""

    id: str
    project_id: str
    formats: list[str]
    state: ExportState
    progress: float
    image_count: int | None = Field(description="selected images; null means all of them")
    pixel_size_um: float | None
    error: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, export: Export) -> ExportOut:
        return cls(
            id=export.id,
            project_id=export.project_id,
            formats=list(export.formats),
            state=export.state,
            progress=export.progress,
            image_count=None if export.image_ids is None else len(export.image_ids),
            pixel_size_um=export.pixel_size_um,
            error=export.error,
            created_by=export.created_by,
            created_at=export.created_at,
            expires_at=export.expires_at,
        )


class ExportCancelled(BaseModel):
    """Whether the cancel stopped the export (false: it had already finished)."""

    cancelled: bool
    export: ExportOut


class ExportDownload(BaseModel):
    """A signed link to the ZIP; it stops working at ``expires_at``."""

    url: str
    expires_at: datetime
