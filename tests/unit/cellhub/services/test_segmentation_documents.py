"""Segmentation documents round-trip through the blob store, holes and all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.url_signing import UrlSigner
from cellhub.errors import BlobNotFound, InvalidParameter
from cellhub.geometry import labels_from_polygons, polygons_from_labels
from cellhub.results import ImageInfo, ImageResult
from cellhub.services.segmentation_documents import (
    document_key,
    load_document,
    polygons_of,
    save_document,
)


@pytest.fixture
def blobs(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path, base_url="http://127.0.0.1", signer=UrlSigner(b"k" * 32))


def test_mask_to_document_to_mask_round_trip(blobs: FilesystemBlobStore) -> None:
    labels = np.zeros((64, 64), np.int32)
    labels[8:40, 8:40] = 1
    labels[16:24, 16:24] = 0  # a hole
    labels[45:60, 30:50] = 2
    polygons = polygons_from_labels(labels)
    result = ImageResult(ImageInfo("a.png", 64, 64, 1, "uint8"), polygons, [], {})
    key = document_key("p1", "i1", 3)
    save_document(blobs, key, result.to_document())
    restored = polygons_of(load_document(blobs, key))
    assert [len(p.holes) for p in restored] == [1, 0]
    assert np.array_equal(labels_from_polygons(restored, labels.shape), labels)


def test_keys_sort_by_version_and_bad_documents_are_refused(blobs: FilesystemBlobStore) -> None:
    assert document_key("p", "i", 2) < document_key("p", "i", 10)
    with pytest.raises(InvalidParameter):
        save_document(blobs, "k.json.gz", {"schema": "other/1"})
    blobs.put("junk.json.gz", b"not gzip")
    with pytest.raises(InvalidParameter):
        load_document(blobs, "junk.json.gz")
    with pytest.raises(BlobNotFound):
        load_document(blobs, "missing.json.gz")
