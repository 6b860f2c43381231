"""Where segmentation documents live: gzip JSON in the blob store, one object per version.

Records (``SegmentationVersion``) hold only the pointer and counts; the polygons of a version
are the ``cellhub.segmentation/1`` document (see ``cellhub.results``) at ``document_key``,
encoded exactly as the ``json`` exporter writes it (``cellhub.exporters.manifest``), so one
reader serves both. Keys are built from ids only, never from user-supplied names.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from cellhub.errors import InvalidParameter
from cellhub.exporters.manifest import polygons_of, read_document
from cellhub.ports.blob_store import BlobStore
from cellhub.results import SEGMENTATION_SCHEMA

__all__ = ["document_key", "load_document", "polygons_of", "save_document"]


def document_key(project_id: str, image_id: str, version: int) -> str:
    """``projects/<project>/segmentations/<image>/v000003.json.gz``: sorts by version."""
    return f"projects/{project_id}/segmentations/{image_id}/v{version:06d}.json.gz"


def save_document(blobs: BlobStore, key: str, document: dict[str, Any]) -> None:
    """Write ``document`` gzip-compressed; writing the same key and content again is harmless."""
    if document.get("schema") != SEGMENTATION_SCHEMA:
        raise InvalidParameter(f"not a {SEGMENTATION_SCHEMA} document", key=key)
    payload = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)
    blobs.put(key, payload, content_type="application/gzip")


def load_document(blobs: BlobStore, key: str) -> dict[str, Any]:
    """The document at ``key``; raises ``BlobNotFound`` or ``InvalidParameter``."""
    return read_document(blobs.get(key))
