"""Bodies of ``/projects/{id}/models``: the project's catalogue, fine-tuning, model imports.

Model names are checked in full by ``cellhub.services.project_models.check_model_name``;
the lengths here only keep absurd bodies out before the service sees them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cellhub.services.model_jobs import (
    DEFAULT_MAX_IMAGES,
    MAX_EPOCHS,
    MAX_IMAGES_LIMIT,
    MAX_MODEL_BYTES,
    MIN_IMAGES,
)
from cellhub.services.project_models import ModelFormat, ProjectModelCard
from cellhub_api.schemas.images import PostTargetOut


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FinetuneCreate(_Body):
    """Train ``name`` from ``base_model`` on the project's current segmentations."""

    base_model: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=48)
    epochs: int = Field(default=20, ge=1, le=MAX_EPOCHS)
    # The share of the project's segmented images kept out of training to compare the
    # start model and the new one on.
    holdout_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    min_objects: int = Field(default=50, ge=1)
    seed: int = Field(default=0, ge=0)
    # The most segmented images read (training and held-out together).
    max_images: int = Field(default=DEFAULT_MAX_IMAGES, ge=MIN_IMAGES, le=MAX_IMAGES_LIMIT)


class ModelUploadCreate(_Body):
    filename: str = Field(min_length=1, max_length=255)
    size: int = Field(gt=0, le=MAX_MODEL_BYTES)


class ModelUploadOut(BaseModel):
    """Send the file to ``post``, then name ``upload_id`` in ``POST .../models/import``."""

    upload_id: str
    post: PostTargetOut
    max_bytes: int


class ModelImportCreate(_Body):
    name: str = Field(min_length=1, max_length=48)
    format: ModelFormat
    upload_id: str = Field(min_length=1, max_length=64)
    classes: list[str] | None = Field(default=None, max_length=256)
    description: str = Field(default="", max_length=2000)


class CatalogueModelOut(BaseModel):
    """A model a segmentation job of this project may name; ``scope`` says whose it is."""

    name: str
    scope: Literal["global", "project"]
    version: str
    architecture: str
    kind: str = Field(description="classical, learned, fine-tuned or imported")
    description: str
    classes: list[str]
    scores: dict[str, float]
    speed: str
    sha256: str | None
    format: str | None = None
    base_model: str | None = None
    job_id: str | None = Field(default=None, description="the job that made a project model")
    created_at: datetime | None = None

    @classmethod
    def of_project(cls, card: ProjectModelCard) -> CatalogueModelOut:
        return cls(
            name=card.name,
            scope="project",
            version=card.version,
            architecture=card.architecture,
            kind=card.origin,
            description=card.description,
            classes=list(card.classes),
            scores=card.scores,
            speed=card.speed,
            sha256=card.sha256,
            format=card.format,
            base_model=card.base_model,
            job_id=card.job_id,
            created_at=card.created_at,
        )


class CatalogueOut(BaseModel):
    """The global catalogue (``classical`` first), then the project's own models by name."""

    models: list[CatalogueModelOut]


class ModelJobReportOut(BaseModel):
    """What a finished fine-tuning or import job found; ``results`` as the runner wrote them
    (held-out scores of the start and new model, or the checks made on a sample image)."""

    model_config = ConfigDict(extra="ignore")
    job_id: str
    kind: str
    model: str
    accepted: bool
    reason: str
    error_code: str | None = None
    results: dict[str, Any] = Field(default_factory=dict)
    finished_at: datetime | None = None
