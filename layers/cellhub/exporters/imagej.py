"""ImageJ / Fiji ROI sets: ``imagej/<stem>.zip`` per image, for the ROI Manager.

Each object is one ROI named by its object id, zero-padded (``0007``) so the ROI Manager
lists them in order. Objects without holes are sub-pixel polygon ROIs. Objects with holes are
*composite* (``ShapeRoi``) ROIs: a path of move-to / line-to / close segments, one closed
sub-path per ring. ImageJ's reader (``RoiDecoder.getShapeRoi``) builds that path with the
even-odd rule, so the holes stay holes for measurements and masks in Fiji. Coordinates are
ImageJ's own: pixels, origin at the top-left corner of the image.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from roifile import ROI_TYPE, ImagejRoi

from cellhub.exporters.base import ExportContext, Exporter, ExportSink, ImagePaths
from cellhub.geometry.polygon import Polygon, Ring
from cellhub.results import ImageResult

# java.awt.geom.PathIterator segment codes, as ImageJ stores them in composite ROIs.
_MOVE_TO, _LINE_TO, _CLOSE = 0.0, 1.0, 4.0
_MIN_NAME_DIGITS = 4


class ImageJExporter(Exporter):
    """One ROI zip per image, written as the image arrives (an image with no objects gets
    an empty zip, so every image has its file)."""

    format_name: ClassVar[str] = "imagej"

    def __init__(self, sink: ExportSink, context: ExportContext) -> None:
        super().__init__(sink, context)
        self._paths = ImagePaths("imagej", ".zip")

    def add(self, result: ImageResult) -> None:
        self.sink.write_bytes(self._paths.claim(result.image.name), roi_zip(result.polygons))


def roi_zip(polygons: Sequence[Polygon]) -> bytes:
    """The bytes of an ImageJ ROI set zip holding one ROI per polygon."""
    digits = max(_MIN_NAME_DIGITS, *(len(str(p.id)) for p in polygons)) if polygons else 0
    buffer = io.BytesIO()
    taken: set[str] = set()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for polygon in polygons:
            name = f"{polygon.id:0{digits}d}"
            suffix = 1
            while name in taken:  # ids should be unique; never let a ROI overwrite another
                suffix += 1
                name = f"{polygon.id:0{digits}d}-{suffix}"
            taken.add(name)
            archive.writestr(f"{name}.roi", roi_for(polygon, name).tobytes())
    return buffer.getvalue()


def roi_for(polygon: Polygon, name: str) -> ImagejRoi:
    """A polygon ROI, or a composite ROI when the polygon has holes."""
    if not polygon.holes:
        roi = ImagejRoi.frompoints(polygon.exterior.astype(np.float32), name=name)
        roi.roitype = ROI_TYPE.POLYGON
        return roi
    return composite_roi([polygon.exterior, *polygon.holes], name)


def composite_roi(rings: Sequence[Ring], name: str) -> ImagejRoi:
    """A ``ShapeRoi`` whose path has one closed sub-path per ring (absolute coordinates)."""
    segments: list[np.ndarray] = []
    for ring in rings:
        codes = np.full((len(ring), 1), _LINE_TO)
        codes[0] = _MOVE_TO
        segments.append(np.hstack([codes, ring]).ravel())
        segments.append(np.array([_CLOSE]))
    roi = ImagejRoi()
    roi.roitype = ROI_TYPE.RECT  # composite ROIs are stored as RECT with a shape array
    roi.name = name
    roi.multi_coordinates = np.concatenate(segments).astype(np.float32)
    roi.shape_roi_size = int(roi.multi_coordinates.size)
    exterior = rings[0]
    roi.left, roi.top = (int(v) for v in np.floor(exterior.min(axis=0)))
    roi.right, roi.bottom = (int(v) for v in np.ceil(exterior.max(axis=0)))
    return roi
