"""One image through the pipeline: decode → segment → trace polygons → measure.

imageio gives ``(Y, X, C)`` native-dtype pixels; the segmenter sees only the chosen channels;
its int32 label image (0 = background) is traced into polygons (original-image pixel
coordinates, corner origin); metrics are computed on the polygons against the *original*
pixels, all channels, in native bit depth.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cellhub.errors import InvalidParameter
from cellhub.geometry import Polygon, polygons_from_labels
from cellhub.imageio import read_image, select_channels
from cellhub.metrics import measure, summarize
from cellhub.results import ImageInfo, ImageResult
from cellhub.segmenter import Segmenter


@dataclass(frozen=True, slots=True)
class SegmentOptions:
    """What the caller chose for a run; validated on construction."""

    threshold: float | None = None
    pixel_size_um: float | None = None
    channels: tuple[int, ...] | None = None
    min_area_px: float = 0.0
    class_name: str = "object"
    keep_pixels: bool = False

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise InvalidParameter(
                f"threshold must lie strictly between 0 and 1, got {self.threshold}",
                parameter="threshold",
            )
        if self.pixel_size_um is not None and not self.pixel_size_um > 0.0:
            raise InvalidParameter(
                f"pixel size must be a positive number of µm per pixel, got {self.pixel_size_um}",
                parameter="pixel_size",
            )
        if self.min_area_px < 0:
            raise InvalidParameter("minimum area cannot be negative", parameter="min_area")


def segment_image(
    path: str | os.PathLike[str],
    name: str,
    segmenter: Segmenter,
    options: SegmentOptions,
    *,
    pixel_size_um: float | None = None,
) -> ImageResult:
    """Run one image end to end. ``pixel_size_um`` (the run's unit decision) beats the
    image's own metadata; errors are the typed ``CellhubError`` subclasses."""
    decoded = read_image(path, name=name)
    model_input = select_channels(decoded.pixels, options.channels)
    instances = segmenter.segment(model_input, threshold=options.threshold)
    polygons = _with_attributes(
        polygons_from_labels(instances.labels, min_area=options.min_area_px),
        instances.scores,
        options.class_name,
    )
    rows = measure(polygons, image=decoded.pixels, pixel_size=pixel_size_um)
    info = ImageInfo(
        name=name,
        width=decoded.width,
        height=decoded.height,
        channels=decoded.channels,
        dtype=str(decoded.pixels.dtype),
        pixel_size_um=pixel_size_um,
        warnings=list(decoded.warnings),
    )
    return ImageResult(
        image=info,
        polygons=polygons,
        metrics=rows,
        summary=summarize(
            rows, image_width=info.width, image_height=info.height, pixel_size=pixel_size_um
        ),
        model=segmenter.name,
        model_version=segmenter.version,
        threshold=options.threshold,
        pixels=decoded.pixels if options.keep_pixels else None,
    )


def _with_attributes(
    polygons: Sequence[Polygon], scores: dict[int, float], class_name: str
) -> list[Polygon]:
    return [
        dataclasses.replace(p, score=scores.get(p.id), class_name=class_name, source="model")
        for p in polygons
    ]
