"""Mask → polygons → mask on random shapes: the area and IoU bars of the Polygon convention.

METRICS.md: for regions of at least 100 px the polygon's area (exterior less holes) is within
1 % of the pixel count and rasterising it gives the mask back with IoU >= 0.98. Shapes are
discs, ellipses, rotated rectangles, blobs, rings, islands in holes and touching labels,
20–2000 px across, all on sub-pixel centres.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from cellhub.geometry import Polygon, labels_from_polygons, polygons_from_labels
from cellhub.geometry.polygon import signed_area

Labels = NDArray[np.int32]


def frame(rng: np.random.Generator, size: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pixel-centre coordinates of a ``size``² image in a randomly rotated, shifted frame."""
    yy, xx = np.mgrid[:size, :size] + 0.5
    cx, cy = size / 2 + rng.uniform(-0.5, 0.5, 2)
    angle = rng.uniform(0, np.pi)
    u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
    v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
    return u, v


def disc(rng: np.random.Generator, size: int) -> Labels:
    u, v = frame(rng, size)
    return (u**2 + v**2 <= (size / 2 - 2) ** 2).astype(np.int32)


def ellipse(rng: np.random.Generator, size: int) -> Labels:
    u, v = frame(rng, size)
    a = size / 2 - 2
    return ((u / a) ** 2 + (v / (a * rng.uniform(0.15, 1))) ** 2 <= 1).astype(np.int32)


def rectangle(rng: np.random.Generator, size: int) -> Labels:
    u, v = frame(rng, size)
    half = size * 0.35
    return ((np.abs(u) <= half) & (np.abs(v) <= half * rng.uniform(0.15, 1))).astype(np.int32)


def blob(rng: np.random.Generator, size: int) -> Labels:
    u, v = frame(rng, size)
    angle = np.arctan2(v, u)
    radius = np.ones_like(angle)
    for k in range(2, 6):
        radius += rng.uniform(0, 0.3) / k * np.cos(k * angle + rng.uniform(0, 2 * np.pi))
    return (np.hypot(u, v) <= size * 0.3 * radius).astype(np.int32)


def ring(rng: np.random.Generator, size: int) -> Labels:
    u, v = frame(rng, size)
    r = np.hypot(u, v / rng.uniform(0.6, 1))
    outer = size / 2 - 2
    return ((r <= outer) & (r > outer * rng.uniform(0.3, 0.8))).astype(np.int32)


def islands_in_holes(rng: np.random.Generator, size: int) -> Labels:
    u, v = frame(rng, size)
    r = np.hypot(u, v) / (size / 2 - 2)
    labels = np.where(r <= 1, 1, 0).astype(np.int32)
    labels[r <= 0.7] = 0
    labels[r <= 0.45] = 2
    labels[r <= 0.2] = 0
    labels[r <= 0.1] = 1
    return labels


def touching(rng: np.random.Generator, size: int) -> Labels:
    labels = np.zeros((size, size), np.int32)
    yy, xx = np.mgrid[:size, :size] + 0.5
    for label in range(1, 6):
        cx, cy = rng.uniform(0.25, 0.75, 2) * size
        radius = rng.uniform(0.15, 0.3) * size
        labels[(xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2] = label
    return labels


SHAPES: dict[str, Callable[[np.random.Generator, int], Labels]] = {
    "disc": disc,
    "ellipse": ellipse,
    "rectangle": rectangle,
    "blob": blob,
    "ring": ring,
    "islands_in_holes": islands_in_holes,
    "touching": touching,
}


def region_area(polygon: Polygon) -> float:
    return signed_area(polygon.exterior) + sum(signed_area(h) for h in polygon.holes)


def check_round_trip(labels: Labels) -> None:
    polygons = polygons_from_labels(labels)
    back = labels_from_polygons(polygons, labels.shape)
    for label in np.unique(labels[labels != 0]).tolist():
        mask = labels == label
        pieces = [p for p in polygons if p.id == label]
        count = int(mask.sum())
        if count < 100:
            continue
        painted = back == label
        iou = (mask & painted).sum() / (mask | painted).sum()
        assert iou >= 0.98, f"label {label}: IoU {iou:.4f}"
        area = sum(region_area(p) for p in pieces)
        assert abs(area - count) <= 0.01 * count, f"label {label}: {area:.2f} vs {count} px"


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("seed", range(12))
def test_random_shapes_round_trip(shape: str, seed: int) -> None:
    rng = np.random.default_rng([seed, sorted(SHAPES).index(shape)])
    size = int(np.exp(rng.uniform(np.log(20), np.log(300))))
    check_round_trip(SHAPES[shape](rng, size))


@pytest.mark.parametrize("shape", ["disc", "ring", "blob", "islands_in_holes"])
def test_large_shapes_round_trip(shape: str) -> None:
    rng = np.random.default_rng(len(shape))
    check_round_trip(SHAPES[shape](rng, 2000))


@pytest.mark.parametrize("seed", range(4))
def test_crowded_scene_round_trips_exactly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = np.zeros((256, 256), np.int32)
    yy, xx = np.mgrid[:256, :256] + 0.5
    for label in rng.permutation(np.arange(1, 41)).tolist():
        cx, cy = rng.uniform(0, 256, 2)
        a, b = rng.uniform(4, 25, 2)
        angle = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        inside = (u / a) ** 2 + (v / b) ** 2
        labels[inside <= 1] = label
        if label % 3 == 0:
            labels[inside <= 0.25] = 0
    polygons = polygons_from_labels(labels)
    np.testing.assert_array_equal(labels_from_polygons(polygons, labels.shape), labels)
    counts = np.bincount(labels.ravel(), minlength=41)
    areas = np.zeros(41)
    for polygon in polygons:
        areas[polygon.id] += region_area(polygon)
    np.testing.assert_allclose(areas[1:], counts[1:], atol=1e-6)
