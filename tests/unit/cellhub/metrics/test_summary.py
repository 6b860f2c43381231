"""The per-image summary: counts, covered area and per-column statistics of metric rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cellhub.geometry.polygon import Polygon
from cellhub.metrics import measure, summarize
from cellhub.metrics.columns import SUMMARY_STATS, summary_columns


def square(x0: float, y0: float, side: float) -> np.ndarray:
    return np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]], float)


def test_counts_area_fraction_and_statistics() -> None:
    polygons = [Polygon(square(10 * k, 0, 2 + k), id=k) for k in range(5)]
    rows = measure(polygons)
    summary = summarize(rows, image_width=100, image_height=50)

    areas = np.array([(2.0 + k) ** 2 for k in range(5)])
    assert summary["object_count"] == 5
    assert summary["total_area_px2"] == pytest.approx(areas.sum())
    assert summary["area_fraction"] == pytest.approx(areas.sum() / 5000.0)
    assert summary["area_px2_mean"] == pytest.approx(areas.mean())
    assert summary["area_px2_median"] == pytest.approx(np.median(areas))
    assert summary["area_px2_std"] == pytest.approx(areas.std())
    assert summary["area_px2_min"] == pytest.approx(areas.min())
    assert summary["area_px2_max"] == pytest.approx(areas.max())
    assert summary["hole_count_mean"] == 0.0
    assert list(summary) == summary_columns(None)
    assert "object_id_mean" not in summary and "class_mean" not in summary


def test_pixel_size_units_and_fraction() -> None:
    rows = measure([Polygon(square(0, 0, 10))], pixel_size=0.5)
    summary = summarize(rows, image_width=20, image_height=20, pixel_size=0.5)
    assert summary["total_area_um2"] == pytest.approx(25.0)
    assert summary["area_fraction"] == pytest.approx(0.25)
    assert summary["perimeter_um_max"] == pytest.approx(20.0)
    assert list(summary) == summary_columns(0.5)


def test_intensity_columns_are_summarised() -> None:
    image = np.arange(40 * 40 * 2, dtype=np.uint16).reshape(40, 40, 2)
    rows = measure([Polygon(square(0, 0, 10)), Polygon(square(20, 20, 5))], image=image)
    summary = summarize(rows, image_width=40, image_height=40)
    assert list(summary) == summary_columns(None, channels=2)
    means = [row["mean_intensity_c1"] for row in rows]
    assert summary["mean_intensity_c1_mean"] == pytest.approx(np.mean(means))


def test_no_objects_gives_zero_count_and_nan_statistics() -> None:
    summary = summarize([], image_width=64, image_height=64)
    assert summary["object_count"] == 0
    assert summary["total_area_px2"] == 0.0
    assert summary["area_fraction"] == 0.0
    assert list(summary) == summary_columns(None)
    stats = [v for k, v in summary.items() if k.endswith(tuple(f"_{s}" for s in SUMMARY_STATS))]
    assert stats and all(math.isnan(v) for v in stats)


def test_nan_values_are_skipped() -> None:
    degenerate = Polygon(np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 10.0]]))
    rows = measure([degenerate, Polygon(square(0, 0, 10)), Polygon(square(0, 0, 20))])
    summary = summarize(rows, image_width=100, image_height=100)
    assert summary["object_count"] == 3
    assert summary["circularity_mean"] == pytest.approx(math.pi / 4)
    assert summary["solidity_min"] == pytest.approx(1.0)
