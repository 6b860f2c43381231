"""Simplifying traced crack outlines: constrained smoothing, Douglas–Peucker, area restoration.

All functions take many closed rings packed into one array (``(V, 2)`` float64 ``(x, y)``
vertices with ``offsets`` ``(R + 1,)`` int64 ring boundaries, ring ``k`` being
``points[offsets[k]:offsets[k + 1]]``) and work on all rings at once, so their cost is a few
array passes per pass or recursion level, never a Python loop per ring. The vertices stand for
cracks (see :mod:`cellhub.geometry.cracks`): each has the crack's midpoint and unit normal,
and the normal segment between the two pixel centres the crack separates is where an outline
that reproduces the mask must cross it.

Douglas–Peucker runs level by level: each round measures, for every still-open segment of
every ring, the interior vertices against the chord, takes the per-segment maximum with
``np.maximum.reduceat`` and splits the segments whose maximum exceeds the tolerance. A ring is
opened at its first vertex and the vertex farthest from it, and the first round always splits,
so every ring keeps at least four vertices, however small.

Chords and smoothing cut into convex stretches, so they shave area off regions (and add it to
holes). :func:`restore_ring_areas` gives it back by sliding all vertices of a ring the same
distance along their crack normals, solved so that the ring's signed area meets a target;
:func:`missed_cracks` then finds the dropped cracks that the moved chords no longer cross
close enough to their midpoints.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Pair = tuple[FloatArray, FloatArray]

# Rounds of area restoration: the first is exact unless vertices reach their limit, and each
# further one hands what the stopped vertices could not take to the others.
_RESTORE_ROUNDS = 3


def smooth_across_cracks(
    mid: FloatArray, normal: FloatArray, offsets: IntArray, *, slack: float, passes: int
) -> FloatArray:
    """Smooth rings of crack midpoints while each vertex stays on its crack's normal segment.

    ``mid`` and ``normal`` are ``(V, 2)`` float64 crack midpoints and unit normals, packed by
    ``offsets``. Each pass blurs the ring with the binomial kernel ``[1, 2, 1] / 4`` and keeps
    only the component of each vertex's move along its own normal, clipped to ``slack`` px, so
    vertex ``i`` ends as ``mid[i] + shift[i] * normal[i]`` with ``|shift[i]| <= slack``.
    Returns the ``(V,)`` float64 shifts.
    """
    following, preceding = _neighbours(offsets)
    # With p_j = mid_j + s_j n_j, the blurred point's offset along n_i is affine in s_{i-1},
    # s_i and s_{i+1}; these are its coefficients, so each pass works on scalars only.
    to_previous = np.sum((mid[preceding] - mid) * normal, axis=1)
    to_next = np.sum((mid[following] - mid) * normal, axis=1)
    turn_previous = np.sum(normal[preceding] * normal, axis=1)
    turn_next = np.sum(normal[following] * normal, axis=1)
    base = 0.25 * (to_previous + to_next)
    shift = np.zeros(mid.shape[0])
    for _ in range(passes):
        blurred = base + 0.5 * shift
        blurred += 0.25 * turn_previous * shift[preceding]
        blurred += 0.25 * turn_next * shift[following]
        shift = np.clip(blurred, -slack, slack)
    return shift


def douglas_peucker(
    points: FloatArray, mid: FloatArray, normal: FloatArray, offsets: IntArray, tolerance: float
) -> BoolArray:
    """Which vertices Douglas–Peucker keeps, for every ring at once.

    ``points``, ``mid`` and ``normal`` are ``(V, 2)`` float64: the vertices, and for each the
    crack midpoint and unit normal it stands for. A vertex is dropped when the chord that
    replaces it crosses its crack's normal line within ``tolerance`` px of the midpoint, which
    also bounds its perpendicular distance to the chord by ``tolerance``; a chord that misses
    the normal line, or runs along it, keeps the vertex. Returns a ``(V,)`` bool mask.
    """
    n_rings = offsets.size - 1
    if n_rings == 0:
        return np.zeros(0, dtype=bool)
    lengths = np.diff(offsets)
    # Each ring is laid out closed: its first vertex repeated after its last.
    closed_offsets = offsets + np.arange(n_rings + 1)
    ring_of = np.repeat(np.arange(n_rings), lengths + 1)
    first = closed_offsets[:-1]
    last = closed_offsets[1:] - 1
    source = np.arange(ring_of.size) - ring_of
    source[last] = offsets[:-1]
    x, y = points[source, 0], points[source, 1]
    mid_x, mid_y = mid[source, 0], mid[source, 1]
    normal_x, normal_y = normal[source, 0], normal[source, 1]

    from_first = (x - x[first][ring_of]) ** 2 + (y - y[first][ring_of]) ** 2
    _, far = _max_per_group(from_first, first, lengths + 1)
    keep = np.zeros(ring_of.size, dtype=bool)
    keep[first] = keep[last] = keep[far] = True
    candidate = np.flatnonzero(~keep)
    split = far[ring_of[candidate]]
    seg_start = np.where(candidate < split, first[ring_of[candidate]], split)
    seg_end = np.where(candidate < split, split, last[ring_of[candidate]])

    threshold = -np.inf  # the first round splits every segment: no ring drops below 4 vertices
    while candidate.size:
        group_first = np.flatnonzero(np.diff(seg_start, prepend=-1))
        sizes = np.diff(group_first, append=candidate.size)
        start, end = seg_start[group_first], seg_end[group_first]
        origin_x = np.repeat(x[start], sizes)
        origin_y = np.repeat(y[start], sizes)
        chord_x = np.repeat(x[end] - x[start], sizes)
        chord_y = np.repeat(y[end] - y[start], sizes)
        offset = _crossing_offset(
            (origin_x, origin_y),
            (chord_x, chord_y),
            (mid_x[candidate], mid_y[candidate]),
            (normal_x[candidate], normal_y[candidate]),
        )
        widest, at = _max_per_group(offset, group_first, sizes)

        splits = widest > threshold
        threshold = tolerance
        keep[candidate[at[splits]]] = True
        split = np.repeat(np.where(splits, candidate[at], -1), sizes)
        still = (split >= 0) & (candidate != split)
        candidate, split = candidate[still], split[still]
        before = candidate < split
        seg_start = np.where(before, seg_start[still], split)
        seg_end = np.where(before, split, seg_end[still])

    return np.delete(keep, last)


def restore_ring_areas(
    mid: FloatArray,
    normal: FloatArray,
    shift: FloatArray,
    offsets: IntArray,
    target_area: FloatArray,
    *,
    limit: float,
) -> FloatArray:
    """Slide vertices along their crack normals until each ring's shoelace area is the target.

    Vertex ``i`` sits at ``mid[i] + shift[i] * normal[i]`` (``(V, 2)``, ``(V, 2)``, ``(V,)``
    float64); ``target_area`` is ``(R,)`` float64 signed areas in px². Crack normals point
    away from the ring's own pixels, so a common positive slide grows the signed area of
    exteriors and holes alike. The area is quadratic in the slide, which is solved for per
    ring; vertices stop at ``|shift| = limit`` and the rest take up what they leave, over a few
    rounds. Returns the new ``(V,)`` float64 shifts.
    """
    if shift.size == 0:
        return shift.copy()
    lengths = np.diff(offsets)
    ring_of = np.repeat(np.arange(lengths.size), lengths)
    following, _ = _neighbours(offsets)

    def per_ring(a: FloatArray, b: FloatArray) -> FloatArray:
        cross = a[:, 0] * b[following, 1] - b[following, 0] * a[:, 1]
        return 0.5 * np.bincount(ring_of, weights=cross, minlength=lengths.size).astype(np.float64)

    for _ in range(_RESTORE_ROUNDS):
        points = mid + shift[:, None] * normal
        gap = target_area - ring_areas(points, offsets)
        growing = gap[ring_of] > 0
        free = np.where(growing, shift < limit, shift > -limit)
        direction = normal * free[:, None]
        # area(s) = area + linear * s + quadratic * s**2 for points + s * direction.
        linear = per_ring(points, direction) + per_ring(direction, points)
        quadratic = per_ring(direction, direction)
        discriminant = linear**2 + 4.0 * quadratic * gap
        root = np.sqrt(np.maximum(discriminant, 0.0))
        # The root nearest zero, in the form that stays exact as the quadratic term vanishes.
        denominator = np.where(discriminant >= 0, linear + np.copysign(root, linear), 2 * linear)
        slide = np.where(np.abs(denominator) > 1e-12, 2.0 * gap / _nonzero(denominator), 0.0)
        shift = np.clip(shift + slide[ring_of] * free, -limit, limit)
    return shift


def missed_cracks(
    points: FloatArray,
    keep: BoolArray,
    mid: FloatArray,
    normal: FloatArray,
    offsets: IntArray,
    bound: float,
) -> BoolArray:
    """Dropped vertices whose crack the simplified ring no longer crosses within ``bound``.

    ``keep`` is the ``(V,)`` mask of kept vertices over ``mid``/``normal`` (``(V, 2)`` crack
    midpoints and normals, packed by ``offsets``) and ``points`` the ``(K, 2)`` final kept
    vertices, in order; each ring's first vertex must be kept. A dropped vertex's crack is
    crossed by the edge joining the kept vertices around it. Returns a ``(V,)`` bool mask.
    """
    lengths = np.diff(offsets)
    kept_counts = np.add.reduceat(keep.astype(np.int64), offsets[:-1])
    ring_first = np.repeat(np.cumsum(kept_counts) - kept_counts, lengths)
    ring_end = ring_first + np.repeat(kept_counts, lengths)
    kept_before = np.cumsum(keep) - 1
    kept_after = np.where(kept_before + 1 == ring_end, ring_first, kept_before + 1)
    dropped = np.flatnonzero(~keep)
    origin = points[kept_before[dropped]]
    chord = points[kept_after[dropped]] - origin
    offset = _crossing_offset(
        (origin[:, 0], origin[:, 1]),
        (chord[:, 0], chord[:, 1]),
        (mid[dropped, 0], mid[dropped, 1]),
        (normal[dropped, 0], normal[dropped, 1]),
    )
    missed = np.zeros(keep.size, dtype=bool)
    missed[dropped] = offset > bound
    return missed


def ring_areas(points: FloatArray, offsets: IntArray) -> FloatArray:
    """Signed shoelace area of every packed ring, ``(R,)`` float64 px²."""
    lengths = np.diff(offsets)
    following, _ = _neighbours(offsets)
    cross = points[:, 0] * points[following, 1] - points[following, 0] * points[:, 1]
    ring_of = np.repeat(np.arange(lengths.size), lengths)
    areas = np.bincount(ring_of, weights=cross, minlength=lengths.size).astype(np.float64)
    return 0.5 * areas


def _neighbours(offsets: IntArray) -> tuple[IntArray, IntArray]:
    """Index of the next and of the previous vertex along each packed closed ring."""
    index = np.arange(offsets[-1])
    following = index + 1
    following[offsets[1:] - 1] = offsets[:-1]
    preceding = np.empty_like(index)
    preceding[following] = index
    return following, preceding


def _nonzero(values: FloatArray) -> FloatArray:
    """``values`` with near-zero entries replaced by 1, to divide by where a mask allows it."""
    return np.where(np.abs(values) > 1e-12, values, 1.0)


def _crossing_offset(origin: Pair, chord: Pair, mid: Pair, normal: Pair) -> FloatArray:
    """How far from ``mid`` along ``normal`` each chord's line crosses it (inf: parallel).

    Every argument is an ``(x, y)`` pair of ``(n,)`` float64 arrays; chords run from
    ``origin`` to ``origin + chord``.
    """
    along = chord[0] * normal[1] - chord[1] * normal[0]
    across = chord[0] * (origin[1] - mid[1]) - chord[1] * (origin[0] - mid[0])
    offset = np.full(along.size, np.inf)
    np.divide(across, along, out=offset, where=along != 0)
    return np.abs(offset)


def _max_per_group(
    values: FloatArray, group_first: IntArray, sizes: IntArray
) -> tuple[FloatArray, IntArray]:
    """Maximum of each contiguous group and the index (into ``values``) of its first hit."""
    widest = np.maximum.reduceat(values, group_first)
    hit = values == np.repeat(widest, sizes)
    index = np.where(hit, np.arange(values.size), values.size)
    return widest, np.minimum.reduceat(index, group_first)
