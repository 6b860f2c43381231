"""The pieces behind polygons_from_labels: crack rings, smoothing, Douglas–Peucker, areas."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from cellhub.geometry import DEFAULT_TOLERANCE, labels_from_polygons, polygons_from_labels
from cellhub.geometry.cracks import CrackRings, crack_rings
from cellhub.geometry.polygon import signed_area
from cellhub.geometry.simplify import (
    douglas_peucker,
    missed_cracks,
    restore_ring_areas,
    ring_areas,
    smooth_across_cracks,
)


def scene() -> NDArray[np.int32]:
    yy, xx = np.mgrid[:48, :64] + 0.5
    labels = np.zeros((48, 64), np.int32)
    labels[(xx - 20) ** 2 + (yy - 22) ** 2 <= 15**2] = 1
    labels[(xx - 20) ** 2 + (yy - 22) ** 2 <= 6**2] = 0
    labels[(xx - 44) ** 2 + (yy - 26) ** 2 <= 12**2] = 2
    labels[40:, 60:] = 3
    labels[3, 3] = 4
    return labels


def rings_of(rings: CrackRings) -> list[NDArray[np.float64]]:
    return [rings.points[a:b] for a, b in zip(rings.offsets[:-1], rings.offsets[1:], strict=True)]


def test_crack_rings_step_between_adjacent_crack_midpoints() -> None:
    rings = crack_rings(scene())
    for ring in rings_of(rings):
        step = np.hypot(*(np.roll(ring, -1, axis=0) - ring).T)
        assert np.all(np.isclose(step, 1.0) | np.isclose(step, np.sqrt(0.5)))
    assert np.allclose(np.hypot(*rings.normals.T), 1.0)


def test_crack_rings_know_their_pixels_labels_and_regions() -> None:
    labels = scene()
    rings = crack_rings(labels)
    counts = np.bincount(labels.ravel())
    yy, xx = np.mgrid[:48, :64] + 0.5
    hole_pixels = int(np.count_nonzero((xx - 20) ** 2 + (yy - 22) ** 2 <= 6**2))
    exterior = rings.pixel_area > 0
    filled = {1: counts[1] + hole_pixels, 2: counts[2], 3: counts[3], 4: counts[4]}
    assert sorted(rings.label[exterior].tolist()) == [1, 2, 3, 4]
    for label, area in zip(rings.label[exterior], rings.pixel_area[exterior], strict=True):
        assert area == filled[int(label)]
    (hole,) = np.flatnonzero(~exterior)
    assert rings.label[hole] == 1 and rings.pixel_area[hole] == -hole_pixels
    assert rings.region[hole] == rings.region[exterior & (rings.label == 1)][0]
    # The midpoint outline loses exactly half a pixel per exterior and gains it per hole.
    midpoint_area = np.array([signed_area(r) for r in rings_of(rings)])
    np.testing.assert_allclose(midpoint_area, rings.pixel_area - np.sign(rings.pixel_area) * 0.5)


def test_ring_areas_is_the_shoelace_of_each_ring() -> None:
    rings = crack_rings(scene())
    expected = [signed_area(r) for r in rings_of(rings)]
    np.testing.assert_allclose(ring_areas(rings.points, rings.offsets), expected)


def test_smoothing_only_slides_along_crack_normals_within_the_slack() -> None:
    rings = crack_rings(scene())
    shift = smooth_across_cracks(rings.points, rings.normals, rings.offsets, slack=0.3, passes=8)
    assert np.abs(shift).max() <= 0.3
    assert np.abs(shift).max() > 0.1


def test_douglas_peucker_keeps_at_least_four_vertices_per_ring() -> None:
    rings = crack_rings(scene())
    keep = douglas_peucker(rings.points, rings.points, rings.normals, rings.offsets, 100.0)
    kept = np.add.reduceat(keep.astype(int), rings.offsets[:-1])
    assert np.all(kept >= 4)
    assert kept[rings.label == 4].tolist() == [4]


def test_douglas_peucker_with_negative_tolerance_keeps_everything() -> None:
    rings = crack_rings(scene())
    keep = douglas_peucker(rings.points, rings.points, rings.normals, rings.offsets, -1.0)
    assert keep.all()


def test_dropped_cracks_are_crossed_within_the_tolerance() -> None:
    rings = crack_rings(scene())
    mid, normal, offsets = rings.points, rings.normals, rings.offsets
    shift = smooth_across_cracks(mid, normal, offsets, slack=0.3, passes=6)
    smooth = mid + shift[:, None] * normal
    keep = douglas_peucker(smooth, mid, normal, offsets, 0.3)
    assert keep.sum() < 0.6 * keep.size
    points = smooth[keep]
    args = (keep, mid, normal, offsets)
    assert not missed_cracks(points, *args, bound=0.3).any()
    assert missed_cracks(points, *args, bound=0.05).any()


def test_restoring_areas_hits_the_target_within_the_limit() -> None:
    rings = crack_rings(scene())
    shift = np.full(rings.points.shape[0], -0.2)
    restored = restore_ring_areas(
        rings.points, rings.normals, shift, rings.offsets, rings.pixel_area, limit=0.45
    )
    assert np.abs(restored).max() <= 0.45
    points = rings.points + restored[:, None] * rings.normals
    np.testing.assert_allclose(ring_areas(points, rings.offsets), rings.pixel_area, atol=1e-9)


@pytest.mark.parametrize("tolerance", [0.0, 0.1, 0.25, 0.4])
def test_every_tolerance_below_half_a_pixel_round_trips(tolerance: float) -> None:
    labels = scene()
    polygons = polygons_from_labels(labels, tolerance=tolerance)
    np.testing.assert_array_equal(labels_from_polygons(polygons, labels.shape), labels)
    counts = np.bincount(labels.ravel())
    for polygon in polygons:
        area = signed_area(polygon.exterior) + sum(signed_area(h) for h in polygon.holes)
        assert area == pytest.approx(counts[polygon.id])


def test_the_default_tolerance_gives_fewer_vertices_than_small_ones() -> None:
    labels = scene()
    counts = [
        sum(p.vertex_count for p in polygons_from_labels(labels, tolerance=t))
        for t in (0.0, 0.1, DEFAULT_TOLERANCE)
    ]
    assert counts[2] < min(counts[:2])
