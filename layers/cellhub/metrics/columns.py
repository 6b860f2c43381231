"""Metric names, their physical kind, and the column names exporters write.

Names and definitions come from METRICS.md. A column carries its unit when it has one:
lengths ``_px`` / ``_um``, areas ``_px2`` / ``_um2`` (µm when a pixel size is known). Angles
are degrees, 0 = +x, counter-clockwise as seen on screen, in ``[0, 180)``. Unitless ratios,
counts and intensities (native pixel values) carry no suffix.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from numpy.typing import ArrayLike, NDArray


class Kind(Enum):
    LENGTH = "length"
    AREA = "area"
    RATIO = "ratio"
    ANGLE = "angle"
    COUNT = "count"
    INTENSITY = "intensity"


SHAPE_METRICS: dict[str, Kind] = {
    "area": Kind.AREA,
    "perimeter": Kind.LENGTH,
    "perimeter_with_holes": Kind.LENGTH,
    "hole_count": Kind.COUNT,
    "hole_area": Kind.AREA,
    "centroid_x": Kind.LENGTH,
    "centroid_y": Kind.LENGTH,
    "equivalent_diameter": Kind.LENGTH,
    "circularity": Kind.RATIO,
    "compactness": Kind.RATIO,
    "sphericity": Kind.RATIO,
    "convex_area": Kind.AREA,
    "convex_perimeter": Kind.LENGTH,
    "solidity": Kind.RATIO,
    "convexity": Kind.RATIO,
    "feret_max": Kind.LENGTH,
    "feret_max_angle": Kind.ANGLE,
    "feret_min": Kind.LENGTH,
    "feret_min_angle": Kind.ANGLE,
    "feret_aspect_ratio": Kind.RATIO,
    "major_axis_length": Kind.LENGTH,
    "minor_axis_length": Kind.LENGTH,
    "orientation": Kind.ANGLE,
    "eccentricity": Kind.RATIO,
    "bbox_x": Kind.LENGTH,
    "bbox_y": Kind.LENGTH,
    "bbox_width": Kind.LENGTH,
    "bbox_height": Kind.LENGTH,
    "extent": Kind.RATIO,
}

INTENSITY_STATS: tuple[str, ...] = ("mean", "std", "min", "max", "integrated")

# Statistics of each per-object metric column in the per-image summary, in column order.
SUMMARY_STATS: tuple[str, ...] = ("mean", "median", "std", "min", "max")

# Identity columns that lead every per-object row; not metrics, never summarised.
ID_COLUMNS: tuple[str, ...] = ("object_id", "class")


def screen_angle_deg(dx: ArrayLike, dy: ArrayLike) -> NDArray[np.float64]:
    """Axis angle of image-frame vectors ``(dx, dy)`` (y down) in degrees, ``[0, 180)``.

    0 is +x and angles grow counter-clockwise *as seen on screen*, hence ``atan2(-dy, dx)``.
    A direction and its reverse give the same angle (an axis, not a heading).
    """
    angle = np.mod(np.degrees(np.arctan2(-np.asarray(dy), np.asarray(dx))), 180.0)
    # mod can round a tiny negative angle up to exactly 180.
    return np.where(angle >= 180.0, 0.0, angle).astype(np.float64)


def unit_suffix(kind: Kind, pixel_size_um: float | None) -> str:
    unit = "um" if pixel_size_um else "px"
    if kind is Kind.LENGTH:
        return f"_{unit}"
    if kind is Kind.AREA:
        return f"_{unit}2"
    return ""


def scale_factor(kind: Kind, pixel_size_um: float | None) -> float:
    """Multiplier from pixel units to the column's unit."""
    if not pixel_size_um:
        return 1.0
    if kind is Kind.LENGTH:
        return pixel_size_um
    if kind is Kind.AREA:
        return pixel_size_um * pixel_size_um
    return 1.0


def column_name(metric: str, pixel_size_um: float | None) -> str:
    """``area`` -> ``area_px2`` / ``area_um2``; ``circularity`` -> ``circularity``."""
    return metric + unit_suffix(SHAPE_METRICS[metric], pixel_size_um)


def intensity_column(stat: str, channel: int) -> str:
    """``("mean", 0)`` -> ``mean_intensity_c0``."""
    return f"{stat}_intensity_c{channel}"


def metric_columns(pixel_size_um: float | None, channels: int = 0) -> list[str]:
    """Every per-object column in export order: ids, shape metrics, then intensities."""
    columns = list(ID_COLUMNS)
    columns += [column_name(m, pixel_size_um) for m in SHAPE_METRICS]
    columns += [intensity_column(s, c) for c in range(channels) for s in INTENSITY_STATS]
    return columns


def summary_columns(pixel_size_um: float | None, channels: int = 0) -> list[str]:
    """Every per-image summary column in export order: count, covered area, statistics."""
    total_area = "total_area" + unit_suffix(Kind.AREA, pixel_size_um)
    columns = ["object_count", total_area, "area_fraction"]
    metrics = [c for c in metric_columns(pixel_size_um, channels) if c not in ID_COLUMNS]
    columns += [f"{column}_{stat}" for column in metrics for stat in SUMMARY_STATS]
    return columns
