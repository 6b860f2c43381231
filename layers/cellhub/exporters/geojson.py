"""GeoJSON for QuPath: ``geojson/<stem>.geojson``, one FeatureCollection per image.

Each object is a Feature with a Polygon geometry (exterior ring, then its holes), in image
pixels with the origin at the top-left corner, which is QuPath's convention too. Rings are
closed (first vertex repeated). Orientation follows RFC 7946's right-hand rule *when the
numbers are read as plain (x, y) with y up*: exteriors counter-clockwise, holes clockwise.
Seen on screen, where y points down, exteriors therefore look clockwise; QuPath accepts
either orientation.

``properties`` carry what QuPath reads: ``objectType: "detection"``, ``classification``
(name and RGB colour), ``isLocked`` and ``measurements`` (the object's metric row, numbers
only, NaN dropped). ``id`` is a UUID derived from image name and object id, so re-exporting
the same segmentation gives the same ids; it sits on the Feature (where QuPath 0.4+ reads it)
and is repeated in ``properties`` for tools that read only those.
"""

from __future__ import annotations

import json
import math
import numbers
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from cellhub.exporters.base import ExportContext, Exporter, ExportSink, ImagePaths
from cellhub.exporters.display import class_colour
from cellhub.geometry.polygon import Polygon, Ring, signed_area
from cellhub.metrics.columns import ID_COLUMNS
from cellhub.results import ImageResult

# Fixed namespace so object UUIDs are reproducible across runs and machines.
OBJECT_ID_NAMESPACE = uuid.UUID("6f1c3a52-9d7e-5b0e-a3c4-2f8e1d9b7a60")


class GeoJsonExporter(Exporter):
    """One FeatureCollection file per image, written as the image arrives."""

    format_name: ClassVar[str] = "geojson"

    def __init__(self, sink: ExportSink, context: ExportContext) -> None:
        super().__init__(sink, context)
        self._paths = ImagePaths("geojson", ".geojson")

    def add(self, result: ImageResult) -> None:
        rows = result.metrics if len(result.metrics) == len(result.polygons) else []
        features = [
            self._feature(result.image.name, polygon, rows[i] if rows else {})
            for i, polygon in enumerate(result.polygons)
        ]
        collection = {"type": "FeatureCollection", "features": features}
        text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
        self.sink.write_bytes(self._paths.claim(result.image.name), text.encode("utf-8"))

    def _feature(self, image_name: str, polygon: Polygon, row: Mapping[str, Any]) -> dict[str, Any]:
        object_id = object_uuid(image_name, polygon.id)
        rings = [_closed(polygon.exterior, exterior=True)]
        rings += [_closed(hole, exterior=False) for hole in polygon.holes]
        return {
            "type": "Feature",
            "id": object_id,
            "geometry": {"type": "Polygon", "coordinates": rings},
            "properties": {
                "id": object_id,
                "objectType": "detection",
                "name": str(polygon.id),
                "classification": {
                    "name": polygon.class_name,
                    "color": list(class_colour(polygon.class_name, self.context.class_names)),
                },
                "isLocked": False,
                "measurements": measurements(row),
            },
        }


def object_uuid(image_name: str, object_id: int) -> str:
    """The same UUID for the same (image, object) in every export."""
    return str(uuid.uuid5(OBJECT_ID_NAMESPACE, f"{image_name}\n{object_id}"))


def measurements(row: Mapping[str, Any]) -> dict[str, float]:
    """The numeric, finite entries of a metric row (identity columns excluded)."""
    values: dict[str, float] = {}
    for name, value in row.items():
        if name in ID_COLUMNS or isinstance(value, bool) or not isinstance(value, numbers.Real):
            continue
        if math.isfinite(float(value)):
            values[name] = float(value)
    return values


def _closed(ring: Ring, *, exterior: bool) -> list[list[float]]:
    if (signed_area(ring) > 0) != exterior:
        ring = ring[::-1]
    points: list[list[float]] = np.round(ring, 3).tolist()
    return [*points, points[0]]
