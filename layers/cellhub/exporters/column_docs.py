"""Units and one-line definitions of export columns, for the metadata sheet and file.

A column name carries its unit (``area_um2``, ``perimeter_px``; see ``metrics.columns``); this
module turns a name back into ``(unit, definition)`` so a reader of a spreadsheet, months
later, can tell what ``feret_min_angle`` meant without METRICS.md at hand. Summary columns
(``area_px2_mean``, ``mean_area_px2``) are described as that statistic of the object column.
"""

from __future__ import annotations

import re

from cellhub.metrics.columns import INTENSITY_STATS, SHAPE_METRICS, Kind

DEFINITIONS: dict[str, str] = {
    "image": "image name (relative path as uploaded)",
    "width": "image width in pixels",
    "height": "image height in pixels",
    "object_id": "object number within its image",
    "class": "object class",
    "object_count": "number of objects in the image",
    "total_area": "sum of the objects' areas",
    "area_fraction": "total object area / image area",
    "area": "exterior area minus hole areas (shoelace)",
    "perimeter": "length of the exterior ring",
    "perimeter_with_holes": "length of the exterior plus all hole rings",
    "hole_count": "number of holes",
    "hole_area": "summed area of the holes",
    "centroid_x": "x of the area centroid net of holes (right from the left edge)",
    "centroid_y": "y of the area centroid net of holes (down from the top edge)",
    "equivalent_diameter": "diameter of the disc with the same area: sqrt(4 area / pi)",
    "circularity": "4 pi area / perimeter^2 (1 for a disc, unclamped)",
    "compactness": "perimeter^2 / (4 pi area)",
    "sphericity": "sqrt(circularity)",
    "convex_area": "area of the convex hull of the exterior",
    "convex_perimeter": "length of the convex hull of the exterior",
    "solidity": "area / convex area",
    "convexity": "convex perimeter / perimeter",
    "feret_max": "largest caliper diameter",
    "feret_max_angle": "direction of feret_max, counter-clockwise on screen from +x",
    "feret_min": "smallest caliper width",
    "feret_min_angle": "direction of feret_min, counter-clockwise on screen from +x",
    "feret_aspect_ratio": "feret_max / feret_min",
    "major_axis_length": "major axis of the same-moments ellipse (4 sqrt(lambda1))",
    "minor_axis_length": "minor axis of the same-moments ellipse (4 sqrt(lambda2))",
    "orientation": "major-axis direction, counter-clockwise on screen from +x",
    "eccentricity": "eccentricity of the same-moments ellipse",
    "bbox_x": "left edge of the exterior's bounding box",
    "bbox_y": "top edge of the exterior's bounding box",
    "bbox_width": "bounding box width",
    "bbox_height": "bounding box height",
    "extent": "area / (bbox_width * bbox_height)",
}

STATISTICS: dict[str, str] = {
    "mean": "mean",
    "median": "median",
    "std": "standard deviation",
    "min": "minimum",
    "max": "maximum",
}

_UNITS: tuple[tuple[str, str], ...] = (
    ("_um2", "µm²"),
    ("_px2", "px²"),
    ("_um", "µm"),
    ("_px", "px"),
)
_INTENSITY = re.compile(r"^(" + "|".join(INTENSITY_STATS) + r")_intensity_c(\d+)$")


def describe_column(name: str) -> tuple[str, str]:
    """``(unit, definition)`` of an export column; unknown names get ``("", "")``."""
    known = _describe_plain(name)
    if known is not None:
        return known
    for stat, words in STATISTICS.items():
        for base in (_strip(name, suffix=f"_{stat}"), _strip(name, prefix=f"{stat}_")):
            described = _describe_plain(base) if base else None
            if described is not None:
                unit, definition = described
                return unit, f"{words} over the image's objects of: {definition}"
    return "", ""


def _describe_plain(name: str) -> tuple[str, str] | None:
    intensity = _INTENSITY.match(name)
    if intensity:
        stat, channel = intensity.groups()
        return "native pixel value", f"{stat} intensity of channel {channel} over the object"
    metric, unit = name, ""
    for suffix, unit_name in _UNITS:
        if name.endswith(suffix):
            metric, unit = name[: -len(suffix)], unit_name
            break
    if metric not in DEFINITIONS:
        return None
    if SHAPE_METRICS.get(metric) is Kind.ANGLE:
        unit = "degrees [0, 180)"
    return unit, DEFINITIONS[metric]


def _strip(name: str, *, prefix: str = "", suffix: str = "") -> str:
    if prefix and name.startswith(prefix):
        return name[len(prefix) :]
    if suffix and name.endswith(suffix):
        return name[: -len(suffix)]
    return ""
