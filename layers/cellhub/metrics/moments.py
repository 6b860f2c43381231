"""Area, centroid and the second-moment ellipse of polygons with holes, by Green's theorem.

Each ring contributes the integrals of 1, x, y, x², y² and xy over the area it encloses,
computed exactly from its edges. A ring's sign is taken from its role (exterior adds, hole
subtracts) rather than from its vertex order, so a ring stored in the wrong orientation still
measures the region net of holes.

The ellipse matches ``skimage.measure.regionprops``, which takes moments over pixel *centres*:
the polygon of a region covers whole pixel squares, and a uniform unit square has variance 1/12
along each axis, so the continuous variances exceed the pixel-centre ones by exactly 1/12.
That amount is taken off before the eigen-decomposition (major = 4·√λ₁, minor = 4·√λ₂).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cellhub.metrics.columns import screen_angle_deg
from cellhub.metrics.packing import FloatArray, PackedRings

# Variance of a uniform unit pixel along one axis: continuous minus pixel-centre moments.
PIXEL_VARIANCE = 1.0 / 12.0


@dataclass(frozen=True, slots=True)
class RegionMoments:
    """Per-polygon ``(P,)`` float64 arrays, pixels, image coordinates ``(x, y)``.

    ``area`` is net of holes and ``hole_area`` the holes' total; ``centroid_*`` is the area
    centroid of the region net of holes; ``mu20`` / ``mu02`` / ``mu11`` are its continuous
    central second moments per unit area (var x, var y, cov xy). NaN where the area is zero.
    """

    area: FloatArray
    hole_area: FloatArray
    centroid_x: FloatArray
    centroid_y: FloatArray
    mu20: FloatArray
    mu02: FloatArray
    mu11: FloatArray


@dataclass(frozen=True, slots=True)
class InertiaEllipse:
    """Per-polygon ``(P,)`` float64: axis lengths (pixels), orientation (degrees, on-screen
    counter-clockwise from +x, in ``[0, 180)``) and eccentricity of the second-moment ellipse."""

    major_axis_length: FloatArray
    minor_axis_length: FloatArray
    orientation: FloatArray
    eccentricity: FloatArray


def region_moments(packed: PackedRings) -> RegionMoments:
    """Green's-theorem moments of every polygon in ``packed`` (exterior minus holes)."""
    rings = packed.rings
    nxt = rings.next_vertex()
    x, y = rings.x, rings.y
    x1, y1 = x[nxt], y[nxt]
    cross = x * y1 - x1 * y

    ring_area2 = rings.sums(cross)
    # +1 for an exterior and -1 for a hole, whatever the order its vertices were stored in.
    role = np.where(packed.is_hole, -1.0, 1.0)
    orient = role * np.where(ring_area2 < 0.0, -1.0, 1.0)

    def integral(per_edge: FloatArray, divisor: float) -> FloatArray:
        return packed.polygon_sums(rings.sums(per_edge) * orient) / divisor

    area = integral(cross, 2.0)
    sx = integral((x + x1) * cross, 6.0)
    sy = integral((y + y1) * cross, 6.0)
    sxx = integral((x * x + x * x1 + x1 * x1) * cross, 12.0)
    syy = integral((y * y + y * y1 + y1 * y1) * cross, 12.0)
    sxy = integral((x * (y1 + y + y) + x1 * (y + y1 + y1)) * cross, 24.0)
    hole_area = packed.polygon_sums(np.where(packed.is_hole, np.abs(ring_area2), 0.0)) / 2.0

    with np.errstate(divide="ignore", invalid="ignore"):
        usable = np.where(area > 0.0, area, np.nan)
        cx = sx / usable
        cy = sy / usable
        mu20 = sxx / usable - cx * cx
        mu02 = syy / usable - cy * cy
        mu11 = sxy / usable - cx * cy
    return RegionMoments(
        area=area,
        hole_area=hole_area,
        centroid_x=cx + packed.origin[:, 0],
        centroid_y=cy + packed.origin[:, 1],
        mu20=mu20,
        mu02=mu02,
        mu11=mu11,
    )


def inertia_ellipse(moments: RegionMoments) -> InertiaEllipse:
    """The ellipse with the pixel-centre second moments of each region (see module doc)."""
    a = moments.mu20 - PIXEL_VARIANCE
    c = moments.mu02 - PIXEL_VARIANCE
    b = moments.mu11
    with np.errstate(divide="ignore", invalid="ignore"):
        half_trace = 0.5 * (a + c)
        radius = np.hypot(0.5 * (a - c), b)
        # A one-pixel-wide region has a true minor variance of 0 that rounding may push below.
        lam1 = np.maximum(half_trace + radius, 0.0)
        lam2 = np.maximum(half_trace - radius, 0.0)
        eccentricity = np.sqrt(1.0 - lam2 / lam1)
        # Major-axis direction in the image frame (x right, y down), as an angle from +x.
        theta = 0.5 * np.arctan2(2.0 * b, a - c)
    return InertiaEllipse(
        major_axis_length=4.0 * np.sqrt(lam1),
        minor_axis_length=4.0 * np.sqrt(lam2),
        orientation=screen_angle_deg(np.cos(theta), np.sin(theta)),
        eccentricity=eccentricity,
    )
