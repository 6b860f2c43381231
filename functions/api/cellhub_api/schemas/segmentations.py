"""Request and response bodies of the segmentation routes: read versions, save, revert.

Polygons are ``cellhub.segmentation/1`` entries: rings of ``[x, y]`` vertices in
original-image pixel coordinates, y pointing down. The editing service validates their
geometry (ring sizes, areas, bounds); these models only fix their shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cellhub.domain.images import MAX_CLASS_NAME, MAX_POLYGONS, SegmentationVersion

Point = tuple[float, float]
# A metric value: float (NaN and infinities become null), int, or the class name.
MetricValue = float | int | str | None
MetricRow = dict[str, MetricValue]


class PolygonIn(BaseModel):
    """One edited polygon. ``id`` 0 or absent asks for a fresh id; ``source`` is ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    id: int | None = None
    exterior: list[Point] = Field(min_length=3)
    holes: list[list[Point]] = Field(default_factory=list)
    class_name: str = Field("object", alias="class", min_length=1, max_length=MAX_CLASS_NAME)
    score: float | None = None

    def to_entry(self) -> dict[str, Any]:
        """The entry as the editing service reads it."""
        return {
            "id": self.id,
            "exterior": self.exterior,
            "holes": self.holes,
            "class": self.class_name,
            "score": self.score,
        }


class SegmentationUpdate(BaseModel):
    """A save: the edited polygons and the version they were edited from.

    ``base_version`` may instead come as an ``If-Match: "<version>"`` header.
    """

    model_config = ConfigDict(extra="forbid")
    polygons: list[PolygonIn] = Field(max_length=MAX_POLYGONS)
    base_version: int | None = Field(None, ge=0)
    pixel_size_um: float | None = Field(None, gt=0, description="µm per pixel for the metrics")


class SegmentationRevert(BaseModel):
    """Save the polygons of ``to_version`` again, as a new version on top of ``base_version``."""

    model_config = ConfigDict(extra="forbid")
    to_version: int = Field(ge=1)
    base_version: int | None = Field(None, ge=0)


class SegmentationVersionOut(BaseModel):
    """One stored version's record (not its polygons)."""

    version: int
    object_count: int
    model: str
    threshold: float | None
    source: Literal["model", "manual"]
    job_id: str | None
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, record: SegmentationVersion) -> SegmentationVersionOut:
        return cls(
            version=record.version,
            object_count=record.object_count,
            model=record.model,
            threshold=record.threshold,
            source=record.source,
            job_id=record.job_id,
            created_by=record.created_by,
            created_at=record.created_at,
        )


class SegmentationOut(BaseModel):
    """A version with its ``cellhub.segmentation/1`` document and one metric row per polygon."""

    image_id: str
    version: SegmentationVersionOut
    document: dict[str, Any]
    metrics: list[MetricRow]


class SegmentationSaved(BaseModel):
    """The version a save or revert stored, with its freshly computed metrics."""

    image_id: str
    version: SegmentationVersionOut
    metrics: list[MetricRow]


class SegmentationVersionsOut(BaseModel):
    """Every version of an image, oldest first."""

    image_id: str
    versions: list[SegmentationVersionOut]


def metric_rows(rows: Sequence[Mapping[str, Any]]) -> list[MetricRow]:
    """Rows safe for JSON: non-finite floats (a degenerate shape's ratios) become None."""
    return [{key: _plain(value) for key, value in row.items()} for row in rows]


def _plain(value: Any) -> MetricValue:
    if isinstance(value, bool | int | str) or value is None:
        return value
    number = float(value)
    return number if math.isfinite(number) else None
