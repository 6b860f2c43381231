"""Convex hulls of the exterior rings of many polygons at once (vectorised monotone chain).

All exterior vertices are sorted together, ring by ring, along a direction ``d`` a hair off +x.
A vertex strictly above the chord from a ring's first to its last sorted vertex cannot be on
its lower chain, nor one below it on the upper chain, so each chain starts as the ring's
vertices on its side of that chord. Each round then deletes, simultaneously across all rings,
every vertex that fails the strict turn test against its current chain neighbours. That is
safe: such a vertex lies on or beyond the chord of two *other* vertices of the set, so it is
no hull vertex, whatever else goes in the same round (repeated vertices are merged first, as
two copies would each justify deleting the other). When a round deletes nothing every turn is
strict and the chain is the hull chain. Only neighbours of deleted vertices are re-tested.

Sorting along a slightly rotated ``d`` rather than by (x, then y) lets one float key sort all
rings at once: no two points of a pixel grid have the same projection on ``d``.
"""

from __future__ import annotations

import numpy as np

from cellhub.metrics.packing import BoolArray, FloatArray, IntArray, Rings

# Slope of the sort direction: far from any ratio of small integers, so that grid points
# (multiples of 1/1000 px) project apart, and small, so that sorting along d is sorting by x.
_SORT_SLOPE = float(np.sqrt(2.0)) * 1e-3
# Vertices closer than this (px, per axis) are one point for the hull.
_COINCIDENT = 1e-9


def convex_hulls(rings: Rings) -> Rings:
    """Convex hull of every ring of ``rings``, as rings of the same polygons in the same order.

    Hull vertices run counter-clockwise in the (x, y) sense (positive shoelace area, the
    exterior orientation of ``Polygon``), in the coordinates of ``rings``. Collinear input
    gives a 2-vertex hull, a single (possibly repeated) point a 1-vertex one.
    """
    if len(rings.x) == 0:
        empty = np.zeros(0, dtype=np.intp)
        return Rings(np.zeros(0), np.zeros(0), empty, empty, empty)
    segment = rings.ring_of_vertex()
    projection = rings.x + _SORT_SLOPE * rings.y
    low = np.minimum.reduceat(projection, rings.start)
    span = np.maximum.reduceat(projection, rings.start) - low
    span = np.where(span > 0.0, span, 1.0)
    # Ring index in the integer part, position along d in [0, 0.5]: one sort for all rings.
    order = np.argsort(segment + 0.5 * (projection - low[segment]) / span[segment], kind="stable")
    x, y = rings.x[order], rings.y[order]

    # Coincident vertices sort next to each other. Near-coincident ones count too: rounding in
    # the turn test could let two copies 1e-15 px apart each justify deleting the other.
    repeat = np.zeros(len(x), dtype=np.bool_)
    repeat[1:] = (
        (np.abs(x[1:] - x[:-1]) <= _COINCIDENT)
        & (np.abs(y[1:] - y[:-1]) <= _COINCIDENT)
        & (segment[1:] == segment[:-1])
    )
    length = rings.length
    if repeat.any():
        x, y, segment = x[~repeat], y[~repeat], segment[~repeat]
        length = np.bincount(segment, minlength=len(length))
    start = _exclusive_cumsum(length)
    end = start + length - 1

    fixed = np.zeros(len(x), dtype=np.bool_)
    fixed[start] = True
    fixed[end] = True
    side = _turn(x[start][segment], y[start][segment], x[end][segment], y[end][segment], x, y)
    lower = _chain(x, y, np.flatnonzero(side <= 0.0), fixed, sign=1.0)
    upper = _chain(x, y, np.flatnonzero(side >= 0.0), fixed, sign=-1.0)
    upper = upper[~fixed[upper]]

    lower_count = np.bincount(segment[lower], minlength=len(length))
    upper_count = np.bincount(segment[upper], minlength=len(length))
    hull_length = lower_count + upper_count
    hull_start = _exclusive_cumsum(hull_length)
    # Lower chain in sorted order, then the upper chain's interior in reverse sorted order.
    seg_l, seg_u = segment[lower], segment[upper]
    place_l = hull_start[seg_l] + np.arange(len(lower)) - _exclusive_cumsum(lower_count)[seg_l]
    place_u = (
        hull_start[seg_u]
        + hull_length[seg_u]
        - 1
        - (np.arange(len(upper)) - _exclusive_cumsum(upper_count)[seg_u])
    )
    hull_x = np.empty(int(hull_length.sum()), dtype=np.float64)
    hull_y = np.empty_like(hull_x)
    hull_x[place_l], hull_y[place_l] = x[lower], y[lower]
    hull_x[place_u], hull_y[place_u] = x[upper], y[upper]
    return Rings(x=hull_x, y=hull_y, start=hull_start, length=hull_length, polygon=rings.polygon)


def area_and_perimeter(rings: Rings, polygon_count: int) -> tuple[FloatArray, FloatArray]:
    """``(P,)`` float64 enclosed area and length of each polygon's ring (NaN without one);
    for hulls, the convex area and convex perimeter."""
    area = np.full(polygon_count, np.nan)
    perimeter = np.full(polygon_count, np.nan)
    if len(rings.start) == 0:
        return area, perimeter
    following = rings.next_vertex()
    x, y = rings.x, rings.y
    x1, y1 = x[following], y[following]
    area[rings.polygon] = 0.5 * rings.sums(x * y1 - x1 * y)
    perimeter[rings.polygon] = rings.sums(np.sqrt((x1 - x) ** 2 + (y1 - y) ** 2))
    return area, perimeter


def _chain(
    x: FloatArray, y: FloatArray, candidates: IntArray, fixed: BoolArray, *, sign: float
) -> IntArray:
    """Increasing indices of the sorted points ``(x, y)`` left on the lower (``sign=1``) or
    upper (``sign=-1``) chain, starting from ``candidates`` (increasing, every ``fixed`` point
    among them); ``fixed`` marks each ring's first and last point, which are never deleted."""
    alive = candidates
    alive_fixed = fixed[alive]
    to_test = np.flatnonzero(~alive_fixed)
    while len(to_test):
        before, here, after = alive[to_test - 1], alive[to_test], alive[to_test + 1]
        turn = _turn(x[before], y[before], x[after], y[after], x[here], y[here])
        deleted = to_test[sign * turn >= 0.0]
        if len(deleted) == 0:
            break
        keep = np.ones(len(alive), dtype=np.bool_)
        keep[deleted] = False
        # A deletion changes the neighbours of the vertices on either side: re-test those only.
        retest = np.zeros(len(alive), dtype=np.bool_)
        retest[deleted - 1] = True
        retest[deleted + 1] = True
        retest &= keep & ~alive_fixed
        alive = alive[keep]
        alive_fixed = alive_fixed[keep]
        to_test = np.flatnonzero(retest[keep])
    return alive


def _turn(
    ax: FloatArray, ay: FloatArray, bx: FloatArray, by: FloatArray, px: FloatArray, py: FloatArray
) -> FloatArray:
    """``(N,)`` cross product ``(b - a) x (p - a)``: positive when ``p`` lies left of a -> b in
    the (x, y) sense (above the chord, for ``a`` before ``b`` along +x)."""
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


def _exclusive_cumsum(counts: IntArray) -> IntArray:
    """``(K,)`` start offset of each of ``K`` consecutive groups of the given sizes."""
    offsets = np.zeros(len(counts), dtype=np.intp)
    np.cumsum(counts[:-1], out=offsets[1:])
    return offsets
