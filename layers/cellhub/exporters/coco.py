"""COCO instance annotations (``coco/annotations.json``), written for ``pycocotools.coco.COCO``.

Objects without holes are polygons (``[[x1, y1, x2, y2, ...]]``); objects with holes are
compressed RLE with ``iscrowd: 0``, because a COCO polygon list is a union of rings and would
fill the holes back in. Both use COCO's pixel convention, which is ours: the origin is the
top-left corner of the top-left pixel and a pixel belongs to an object when its centre is
inside. ``area`` is the pixel count of the mask ``annToMask`` gives back; ``bbox`` is
``[x, y, width, height]`` of the exterior ring.

The images and annotations arrays grow on disk as images arrive (see ``spool``) and are
spliced into the one JSON file at ``close``.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pycocotools import mask as coco_mask

from cellhub.exporters.base import ExportContext, Exporter, ExportSink
from cellhub.exporters.spool import JsonLinesSpool
from cellhub.geometry.polygon import Polygon
from cellhub.geometry.raster import rasterize_polygon
from cellhub.results import ImageResult

ANNOTATIONS_PATH = "coco/annotations.json"


class CocoExporter(Exporter):
    """One ``annotations.json`` for the run; categories from ``context.class_names``."""

    format_name: ClassVar[str] = "coco"

    def __init__(self, sink: ExportSink, context: ExportContext) -> None:
        super().__init__(sink, context)
        self._images = JsonLinesSpool()
        self._annotations = JsonLinesSpool()
        self._category_ids = {name: i + 1 for i, name in enumerate(context.class_names)}
        self._unlisted_classes: list[str] = []

    def add(self, result: ImageResult) -> None:
        info = result.image
        image_id = self._images.count + 1
        self._images.append(
            {"id": image_id, "file_name": info.name, "width": info.width, "height": info.height}
        )
        for polygon in result.polygons:
            annotation = polygon_annotation(polygon, info.height, info.width)
            annotation["id"] = self._annotations.count + 1
            annotation["image_id"] = image_id
            annotation["category_id"] = self._category_id(polygon.class_name)
            self._annotations.append(annotation)

    def close(self) -> list[str]:
        categories = [
            {"id": cid, "name": name, "supercategory": "cell"}
            for name, cid in self._category_ids.items()
        ]
        head = {"info": self._info(), "licenses": [], "categories": categories}
        try:
            with self.sink.open(ANNOTATIONS_PATH) as out:
                # Open the top-level object, then splice both spooled arrays into it.
                out.write(json.dumps(head, ensure_ascii=False)[:-1].encode("utf-8"))
                out.write(b',"images":')
                self._images.write_array(out)
                out.write(b',"annotations":')
                self._annotations.write_array(out)
                out.write(b"}")
        finally:
            self._images.close()
            self._annotations.close()
        if self._unlisted_classes:
            self.warnings.append(
                "coco: classes missing from the run's class list were added as categories: "
                + ", ".join(self._unlisted_classes)
            )
        return self.warnings

    def _category_id(self, class_name: str) -> int:
        if class_name not in self._category_ids:
            self._category_ids[class_name] = len(self._category_ids) + 1
            self._unlisted_classes.append(class_name)
        return self._category_ids[class_name]

    def _info(self) -> dict[str, Any]:
        ctx = self.context
        return {
            "description": "Cell Segmentation Hub export",
            "version": ctx.software_version,
            "date_created": ctx.created_at,
            "model": ctx.model,
            "model_version": ctx.model_version,
            "threshold": ctx.threshold,
            "pixel_size_um": ctx.pixel_size_um,
        }


def polygon_annotation(polygon: Polygon, height: int, width: int) -> dict[str, Any]:
    """The geometry fields of one annotation: segmentation, area, bbox, iscrowd (+ score)."""
    rle: dict[str, Any]
    if polygon.holes:
        row0, col0, crop = rasterize_polygon(polygon)
        rle = rle_from_crop(row0, col0, crop, height, width)
        segmentation: Any = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
    else:
        segmentation = [np.round(polygon.exterior, 3).ravel().tolist()]
        rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))
    x0, y0 = polygon.exterior.min(axis=0)
    x1, y1 = polygon.exterior.max(axis=0)
    annotation: dict[str, Any] = {
        "segmentation": segmentation,
        "area": int(coco_mask.area(rle)),
        "bbox": [round(float(v), 3) for v in (x0, y0, x1 - x0, y1 - y0)],
        "iscrowd": 0,
    }
    if polygon.score is not None and math.isfinite(polygon.score):
        annotation["score"] = float(polygon.score)
    return annotation


def rle_from_crop(
    row0: int, col0: int, crop: NDArray[np.bool_], height: int, width: int
) -> dict[str, Any]:
    """Compressed COCO RLE of a full ``height x width`` mask that is ``crop`` at (row0, col0).

    Runs are counted over the object's columns only, padded with whole background columns,
    so a small object never costs a full-image array.
    """
    r0, c0 = max(row0, 0), max(col0, 0)
    r1, c1 = min(row0 + crop.shape[0], height), min(col0 + crop.shape[1], width)
    if r1 <= r0 or c1 <= c0:
        runs = [height * width]
    else:
        strip = np.zeros((height, c1 - c0), dtype=np.uint8)
        strip[r0:r1] = crop[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0]
        flat = strip.ravel(order="F")  # COCO RLE runs down columns
        edges = np.flatnonzero(np.diff(flat)) + 1
        counts = np.diff(np.concatenate(([0], edges, [flat.size]))).tolist()
        if flat[0]:
            counts.insert(0, 0)  # RLE always starts with a background run
        counts[0] += c0 * height
        trailing = (width - c1) * height
        if not flat[-1]:
            counts[-1] += trailing
        elif trailing:
            counts.append(trailing)
        runs = counts
    encoded: dict[str, Any] = coco_mask.frPyObjects(
        {"counts": runs, "size": [height, width]}, height, width
    )
    return encoded
