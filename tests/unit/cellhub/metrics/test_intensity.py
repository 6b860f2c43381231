"""Per-object intensity statistics against NumPy over the object's pixels.

The pixels of an object are those whose centres lie inside the exterior and outside every
hole. Axis-aligned polygons on pixel edges give masks known without any rasteriser; for other
shapes the reference mask comes from ``rasterize_polygon``, the pixel rule itself.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.typing import NDArray

from cellhub.geometry.polygon import Polygon
from cellhub.geometry.raster import rasterize_polygon
from cellhub.metrics import measure
from cellhub.metrics.columns import INTENSITY_STATS, intensity_column, metric_columns


def box(x0: float, y0: float, x1: float, y1: float, *, hole: bool = False) -> NDArray[np.float64]:
    ring = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    return ring[::-1].copy() if hole else ring


def _reference(pixels: NDArray[np.generic]) -> dict[str, NDArray[np.float64]]:
    """Statistics of an ``(n, C)`` selection of pixels, per channel."""
    values = pixels.astype(np.float64)
    return {
        "mean": values.mean(axis=0),
        "std": values.std(axis=0),
        "min": values.min(axis=0),
        "max": values.max(axis=0),
        "integrated": values.sum(axis=0),
    }


def _assert_row_matches(row: dict[str, float], expected: dict[str, NDArray[np.float64]]) -> None:
    for stat in INTENSITY_STATS:
        for channel, value in enumerate(expected[stat]):
            assert row[intensity_column(stat, channel)] == pytest.approx(value, rel=1e-12), (
                stat,
                channel,
            )


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_grey_image_box_with_hole(dtype: type[np.integer]) -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, np.iinfo(dtype).max, (60, 80), dtype=dtype)
    polygon = Polygon(box(10, 5, 40, 30), holes=(box(20, 10, 25, 20, hole=True),))
    (row,) = measure([polygon], image=image)

    inside = np.zeros(image.shape, dtype=bool)
    inside[5:30, 10:40] = True
    inside[10:20, 20:25] = False
    _assert_row_matches(row, _reference(image[inside][:, None]))
    assert list(row) == metric_columns(None, channels=1)


def test_sixteen_bit_values_are_native_and_sums_exact() -> None:
    image = np.full((300, 300), 65535, dtype=np.uint16)
    image[0, 0] = 1000
    (row,) = measure([Polygon(box(0, 0, 300, 300))], image=image)
    assert row["max_intensity_c0"] == 65535.0
    assert row["min_intensity_c0"] == 1000.0
    assert row["integrated_intensity_c0"] == 65535.0 * (300 * 300 - 1) + 1000.0


def test_multichannel_image_against_the_pixel_centre_mask() -> None:
    rng = np.random.default_rng(2)
    image = rng.normal(100.0, 20.0, (128, 96, 3)).astype(np.float32)
    theta = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    polygons = [
        Polygon(np.c_[30 + 14.3 * np.cos(theta), 40 + 9.7 * np.sin(theta)], id=1),
        Polygon(
            box(60.5, 70.2, 90.1, 120.9), holes=(box(70.3, 80.6, 80.4, 100.2, hole=True),), id=2
        ),
    ]
    rows = measure(polygons, image=image)
    for polygon, row in zip(polygons, rows, strict=True):
        row0, col0, mask = rasterize_polygon(polygon)
        rows_idx, cols_idx = np.nonzero(mask)
        _assert_row_matches(row, _reference(image[rows_idx + row0, cols_idx + col0]))
    assert list(rows[0]) == metric_columns(None, channels=3)


def test_objects_are_clipped_to_the_image_and_empty_ones_are_nan() -> None:
    image = np.arange(20 * 30, dtype=np.uint16).reshape(20, 30)
    straddling = Polygon(box(-5, -5, 4, 3))
    outside = Polygon(box(100, 100, 110, 110))
    row, empty = measure([straddling, outside], image=image)
    _assert_row_matches(row, _reference(image[0:3, 0:4].reshape(-1, 1)))
    for stat in INTENSITY_STATS:
        assert math.isnan(empty[intensity_column(stat, 0)])
    assert empty["area_px2"] == pytest.approx(100.0), "shape metrics do not depend on the image"


def test_no_image_means_no_intensity_columns() -> None:
    (row,) = measure([Polygon(box(0, 0, 5, 5))])
    assert not any("intensity" in key for key in row)


def test_degenerate_polygons_get_nan_intensities_without_warnings() -> None:
    image = np.ones((20, 20), dtype=np.uint8)
    nan_ring = box(1, 1, 5, 5)
    nan_ring[1, 1] = np.nan
    polygons = [
        Polygon(np.zeros((0, 2))),
        Polygon(np.array([[2.0, 2.0], [8.0, 8.0]])),
        Polygon(nan_ring),
        Polygon(box(0, 0, 4, 4)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = measure(polygons, image=image)
    for row in rows[:3]:
        assert math.isnan(row["mean_intensity_c0"])
    assert rows[3]["integrated_intensity_c0"] == 16.0
