"""YOLO segmentation labels: ``yolo/labels/<stem>.txt`` per image plus ``yolo/data.yaml``.

Each line is ``class x1 y1 x2 y2 ...`` with coordinates divided by the image width and height
(so in [0, 1], corner origin) and ``class`` the 0-based index into ``names`` of ``data.yaml``.
An image without objects gets an empty label file, which YOLO reads as a background image.

YOLO has one ring per object, so an object with holes is written as a single ring with a
*seam*: from an exterior vertex a zero-width bridge runs to the nearest vertex of a hole,
walks the hole in the opposite direction to the exterior, and comes back along the same
bridge. The two bridge edges cancel under both the even-odd and the nonzero fill rule, so
rasterising the ring fills the exterior minus its holes. One run warning counts such objects.
"""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
from scipy.spatial import cKDTree

from cellhub.exporters.base import ExportContext, Exporter, ExportSink, ImagePaths
from cellhub.geometry.polygon import Polygon, Ring, signed_area
from cellhub.results import ImageResult

DATA_YAML_PATH = "yolo/data.yaml"


class YoloExporter(Exporter):
    """Label files as images arrive; ``data.yaml`` (class names) at close."""

    format_name: ClassVar[str] = "yolo"

    def __init__(self, sink: ExportSink, context: ExportContext) -> None:
        super().__init__(sink, context)
        self._paths = ImagePaths("yolo/labels", ".txt")
        self._class_index = {name: i for i, name in enumerate(context.class_names)}
        self._seamed_objects = 0

    def add(self, result: ImageResult) -> None:
        size = np.array([result.image.width, result.image.height], dtype=np.float64)
        lines = []
        for polygon in result.polygons:
            if polygon.holes:
                self._seamed_objects += 1
            ring = np.clip(seam_ring(polygon) / size, 0.0, 1.0).ravel()
            index = self._class_index.setdefault(polygon.class_name, len(self._class_index))
            lines.append(str(index) + (" %.6f" * ring.size) % tuple(ring.tolist()))
        text = "".join(line + "\n" for line in lines)
        self.sink.write_bytes(self._paths.claim(result.image.name), text.encode("ascii"))

    def close(self) -> list[str]:
        self.sink.write_bytes(DATA_YAML_PATH, self._data_yaml().encode("utf-8"))
        if self._seamed_objects:
            self.warnings.append(
                f"yolo: {self._seamed_objects} object(s) with holes were written as one ring "
                "with a zero-width seam to each hole (YOLO has no holes); the filled area is "
                "right, but tools that edit vertices will see the seam"
            )
        return self.warnings

    def _data_yaml(self) -> str:
        # JSON strings are valid YAML double-quoted scalars, so any class name is safe.
        names = "".join(
            f"  {i}: {json.dumps(name, ensure_ascii=False)}\n"
            for name, i in sorted(self._class_index.items(), key=lambda item: item[1])
        )
        return (
            f"# Cell Segmentation Hub {self.context.software_version}: YOLO segmentation labels.\n"
            "# labels/ mirrors the image names; put the images beside it under images/.\n"
            "path: .\n"
            "train: images\n"
            "val: images\n"
            f"nc: {len(self._class_index)}\n"
            f"names:\n{names}"
        )


def seam_ring(polygon: Polygon) -> Ring:
    """One ``(N, 2)`` ring that fills like ``polygon`` with its holes (see module docstring).

    A polygon without holes comes back as its exterior. Each hole is bridged from the
    nearest vertex of the ring built so far, which keeps bridges short and rarely crossing.
    """
    ring = _with_orientation(polygon.exterior, positive=True)
    for hole in polygon.holes:
        hole = _with_orientation(hole, positive=False)
        distances, nearest = cKDTree(ring).query(hole)
        j = int(np.argmin(distances))
        i = int(nearest[j])
        walk = np.roll(hole, -j, axis=0)  # starts and (with hole[j] again) ends at the bridge
        ring = np.concatenate([ring[: i + 1], walk, walk[:1], ring[i:]])
    return ring


def _with_orientation(ring: Ring, *, positive: bool) -> Ring:
    return ring if (signed_area(ring) > 0) == positive else ring[::-1]
