"""The procedural brightfield spheroid generator: exact masks, holes, determinism."""

from __future__ import annotations

import cv2
import numpy as np

from cellhub_worker.synthetic_spheroids import spheroid_field


def test_output_types_and_determinism() -> None:
    image, labels = spheroid_field((128, 160), seed=7)
    again, labels_again = spheroid_field((128, 160), seed=7)
    assert image.dtype == np.uint8 and image.shape == (128, 160)
    assert labels.dtype == np.int32 and labels.shape == (128, 160)
    assert np.array_equal(image, again) and np.array_equal(labels, labels_again)
    assert not np.array_equal(image, spheroid_field((128, 160), seed=8)[0])


def test_each_spheroid_is_one_connected_darker_object() -> None:
    image, labels = spheroid_field((256, 256), count=3, seed=11, lumen_share=0.0)
    ids = [i for i in np.unique(labels) if i]
    assert 1 <= len(ids) <= 3
    background = np.median(image[labels == 0])
    for ident in ids:
        region = (labels == ident).astype(np.uint8)
        count, _ = cv2.connectedComponents(region, connectivity=8)
        assert count == 2  # background + one object, protrusions included
        assert np.median(image[labels == ident]) < background


def test_lumens_are_holes_in_the_mask() -> None:
    _, labels = spheroid_field((256, 256), count=2, seed=3, lumen_share=1.0)
    for ident in (i for i in np.unique(labels) if i):
        region = (labels == ident).astype(np.uint8)
        _, hierarchy = cv2.findContours(region, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        holes = sum(1 for h in hierarchy[0] if h[3] >= 0)
        assert holes >= 1
