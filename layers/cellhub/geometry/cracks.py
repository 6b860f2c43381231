"""Crack rings of a label image: every region boundary as ordered crack midpoints, all at once.

A *crack* is the unit edge between two 4-adjacent pixels. Each nonzero label's boundary is the
set of cracks between its pixels and pixels of any other value (another label, background 0, or
the outside of the image). Cracks are directed so that exterior rings get a positive shoelace
area and holes a negative one (the :class:`~cellhub.geometry.polygon.Polygon` convention): on
screen, with y pointing down, a crack's own pixel lies to its right. Where two pixels of a
label meet only at a corner (a saddle), the boundary passes through that corner and keeps them
together: regions are 8-connected and their complements 4-connected, the usual pair that makes
every region's outer boundary one closed ring.

Everything is computed for the whole image with array operations, never per object: cracks come
from ``np.flatnonzero`` on neighbour differences, each crack's successor from a look-up of the
2 x 2 pixels at its end corner, rings from the cycles of that successor permutation, and the
order along each ring from pointer doubling (list ranking). Which rings belong to the same
8-connected region comes from horizontal pixel runs: the crack on the left end of a run and the
one on its right end bound the same region, and every hole is reached from the exterior through
such links (the run left of a hole's leftmost crack ends on a ring that reaches further left).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

# Crack sides of a pixel in traversal order: 0 top (runs +x), 1 right (+y), 2 bottom (-x),
# 3 left (-y). The vertex of a crack is its midpoint, offset from the pixel's top-left corner.
_MID_X = np.array([0.5, 1.0, 0.5, 0.0])
_MID_Y = np.array([0.0, 0.5, 1.0, 0.5])
# Unit normal of each side, pointing from the pixel's centre to its outside neighbour's.
_NORMAL_X = np.array([0.0, 1.0, 0.0, -1.0])
_NORMAL_Y = np.array([-1.0, 0.0, 1.0, 0.0])


@dataclass(frozen=True, slots=True)
class CrackRings:
    """All boundary rings of a label image, vertices packed ring after ring.

    ``points``: ``(V, 2)`` float64 crack midpoints ``(x, y)``, corner-origin pixel coordinates,
    each ring in traversal order (own pixels on its right as seen on screen), implicitly
    closed.
    ``normals``: ``(V, 2)`` float64 unit vectors across each crack, from the centre of the
    ring's own pixel towards the centre of the outside pixel (each half a pixel away).
    ``offsets``: ``(R + 1,)`` int64, ring ``k`` is ``points[offsets[k]:offsets[k + 1]]``.
    ``label``: ``(R,)`` int64 label value of each ring.
    ``pixel_area``: ``(R,)`` float64 signed area of the ring's crack polygon, i.e. the number of
    pixels it encloses, positive for exteriors and negative for holes.
    ``region``: ``(R,)`` int64 index of the 8-connected region the ring bounds; each region has
    exactly one exterior ring.
    """

    points: FloatArray
    normals: FloatArray
    offsets: IntArray
    label: IntArray
    pixel_area: FloatArray
    region: IntArray


def crack_rings(labels: NDArray[np.integer]) -> CrackRings:
    """Trace every boundary ring of ``labels`` (``(Y, X)`` integer array, 0 = background)."""
    flat = np.pad(labels, 1).ravel()
    wp = labels.shape[1] + 2
    side, pixel = _cracks(flat, wp)
    if side.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        nothing = np.zeros((0, 2))
        return CrackRings(nothing, nothing, np.zeros(1, np.int64), empty, np.zeros(0), empty)
    succ = _successors(flat, wp, side, pixel)

    n_edges = side.size
    graph = csr_matrix((np.ones(n_edges, np.int8), (np.arange(n_edges), succ)), (n_edges,) * 2)
    n_rings, ring = connected_components(graph, directed=True, connection="weak")
    ring = ring.astype(np.int64)
    lengths = np.bincount(ring, minlength=n_rings)
    order = _ring_order(succ, ring, lengths)

    row = pixel // wp - 1
    col = pixel % wp - 1
    points = np.column_stack((col + _MID_X[side], row + _MID_Y[side]))[order]
    normals = np.column_stack((_NORMAL_X[side], _NORMAL_Y[side]))[order]
    start = order[np.cumsum(lengths) - lengths]
    offsets = np.concatenate(([0], np.cumsum(lengths)))

    # Shoelace term of each directed crack, from its two corners, summed per ring.
    term = np.choose(side, (-row, col + 1, row + 1, -col)).astype(np.float64) * 0.5
    pixel_area = np.bincount(ring, weights=term, minlength=n_rings).astype(np.float64)

    # Left and right ends of horizontal runs pair up in raster order (runs are disjoint).
    run_left = ring[side == 3]
    run_right = ring[side == 1]
    links = csr_matrix((np.ones(run_left.size, np.int8), (run_left, run_right)), (n_rings,) * 2)
    _, region = connected_components(links, directed=False)
    return CrackRings(
        points=points,
        normals=normals,
        offsets=offsets.astype(np.int64),
        label=flat[pixel[start]].astype(np.int64),
        pixel_area=pixel_area,
        region=region.astype(np.int64),
    )


def _cracks(flat: NDArray[np.integer], wp: int) -> tuple[NDArray[np.int8], IntArray]:
    """Sides and padded flat pixel indices of all cracks, sorted by (side, pixel)."""
    foreground = flat != 0
    across_row = flat[wp:] != flat[:-wp]
    along_row = flat[1:] != flat[:-1]
    found = (
        np.flatnonzero(across_row & foreground[wp:]) + wp,
        np.flatnonzero(along_row & foreground[:-1]),
        np.flatnonzero(across_row & foreground[:-wp]),
        np.flatnonzero(along_row & foreground[1:]) + 1,
    )
    side = np.repeat(np.arange(4, dtype=np.int8), [f.size for f in found])
    return side, np.concatenate(found).astype(np.int64)


def _successors(
    flat: NDArray[np.integer], wp: int, side: NDArray[np.int8], pixel: IntArray
) -> IntArray:
    """Index of the next crack along each crack's ring.

    At the end corner of crack (pixel ``p``, side ``s``) the next crack is, in this priority:
    the diagonal pixel's side ``s - 1`` when that pixel has the same label (a concave turn or a
    saddle, which keeps diagonal neighbours together), the pixel ahead's side ``s`` when it has
    the same label (straight on), else ``p``'s own next side (a convex turn).
    """
    outward = np.array([-wp, 1, wp, -1], dtype=np.int64)
    value = flat[pixel]
    ahead = pixel + outward[(side + 1) % 4]
    diagonal = ahead + outward[side]
    to_diagonal = flat[diagonal] == value
    to_ahead = ~to_diagonal & (flat[ahead] == value)
    next_pixel = np.where(to_diagonal, diagonal, np.where(to_ahead, ahead, pixel))
    next_side = np.where(to_diagonal, side + 3, np.where(to_ahead, side, side + 1)) % 4
    keys = side.astype(np.int64) * flat.size + pixel
    return np.searchsorted(keys, next_side.astype(np.int64) * flat.size + next_pixel)


def _ring_order(succ: IntArray, ring: IntArray, lengths: IntArray) -> IntArray:
    """Permutation listing the cracks ring by ring, each ring in traversal order.

    Each ring is cut open at its lowest crack index; pointer doubling then counts, for every
    crack, the steps left to that start, which fixes its position without any sort.
    """
    n_edges = succ.size
    start = np.full(lengths.size, n_edges, dtype=np.int64)
    np.minimum.at(start, ring, np.arange(n_edges, dtype=np.int64))
    jump = succ.copy()
    jump[start] = start
    steps = np.ones(n_edges, dtype=np.int64)
    steps[start] = 0
    for _ in range(int(np.ceil(np.log2(max(int(lengths.max(initial=1)), 2))))):
        steps += steps[jump]
        jump = jump[jump]
    position = (lengths[ring] - steps) % lengths[ring]
    first = np.cumsum(lengths) - lengths
    order = np.empty(n_edges, dtype=np.int64)
    order[first[ring] + position] = np.arange(n_edges, dtype=np.int64)
    return order
