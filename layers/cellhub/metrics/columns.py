"""Metric names, their physical kind, and the column names exporters write.

Names and definitions come from METRICS.md. A column carries its unit when it has one:
lengths ``_px`` / ``_um``, areas ``_px2`` / ``_um2`` (µm when a pixel size is known). Angles
are degrees, 0 = +x, counter-clockwise as seen on screen, in ``[0, 180)``. Unitless ratios,
counts and intensities (native pixel values) carry no suffix.
"""

from __future__ import annotations

from enum import Enum


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

# Identity columns that lead every per-object row; not metrics, never summarised.
ID_COLUMNS: tuple[str, ...] = ("object_id", "class")


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
