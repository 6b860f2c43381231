"""Per-image summary of the per-object rows: counts, covered area and metric statistics.

Statistics and the total area skip NaN values (the ratios of a degenerate object must not blank
the whole image's mean); the standard deviation is the population one (``ddof=0``), like the
intensity std. With no objects, or no finite value in a column, the statistics are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

import numpy as np

from cellhub.metrics.columns import (
    ID_COLUMNS,
    SUMMARY_STATS,
    Kind,
    column_name,
    metric_columns,
    unit_suffix,
)
from cellhub.metrics.packing import FloatArray


def summarize(
    rows: Sequence[dict[str, Any]],
    *,
    image_width: int,
    image_height: int,
    pixel_size: float | None = None,
) -> dict[str, Any]:
    """The summary of one image's ``rows`` (as made by ``measure`` with the same pixel size).

    Keys: ``object_count`` (int), ``total_area_{px2|um2}``, ``area_fraction`` (total area over
    the image's ``image_width * image_height`` pixels, in the same unit), then
    ``{column}_{mean,median,std,min,max}`` for every numeric metric column of the rows, in
    row order. With no rows the columns are the shape metrics' (no intensity columns).
    """
    areas = np.array([_as_float(row[column_name("area", pixel_size)]) for row in rows])
    total_area = math.fsum(areas[np.isfinite(areas)].tolist())
    image_area = float(image_width * image_height) * (pixel_size or 1.0) ** 2
    summary: dict[str, Any] = {
        "object_count": len(rows),
        f"total_area{unit_suffix(Kind.AREA, pixel_size)}": total_area,
        "area_fraction": total_area / image_area if image_area > 0 else math.nan,
    }
    for column in _numeric_columns(rows, pixel_size):
        values = np.array([_as_float(row.get(column)) for row in rows], dtype=np.float64)
        finite = values[np.isfinite(values)]
        for stat in SUMMARY_STATS:
            summary[f"{column}_{stat}"] = _statistic(finite, stat)
    return summary


def _numeric_columns(rows: Sequence[dict[str, Any]], pixel_size: float | None) -> list[str]:
    """Metric columns to summarise: the first row's non-identity keys with numeric values."""
    if not rows:
        return [c for c in metric_columns(pixel_size) if c not in ID_COLUMNS]
    return [
        key
        for key, value in rows[0].items()
        if key not in ID_COLUMNS and isinstance(value, Real) and not isinstance(value, bool)
    ]


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


_REDUCERS: dict[str, Callable[[FloatArray], Any]] = {
    "mean": np.mean,
    "median": np.median,
    "std": np.std,
    "min": np.min,
    "max": np.max,
}


def _statistic(finite: FloatArray, stat: str) -> float:
    return float(_REDUCERS[stat](finite)) if len(finite) else math.nan
