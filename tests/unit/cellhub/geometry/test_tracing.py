"""Topology of polygons_from_labels: holes, islands, touching labels, borders, odd inputs."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from skimage.measure import label as connected_regions
from skimage.measure import regionprops

from cellhub.geometry import Polygon, labels_from_polygons, polygons_from_labels
from cellhub.geometry.polygon import signed_area


def area(polygon: Polygon) -> float:
    return signed_area(polygon.exterior) + sum(signed_area(h) for h in polygon.holes)


def assert_round_trip(labels: NDArray[np.integer]) -> list[Polygon]:
    polygons = polygons_from_labels(labels)
    np.testing.assert_array_equal(labels_from_polygons(polygons, labels.shape), labels)
    for polygon in polygons:
        assert signed_area(polygon.exterior) > 0
        assert all(signed_area(h) < 0 for h in polygon.holes)
        assert all(len(ring) >= 3 for ring in (polygon.exterior, *polygon.holes))
    return polygons


def test_empty_image_gives_no_polygons() -> None:
    assert polygons_from_labels(np.zeros((16, 9), np.int32)) == []
    assert polygons_from_labels(np.zeros((0, 0), np.int32)) == []


def test_single_pixel_is_a_unit_area_polygon() -> None:
    labels = np.zeros((5, 5), np.int32)
    labels[2, 3] = 7
    (polygon,) = assert_round_trip(labels)
    assert polygon.id == 7
    assert area(polygon) == pytest.approx(1.0)
    assert polygon.holes == ()


@pytest.mark.parametrize(("row", "col"), [(0, 0), (0, 5), (3, 0), (3, 5)])
def test_objects_in_image_corners(row: int, col: int) -> None:
    labels = np.zeros((4, 6), np.int32)
    labels[row, col] = 1
    labels[1:3, 2:4] = 2
    polygons = assert_round_trip(labels)
    assert [p.id for p in polygons] == [1, 2]
    assert [area(p) for p in polygons] == pytest.approx([1.0, 4.0])


def test_label_filling_the_whole_image() -> None:
    labels = np.full((30, 40), 3, np.int32)
    (polygon,) = assert_round_trip(labels)
    assert area(polygon) == pytest.approx(1200.0)
    assert polygon.exterior.min(axis=0) == pytest.approx([0.0, 0.0], abs=0.01)
    assert polygon.exterior.max(axis=0) == pytest.approx([40.0, 30.0], abs=0.01)


def test_hole_with_an_island_of_the_same_label_is_a_separate_polygon() -> None:
    labels = np.zeros((30, 30), np.int32)
    labels[2:28, 2:28] = 1
    labels[8:22, 8:22] = 0
    labels[12:18, 12:18] = 1
    outer, island = assert_round_trip(labels)
    assert (outer.id, island.id) == (1, 1)
    assert len(outer.holes) == 1 and island.holes == ()
    assert area(outer) == pytest.approx(26 * 26 - 14 * 14)
    assert signed_area(outer.holes[0]) == pytest.approx(-(14 * 14))
    assert area(island) == pytest.approx(36)


def test_hole_filled_by_other_labels_and_background_is_one_hole() -> None:
    labels = np.zeros((30, 30), np.int32)
    labels[2:28, 2:28] = 5
    labels[8:22, 8:22] = 0
    labels[8:22, 8:15] = 2
    labels[10:13, 16:19] = 3
    polygons = assert_round_trip(labels)
    assert [p.id for p in polygons] == [2, 3, 5]
    ring = polygons[2]
    assert len(ring.holes) == 1
    assert signed_area(ring.holes[0]) == pytest.approx(-(14 * 14))
    assert polygons[0].holes == () and polygons[1].holes == ()


def test_nested_rings_each_keep_their_own_hole() -> None:
    labels = np.zeros((60, 60), np.int32)
    for level, half in enumerate((28, 22, 16, 10, 4)):
        labels[30 - half : 30 + half, 30 - half : 30 + half] = 4 if level % 2 == 0 else 0
    polygons = assert_round_trip(labels)
    assert [len(p.holes) for p in polygons] == [1, 1, 0]
    assert [area(p) for p in polygons] == pytest.approx([56**2 - 44**2, 32**2 - 20**2, 64])


def test_many_holes_in_one_region() -> None:
    labels = np.ones((41, 41), np.int32)
    labels[2:-2:4, 2:-2:4] = 0
    labels[4:-2:4, 4:-2:4] = 9
    (cheese, *islands) = assert_round_trip(labels)
    assert cheese.id == 1 and len(cheese.holes) == 100 + 81
    assert len(islands) == 81 and {p.id for p in islands} == {9}
    assert area(cheese) == pytest.approx(41 * 41 - 100 - 81)


def test_touching_labels_share_a_boundary() -> None:
    labels = np.zeros((40, 50), np.int32)
    yy, xx = np.mgrid[:40, :50] + 0.5
    labels[(xx - 18) ** 2 + (yy - 20) ** 2 <= 15**2] = 1
    labels[((xx - 36) ** 2 + (yy - 20) ** 2 <= 12**2)] = 2
    labels[:, 45:] = 3
    polygons = assert_round_trip(labels)
    counts = np.bincount(labels.ravel())
    assert [area(p) for p in polygons] == pytest.approx(counts[1:].tolist())


def test_diagonal_neighbours_are_one_region() -> None:
    labels = np.zeros((6, 6), np.int32)
    labels[[1, 2, 3, 4], [1, 2, 3, 4]] = 1
    labels[4, 1] = 1
    polygons = assert_round_trip(labels)
    assert [p.id for p in polygons] == [1, 1]
    assert sorted(area(p) for p in polygons) == pytest.approx([1.0, 4.0])


def test_a_wall_joined_only_diagonally_still_encloses_a_hole() -> None:
    yy, xx = np.mgrid[:21, :21]
    labels = (np.abs(xx - 10) + np.abs(yy - 10) == 8).astype(np.int32)
    (diamond,) = assert_round_trip(labels)
    assert len(diamond.holes) == 1
    assert area(diamond) == pytest.approx(32)


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal", "antidiagonal"])
def test_one_pixel_wide_lines(direction: str) -> None:
    labels = np.zeros((160, 160), np.int32)
    i = np.arange(5, 155)
    index = {
        "horizontal": (np.full_like(i, 80), i),
        "vertical": (i, np.full_like(i, 80)),
        "diagonal": (i, i),
        "antidiagonal": (i, 159 - i),
    }[direction]
    labels[index] = 12
    (line,) = assert_round_trip(labels)
    assert area(line) == pytest.approx(150)


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.bool_]
)
def test_integer_dtypes(dtype: type) -> None:
    labels: NDArray[np.integer] = np.zeros((10, 10), dtype)
    labels[2:5, 3:8] = 1
    (polygon,) = polygons_from_labels(labels)
    assert polygon.id == 1 and area(polygon) == pytest.approx(15)


def test_extreme_int32_label_values_and_sorting() -> None:
    labels = np.zeros((12, 12), np.int32)
    labels[1:4, 1:4] = np.iinfo(np.int32).max
    labels[6:9, 1:4] = 1
    labels[1:4, 6:9] = 70000
    labels[8:11, 8:11] = np.iinfo(np.int32).min
    polygons = assert_round_trip(labels)
    assert [p.id for p in polygons] == sorted([2**31 - 1, 1, 70000, -(2**31)])


def test_a_split_label_gives_polygons_in_raster_order() -> None:
    labels = np.zeros((10, 10), np.int32)
    labels[6:9, 1:3] = 4
    labels[1:3, 5:9] = 4
    labels[4, 4] = 2
    polygons = assert_round_trip(labels)
    assert [p.id for p in polygons] == [2, 4, 4]
    assert [area(p) for p in polygons] == pytest.approx([1.0, 8.0, 6.0])


def test_min_area_drops_small_polygons() -> None:
    labels = np.zeros((10, 10), np.int32)
    labels[1, 1] = 1
    labels[4:8, 4:8] = 2
    assert [p.id for p in polygons_from_labels(labels, min_area=2)] == [2]
    assert [p.id for p in polygons_from_labels(labels, min_area=16.5)] == []


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="2-D"):
        polygons_from_labels(np.zeros((2, 2, 2), np.int32))
    with pytest.raises(TypeError, match="integer"):
        polygons_from_labels(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="tolerance"):
        polygons_from_labels(np.zeros((2, 2), np.int32), tolerance=-1)


@pytest.mark.parametrize("seed", range(6))
def test_regions_and_holes_agree_with_skimage(seed: int) -> None:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 4, (12, 12))
    labels = np.kron(coarse, np.ones((3, 3), np.int64))
    labels[rng.random(labels.shape) < 0.15] = 0
    labels[rng.random(labels.shape) < 0.05] = 3
    polygons = assert_round_trip(labels)

    regions = connected_regions(labels, background=0, connectivity=2)
    expected = sorted(
        (int(labels[tuple(r.coords[0])]), int(r.area), 1 - int(r.euler_number))
        for r in regionprops(regions)
    )
    found = sorted((p.id, round(area(p)), len(p.holes)) for p in polygons)
    assert found == expected


@pytest.mark.parametrize("seed", range(20))
def test_pixel_noise_round_trips_exactly(seed: int) -> None:
    """Dense saddles, one-pixel regions and holes everywhere: the hardest case for tracing."""
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 40, 2)
    values = rng.integers(1, 5, (height, width))
    labels = np.where(rng.random((height, width)) < rng.uniform(0.2, 0.9), values, 0)
    polygons = assert_round_trip(labels.astype(np.int32))
    assert len(polygons) == connected_regions(labels, background=0, connectivity=2).max()
    counts = np.bincount(labels.ravel(), minlength=5)
    areas = np.zeros(5)
    for polygon in polygons:
        areas[polygon.id] += area(polygon)
    np.testing.assert_allclose(areas[1:], counts[1:], atol=1e-9)
