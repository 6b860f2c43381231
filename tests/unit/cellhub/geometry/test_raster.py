"""Polygons to pixels: the pixel-centre rule, holes, overwrite order, clipping, cropping."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from cellhub.geometry import Polygon, labels_from_polygons, rasterize_polygon


def square(x0: float, y0: float, x1: float, y1: float) -> NDArray[np.float64]:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def centres_inside(rings: list[NDArray[np.float64]], shape: tuple[int, int]) -> NDArray[np.bool_]:
    """Even-odd crossing test of every pixel centre, one edge at a time (the slow reference)."""
    yy, xx = np.mgrid[: shape[0], : shape[1]] + 0.5
    inside = np.zeros(shape, dtype=bool)
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, np.roll(ring, -1, axis=0), strict=True):
            if y0 == y1:
                continue
            spans = (np.minimum(y0, y1) <= yy) & (yy < np.maximum(y0, y1))
            crossing = x0 + (yy - y0) * ((x1 - x0) / (y1 - y0))
            inside ^= spans & (crossing <= xx)
    return inside


def star(rng: np.random.Generator, centre: float, radius: float, vertices: int) -> Polygon:
    """A star-shaped polygon with a small square hole that its exterior always contains."""
    angle = (np.arange(vertices) + rng.uniform(0, 0.8, vertices)) * (2 * np.pi / vertices)
    r = radius * rng.uniform(0.5, 1.0, vertices)
    exterior = np.column_stack((centre + r * np.cos(angle), centre + r * np.sin(angle)))
    low, high = centre - 0.15 * radius, centre + 0.1 * radius
    hole = square(low, low, high, high)
    return Polygon(exterior=exterior, holes=(hole[::-1].copy(),), id=3)


def test_a_pixel_belongs_when_its_centre_is_inside() -> None:
    out = labels_from_polygons([Polygon(square(1, 1, 3, 3), id=5)], (4, 4))
    expected = np.zeros((4, 4), np.int32)
    expected[1:3, 1:3] = 5
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.int32


def test_a_polygon_between_centres_covers_nothing() -> None:
    polygon = Polygon(square(1.6, 1.6, 2.4, 2.4), id=1)
    assert not labels_from_polygons([polygon], (4, 4)).any()
    row0, col0, mask = rasterize_polygon(polygon)
    assert (row0, col0) == (2, 2) and not mask.any()


def test_holes_are_left_out() -> None:
    polygon = Polygon(square(0, 0, 6, 6), holes=(square(2, 2, 4, 4)[::-1].copy(),), id=2)
    out = labels_from_polygons([polygon], (6, 6))
    assert out.sum() == 2 * (36 - 4)
    assert not out[2:4, 2:4].any()


def test_later_polygons_overwrite_earlier_ones() -> None:
    first = Polygon(square(0, 0, 4, 4), id=1)
    second = Polygon(square(2, 2, 6, 6), id=2)
    out = labels_from_polygons([first, second], (6, 6))
    assert out[3, 3] == 2 and out[1, 1] == 1 and out[5, 5] == 2
    assert labels_from_polygons([second, first], (6, 6))[3, 3] == 1


def test_polygons_beyond_the_image_are_clipped() -> None:
    polygons = [Polygon(square(-5, -3, 2, 2), id=1), Polygon(square(3, 3, 50, 9), id=2)]
    out = labels_from_polygons(polygons, (5, 6))
    expected = np.zeros((5, 6), np.int32)
    expected[:2, :2] = 1
    expected[3:, 3:] = 2
    np.testing.assert_array_equal(out, expected)


def test_rasterize_polygon_crop_can_start_outside_the_image() -> None:
    row0, col0, mask = rasterize_polygon(Polygon(square(-3, -2, 1, 1), id=1))
    assert (row0, col0) == (-2, -3)
    assert mask.shape == (3, 4) and mask.all()


def test_a_centre_on_a_shared_edge_goes_to_exactly_one_polygon() -> None:
    left = Polygon(square(0.5, 0, 2.5, 3), id=1)
    right = Polygon(square(2.5, 0, 4.5, 3), id=2)
    out = labels_from_polygons([left, right], (3, 5))
    np.testing.assert_array_equal(out, [[1, 1, 2, 2, 0]] * 3)
    for polygon, first_col in ((left, 0), (right, 2)):
        _, col0, mask = rasterize_polygon(polygon)
        assert col0 == first_col and mask.shape == (3, 2) and mask.all()


@pytest.mark.parametrize("seed", range(8))
def test_scanline_fill_matches_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    polygon = star(rng, 30.0 + rng.uniform(), 25.0, int(rng.integers(6, 60)))
    expected = centres_inside([polygon.exterior, *polygon.holes], (64, 64))
    out = labels_from_polygons([polygon], (64, 64))
    np.testing.assert_array_equal(out == 3, expected)

    row0, col0, mask = rasterize_polygon(polygon)
    cropped = np.zeros((64, 64), bool)
    cropped[row0 : row0 + mask.shape[0], col0 : col0 + mask.shape[1]] = mask
    np.testing.assert_array_equal(cropped, expected)


def test_vertices_on_scanlines_and_centres() -> None:
    diamond = np.array([[2.5, 0.5], [4.5, 2.5], [2.5, 4.5], [0.5, 2.5]])
    polygon = Polygon(diamond, id=1)
    expected = centres_inside([diamond], (5, 5))
    np.testing.assert_array_equal(labels_from_polygons([polygon], (5, 5)) == 1, expected)
    _, _, mask = rasterize_polygon(polygon)
    assert mask.sum() == expected.sum()


def test_a_5000_vertex_polygon() -> None:
    t = np.linspace(0, 2 * np.pi, 5000, endpoint=False)
    r = 90 * (1 + 0.2 * np.sin(9 * t))
    ring = np.column_stack((100.3 + r * np.cos(t), 99.8 + r * np.sin(t)))
    polygon = Polygon(ring, id=9)
    expected = centres_inside([ring], (200, 200))
    np.testing.assert_array_equal(labels_from_polygons([polygon], (200, 200)) == 9, expected)


def test_no_polygons_paint_nothing() -> None:
    out = labels_from_polygons([], (3, 7))
    assert out.shape == (3, 7) and out.dtype == np.int32 and not out.any()
