"""What one segmented image yields: the record every exporter and the hub consume.

``ImageResult.pixels`` is the decoded original, ``(Y, X, C)`` in its native dtype; exporters may
read it (overlays, intensity) but must not keep a reference after ``add`` returns, so a run over
10,000 images holds one image at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.geometry.polygon import Polygon

SEGMENTATION_SCHEMA = "cellhub.segmentation/1"


@dataclass(slots=True)
class ImageInfo:
    """Facts about one decoded image. ``name`` is unique within a run (a relative path)."""

    name: str
    width: int
    height: int
    channels: int
    dtype: str
    pixel_size_um: float | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ImageResult:
    """Polygons, their metric rows (same order) and the per-image summary for one image."""

    image: ImageInfo
    polygons: list[Polygon]
    metrics: list[dict[str, Any]]
    summary: dict[str, Any]
    model: str = "classical"
    model_version: str = ""
    threshold: float | None = None
    pixels: NDArray[Any] | None = None

    def to_document(self) -> dict[str, Any]:
        """The versioned segmentation document (``cellhub.segmentation/1``)."""
        return {
            "schema": SEGMENTATION_SCHEMA,
            "image": {
                "name": self.image.name,
                "width": self.image.width,
                "height": self.image.height,
            },
            "model": {"name": self.model, "version": self.model_version},
            "threshold": self.threshold,
            "polygons": [p.to_document() for p in self.polygons],
        }


def empty_pixels(info: ImageInfo) -> NDArray[np.uint8]:
    """A black ``(Y, X, 1)`` canvas for exporters that draw when no pixels were kept."""
    return np.zeros((info.height, info.width, 1), dtype=np.uint8)
