"""Every shape metric of METRICS.md for a batch of polygons, as one column array per metric.

Composes the batch stages (ring packing, Green's-theorem moments, convex hulls, calipers) and
derives the ratios from them. All outputs are in pixels; unit scaling and column naming happen
where rows are built. Ratios of a degenerate polygon (zero area, zero perimeter, collinear
vertices) come out NaN, silently, and so does every metric but the hole count of a polygon
with a non-finite coordinate: a malformed object must not fail a whole image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cellhub.geometry.polygon import Polygon
from cellhub.metrics.calipers import feret_diameters
from cellhub.metrics.columns import SHAPE_METRICS
from cellhub.metrics.hull import area_and_perimeter, convex_hulls
from cellhub.metrics.moments import inertia_ellipse, region_moments
from cellhub.metrics.packing import BoolArray, FloatArray, PackedRings, Rings, pack_rings


def shape_metrics(polygons: Sequence[Polygon]) -> dict[str, FloatArray]:
    """``{metric: (P,) float64}`` in pixels for every name of ``SHAPE_METRICS``, in its order.

    Coordinates are image pixels ``(x, y)``, y down; angles are degrees in ``[0, 180)``,
    counter-clockwise as seen on screen. ``hole_count`` is float here (integral values).
    """
    packed = pack_rings(polygons)
    count = len(polygons)
    moments = region_moments(packed)
    ellipse = inertia_ellipse(moments)
    exteriors = packed.exteriors()
    hulls = convex_hulls(exteriors)
    convex_area, convex_perimeter = area_and_perimeter(hulls, count)
    feret = feret_diameters(hulls, count)
    perimeter, perimeter_with_holes = _perimeters(packed)
    bbox_x, bbox_y, bbox_width, bbox_height = _bounding_boxes(exteriors, packed)
    area = moments.area
    hole_count = np.fromiter((len(p.holes) for p in polygons), dtype=np.float64, count=count)

    # Zero area (collinear or repeated vertices) is no region: its ratios do not exist.
    is_region = area > 0.0
    circularity = _ratio(4.0 * np.pi * area, perimeter**2, is_region)
    metrics = {
        "area": area,
        "perimeter": perimeter,
        "perimeter_with_holes": perimeter_with_holes,
        "hole_count": hole_count,
        "hole_area": moments.hole_area,
        "centroid_x": moments.centroid_x,
        "centroid_y": moments.centroid_y,
        "equivalent_diameter": np.sqrt(4.0 * np.maximum(area, 0.0) / np.pi),
        "circularity": circularity,
        "compactness": _ratio(perimeter**2, 4.0 * np.pi * area, is_region),
        "sphericity": np.sqrt(circularity),
        "convex_area": convex_area,
        "convex_perimeter": convex_perimeter,
        "solidity": _ratio(area, convex_area, is_region),
        "convexity": _ratio(convex_perimeter, perimeter, is_region),
        "feret_max": feret.max_diameter,
        "feret_max_angle": feret.max_angle,
        "feret_min": feret.min_width,
        "feret_min_angle": feret.min_angle,
        "feret_aspect_ratio": _ratio(feret.max_diameter, feret.min_width, is_region),
        "major_axis_length": ellipse.major_axis_length,
        "minor_axis_length": ellipse.minor_axis_length,
        "orientation": ellipse.orientation,
        "eccentricity": ellipse.eccentricity,
        "bbox_x": bbox_x,
        "bbox_y": bbox_y,
        "bbox_width": bbox_width,
        "bbox_height": bbox_height,
        "extent": _ratio(area, bbox_width * bbox_height, is_region),
    }
    if packed.invalid.any():
        for name, values in metrics.items():
            if name != "hole_count":
                values[packed.invalid] = np.nan
    return {name: metrics[name] for name in SHAPE_METRICS}


def _perimeters(packed: PackedRings) -> tuple[FloatArray, FloatArray]:
    """``(P,)`` length of the exterior and of exterior plus holes."""
    rings = packed.rings
    following = rings.next_vertex()
    dx, dy = rings.x[following] - rings.x, rings.y[following] - rings.y
    ring_length = rings.sums(np.sqrt(dx * dx + dy * dy))
    exterior_only = np.where(packed.is_hole, 0.0, ring_length)
    return packed.polygon_sums(exterior_only), packed.polygon_sums(ring_length)


def _bounding_boxes(
    exteriors: Rings, packed: PackedRings
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``(P,)`` x, y, width, height of each exterior's axis-aligned box (NaN without one)."""
    boxes = np.full((4, packed.polygon_count), np.nan)
    if len(exteriors.start):
        owner = exteriors.polygon
        x0 = np.minimum.reduceat(exteriors.x, exteriors.start)
        y0 = np.minimum.reduceat(exteriors.y, exteriors.start)
        boxes[0, owner] = x0 + packed.origin[owner, 0]
        boxes[1, owner] = y0 + packed.origin[owner, 1]
        boxes[2, owner] = np.maximum.reduceat(exteriors.x, exteriors.start) - x0
        boxes[3, owner] = np.maximum.reduceat(exteriors.y, exteriors.start) - y0
    return boxes[0], boxes[1], boxes[2], boxes[3]


def _ratio(numerator: FloatArray, denominator: FloatArray, exists: BoolArray) -> FloatArray:
    """``numerator / denominator`` where ``exists`` and the quotient is finite, NaN elsewhere."""
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = numerator / denominator
    return np.where(exists & np.isfinite(quotient), quotient, np.nan)
