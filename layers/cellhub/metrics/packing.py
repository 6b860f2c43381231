"""Flattens the rings of many polygons into one vertex array, so metrics run batch-wide.

Every metric in this package is a per-ring or per-polygon reduction over vertices or edges.
Doing that with one NumPy call per quantity over all polygons at once (``np.add.reduceat`` over
contiguous rings) rather than a Python loop per polygon is what makes tens of thousands of
polygons per second possible.

Layout: first every polygon's exterior, in polygon order, then every hole, in polygon order. The
vertices of a ring are contiguous, and the exteriors alone are a prefix of the vertex arrays
(hull and bounding box need only them, without a copy). Empty rings are left out, which keeps
every ``reduceat`` segment non-empty. Coordinates are kept as separate ``x`` and ``y`` arrays:
NumPy gathers 1-D arrays several times faster than rows of an ``(N, 2)`` one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cellhub.geometry.polygon import Polygon

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Rings:
    """Closed rings stored end to end: ``x``, ``y`` ``(N,)`` float64 vertex coordinates; ring
    ``k`` is ``[start[k], start[k] + length[k])`` and belongs to polygon ``polygon[k]``; ``start``,
    ``length``, ``polygon`` are ``(K,)`` and every ring has at least one vertex."""

    x: FloatArray
    y: FloatArray
    start: IntArray
    length: IntArray
    polygon: IntArray

    def ring_of_vertex(self) -> IntArray:
        """``(N,)`` ring index ``k`` of each vertex."""
        return np.repeat(np.arange(len(self.start), dtype=np.intp), self.length)

    def next_vertex(self) -> IntArray:
        """``(N,)`` index of the following vertex of the same ring (wrapping to its first)."""
        following = np.arange(1, len(self.x) + 1, dtype=np.intp)
        if len(self.start):
            following[self.start + self.length - 1] = self.start
        return following

    def sums(self, per_vertex: FloatArray) -> FloatArray:
        """``(K,)`` sum over each ring of an ``(N,)`` per-vertex (or per-edge) quantity."""
        if len(self.start) == 0:
            return np.zeros(0, dtype=np.float64)
        return np.add.reduceat(per_vertex, self.start)


@dataclass(frozen=True, slots=True)
class PackedRings:
    """All rings of ``polygon_count`` polygons: exteriors first, then holes.

    ``rings`` holds the coordinates in pixels, ``(x, y)``, each polygon shifted by its
    ``origin`` (``(P, 2)`` float64, the polygon's first exterior vertex, zeros without one) so
    that sums of coordinate products keep their precision far from the image origin. Its
    first ``exterior_count`` rings are exteriors; ``is_hole`` ``(R,)`` flags the others.
    ``invalid`` ``(P,)`` flags polygons with a non-finite coordinate: their vertices are
    packed as zeros, so that they cannot disturb the batch, and their metrics mean nothing.
    """

    rings: Rings
    origin: FloatArray
    is_hole: BoolArray
    invalid: BoolArray
    polygon_count: int
    exterior_count: int

    def exteriors(self) -> Rings:
        """The exterior rings alone: views of the head of the vertex arrays."""
        count = self.exterior_count
        rings = self.rings
        end = int(rings.start[count - 1] + rings.length[count - 1]) if count else 0
        return Rings(
            x=rings.x[:end],
            y=rings.y[:end],
            start=rings.start[:count],
            length=rings.length[:count],
            polygon=rings.polygon[:count],
        )

    def polygon_sums(self, per_ring: FloatArray) -> FloatArray:
        """``(P,)`` sum of a ``(R,)`` per-ring quantity over each polygon's rings (0 if none)."""
        sums = np.bincount(self.rings.polygon, weights=per_ring, minlength=self.polygon_count)
        return sums.astype(np.float64, copy=False)


def pack_rings(polygons: Sequence[Polygon]) -> PackedRings:
    """Flattens ``polygons`` into a :class:`PackedRings` (all exteriors, then all holes)."""
    arrays: list[FloatArray] = []
    owner: list[int] = []
    origin = np.zeros((len(polygons), 2), dtype=np.float64)
    for index, polygon in enumerate(polygons):
        exterior = np.asarray(polygon.exterior, dtype=np.float64).reshape(-1, 2)
        if len(exterior):
            origin[index] = exterior[0]
            arrays.append(exterior)
            owner.append(index)
    exterior_count = len(arrays)
    for index, polygon in enumerate(polygons):
        for hole in polygon.holes:
            ring = np.asarray(hole, dtype=np.float64).reshape(-1, 2)
            if len(ring):
                arrays.append(ring)
                owner.append(index)

    length = np.fromiter((len(a) for a in arrays), dtype=np.intp, count=len(arrays))
    start = np.zeros(len(arrays), dtype=np.intp)
    np.cumsum(length[:-1], out=start[1:])
    ring_owner = np.asarray(owner, dtype=np.intp)
    xy = np.concatenate(arrays) if arrays else np.zeros((0, 2), dtype=np.float64)
    invalid = np.zeros(len(polygons), dtype=np.bool_)
    finite = np.isfinite(xy).all(axis=1)
    if not finite.all():
        # One NaN would poison the batch-wide sorts and running maxima of every polygon.
        invalid[ring_owner[~np.logical_and.reduceat(finite, start)]] = True
        xy[np.repeat(invalid[ring_owner], length)] = 0.0
        origin[invalid] = 0.0
    x = xy[:, 0] - np.repeat(origin[ring_owner, 0], length)
    y = xy[:, 1] - np.repeat(origin[ring_owner, 1], length)
    return PackedRings(
        rings=Rings(x=x, y=y, start=start, length=length, polygon=ring_owner),
        origin=origin,
        is_hole=np.arange(len(arrays)) >= exterior_count,
        invalid=invalid,
        polygon_count=len(polygons),
        exterior_count=exterior_count,
    )
