"""Feret (caliper) diameters of many convex hulls at once, by vectorised rotating calipers.

Walking a counter-clockwise hull, edge direction angles only increase, over one full turn.
Vertex ``i`` is the hull's extreme point for every direction between the outward normals of
edges ``i - 1`` and ``i``, so the vertex antipodal to edge ``j`` (extreme along its inward
normal) is where ``angle(j) + π`` falls among the edge angles: one ``np.searchsorted`` over the
angles of all hulls, each hull's angles offset into its own disjoint range, finds it for every
edge of every hull. The minimum width is the smallest edge-to-antipode distance; the maximum
diameter is the longest of the antipodal vertex pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cellhub.metrics.columns import screen_angle_deg
from cellhub.metrics.packing import FloatArray, IntArray, Rings

# Spacing between hulls in the stacked angle array: more than the 2π one hull spans.
_HULL_ANGLE_SPACING = 8.0


@dataclass(frozen=True, slots=True)
class Feret:
    """Per-polygon ``(P,)`` float64 caliper measures in pixels and degrees (on-screen
    counter-clockwise from +x, ``[0, 180)``); NaN for polygons without an exterior.

    ``max_angle`` is the direction of the longest vertex-to-vertex chord; ``min_angle`` the
    direction in which the smallest width is measured (normal to the supporting edge).
    """

    max_diameter: FloatArray
    max_angle: FloatArray
    min_width: FloatArray
    min_angle: FloatArray


def feret_diameters(hulls: Rings, polygon_count: int) -> Feret:
    """Maximum Feret diameter and minimum caliper width of each counter-clockwise convex hull
    (as made by ``convex_hulls``), with their directions."""
    out = Feret(*(np.full(polygon_count, np.nan) for _ in range(4)))
    if len(hulls.start) == 0:
        return out
    x, y = hulls.x, hulls.y
    segment = hulls.ring_of_vertex()
    start, length = hulls.start[segment], hulls.length[segment]
    following = hulls.next_vertex()
    ex, ey = x[following] - x, y[following] - y

    angle = np.arctan2(ey, ex)
    unwrapped = np.mod(angle - angle[start], 2.0 * np.pi)
    stacked = np.maximum.accumulate(unwrapped + _HULL_ANGLE_SPACING * segment)
    opposite = np.mod(unwrapped + np.pi, 2.0 * np.pi) + _HULL_ANGLE_SPACING * segment
    # Past the hull's last edge angle the search lands on the next hull: wrap to vertex 0.
    antipode_local = np.searchsorted(stacked, opposite, side="left") - start
    antipode_local = np.where(antipode_local >= length, 0, antipode_local)

    antipode = start + antipode_local
    edge_length = np.sqrt(ex * ex + ey * ey)
    with np.errstate(divide="ignore", invalid="ignore"):
        width = (ex * (y[antipode] - y) - ey * (x[antipode] - x)) / edge_length
    width = np.where(edge_length > 0.0, width, 0.0)

    # Edge j's start vertex paired with its antipode covers every antipodal vertex pair, but
    # at a tie (an edge parallel to edge j) the search picks one of the two tied vertices, and
    # rounding may pick the later one: the antipode's neighbours stand in for the other.
    chord_sq = np.full(len(x), -1.0)
    partner = antipode
    for shift in (-1, 0, 1):
        candidate = start + np.mod(antipode_local + shift, length) if shift else antipode
        dx, dy = x[candidate] - x, y[candidate] - y
        candidate_sq = dx * dx + dy * dy
        longer = candidate_sq > chord_sq
        chord_sq = np.where(longer, candidate_sq, chord_sq)
        partner = np.where(longer, candidate, partner)

    max_at = _argbest(chord_sq, hulls.start, segment, np.maximum)
    min_at = _argbest(width, hulls.start, segment, np.minimum)
    out.max_diameter[hulls.polygon] = np.sqrt(chord_sq[max_at])
    out.max_angle[hulls.polygon] = screen_angle_deg(
        x[partner[max_at]] - x[max_at], y[partner[max_at]] - y[max_at]
    )
    out.min_width[hulls.polygon] = width[min_at]
    # The width is measured along the edge's normal (-ey, ex).
    out.min_angle[hulls.polygon] = screen_angle_deg(-ey[min_at], ex[min_at])
    return out


def _argbest(
    values: FloatArray, starts: IntArray, segment: IntArray, reducer: np.ufunc
) -> IntArray:
    """``(K,)`` index of the first extreme of ``values`` in each segment (``starts`` ``(K,)``,
    ``segment`` ``(N,)`` the segment of each value)."""
    best = reducer.reduceat(values, starts)
    hits = np.flatnonzero(values == best[segment])
    first = np.ones(len(hits), dtype=np.bool_)
    first[1:] = segment[hits[1:]] != segment[hits[:-1]]
    return hits[first]
