"""Instance label masks: ``masks/<stem>.png``, one 16-bit label image per image.

``0`` is background; every object's pixels hold its polygon id, so a mask pixel can be looked
up in the tables and GeoJSON by ``object_id``. When ids do not fit (an id above 65,535, a
duplicate, or id 0) the objects are renumbered ``1..n`` in polygon order. An image with more
than 65,535 objects cannot be a 16-bit PNG: it becomes a 32-bit ``masks/<stem>.tif`` with a
warning. Pixels belong to an object when their centre is inside it (holes excluded), as
``cellhub.geometry.raster.labels_from_polygons`` rasterises; where objects overlap, the later wins.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import tifffile
from numpy.typing import NDArray
from PIL import Image

from cellhub.exporters.base import ExportContext, Exporter, ExportSink, ImagePaths
from cellhub.geometry.polygon import Polygon
from cellhub.geometry.raster import labels_from_polygons
from cellhub.results import ImageResult

PNG_MAX_LABEL = 65_535


class LabelMaskExporter(Exporter):
    """One label image per image, written as the image arrives."""

    format_name: ClassVar[str] = "masks"

    def __init__(self, sink: ExportSink, context: ExportContext) -> None:
        super().__init__(sink, context)
        self._paths = ImagePaths("masks", "")  # the suffix depends on the object count
        self._renumbered_images = 0

    def add(self, result: ImageResult) -> None:
        info = result.image
        values = label_values(result.polygons)
        if len(values) and not np.array_equal(values, [p.id for p in result.polygons]):
            self._renumbered_images += 1
        labels = label_image(result.polygons, values, (info.height, info.width))
        if len(result.polygons) <= PNG_MAX_LABEL:
            buffer = io.BytesIO()
            Image.fromarray(labels.astype(np.uint16)).save(buffer, format="PNG", compress_level=4)
            self.sink.write_bytes(self._paths.claim(info.name) + ".png", buffer.getvalue())
            return
        self.warnings.append(
            f"masks: {info.name} has {len(result.polygons):,} objects, more than a 16-bit PNG "
            "can label; written as a 32-bit TIFF"
        )
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, labels, compression="zlib")
        self.sink.write_bytes(self._paths.claim(info.name) + ".tif", buffer.getvalue())

    def close(self) -> list[str]:
        if self._renumbered_images:
            self.warnings.append(
                f"masks: objects of {self._renumbered_images} image(s) were renumbered 1..n in "
                "their masks because their ids were duplicated, zero or too large"
            )
        return self.warnings


def label_values(polygons: Sequence[Polygon]) -> NDArray[np.int64]:
    """The mask value of each polygon: its id when ids are usable, else ``1..n``."""
    ids = np.array([p.id for p in polygons], dtype=np.int64)
    limit = PNG_MAX_LABEL if len(ids) <= PNG_MAX_LABEL else np.iinfo(np.uint32).max
    if len(ids) and ids.min() > 0 and ids.max() <= limit and len(np.unique(ids)) == len(ids):
        return ids
    return np.arange(1, len(ids) + 1, dtype=np.int64)


def label_image(
    polygons: Sequence[Polygon], values: NDArray[np.int64], shape: tuple[int, int]
) -> NDArray[np.uint32]:
    """``(height, width)`` labels with ``values[i]`` on polygon ``i``'s pixels, 0 elsewhere."""
    # Rasterise by position (ids 1..n) so duplicate ids cannot merge two objects, then map.
    by_position = [dataclasses.replace(p, id=i + 1) for i, p in enumerate(polygons)]
    positions = labels_from_polygons(by_position, shape)
    lookup = np.concatenate(([0], values)).astype(np.uint32)
    return lookup[positions]
