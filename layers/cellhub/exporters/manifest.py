"""The segmentations themselves: ``segmentations/<stem>.json.gz``, one document per image.

Each file is the versioned ``cellhub.segmentation/1`` document (``ImageResult.to_document``),
the same bytes the hub stores per segmentation version, so an export can be re-imported or
re-measured later without any lossy format in between (``read_document`` and
``polygons_of`` read them back). Gzip keeps 10,000 documents small; the gzip header carries no
timestamp so identical segmentations give identical files.
"""

from __future__ import annotations

import gzip
import json
from typing import Any, ClassVar

from cellhub.errors import InvalidParameter
from cellhub.exporters.base import ExportContext, Exporter, ExportSink, ImagePaths
from cellhub.geometry.polygon import Polygon
from cellhub.results import SEGMENTATION_SCHEMA, ImageResult

SEGMENTATIONS_FOLDER = "segmentations"


class SegmentationDocumentExporter(Exporter):
    """Writes each image's segmentation document as it arrives."""

    format_name: ClassVar[str] = "json"

    def __init__(self, sink: ExportSink, context: ExportContext) -> None:
        super().__init__(sink, context)
        self._paths = ImagePaths(SEGMENTATIONS_FOLDER, ".json.gz")

    def add(self, result: ImageResult) -> None:
        document = result.to_document()
        raw = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.sink.write_bytes(self._paths.claim(result.image.name), gzip.compress(raw, mtime=0))


def read_document(data: bytes) -> dict[str, Any]:
    """Decode one ``.json.gz`` file of this format; refuses any other schema."""
    try:
        document = json.loads(gzip.decompress(data))
    except (OSError, EOFError, ValueError) as exc:
        raise InvalidParameter(f"not a gzip JSON segmentation document: {exc}") from exc
    if not isinstance(document, dict) or document.get("schema") != SEGMENTATION_SCHEMA:
        found = document.get("schema") if isinstance(document, dict) else type(document).__name__
        raise InvalidParameter(f"expected schema {SEGMENTATION_SCHEMA!r}, found {found!r}")
    return document


def polygons_of(document: dict[str, Any]) -> list[Polygon]:
    """The document's polygons, rings re-oriented to the Polygon convention."""
    return [Polygon.from_document(entry) for entry in document["polygons"]]
