"""Polygons to pixels: vectorised even-odd scanline fill with the pixel-centre rule.

A pixel ``(row, col)`` belongs to a polygon when its centre ``(col + 0.5, row + 0.5)`` lies
inside the exterior ring and outside every hole, the inverse of
:func:`cellhub.geometry.tracing.polygons_from_labels`. All edges of all rings are intersected
with the scanlines ``y = row + 0.5`` at once; crossings are sorted per (polygon, row) and paired
even-odd into spans of pixel columns. An edge covers the scanlines in ``[min y, max y)``, the
half-open rule that counts a vertex lying exactly on a scanline once, so every ring crosses
every row an even number of times. A centre exactly on a left edge is inside, on a right edge
outside (spans are ``[x_in, x_out)``), so polygons that share an edge never both claim a pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from cellhub.geometry.polygon import Polygon

IntArray = NDArray[np.int64]


def rasterize_polygon(polygon: Polygon) -> tuple[int, int, NDArray[np.bool_]]:
    """The pixels of one polygon as ``(row0, col0, mask)``, cropped to its bounding box.

    ``mask`` is a ``(H, W)`` bool array whose ``[i, j]`` is pixel ``(row0 + i, col0 + j)``;
    the box spans every pixel whose centre is within the exterior's extent, so it may reach
    outside any image (negative ``row0``/``col0`` included): callers clip. A polygon that
    covers no pixel centre gives an all-False (possibly empty) mask.
    """
    exterior = polygon.exterior
    row0, col0 = (int(v) for v in np.ceil(exterior.min(axis=0)[::-1] - 0.5))
    row1, col1 = (int(v) for v in np.ceil(exterior.max(axis=0)[::-1] - 0.5))
    height, width = max(row1 - row0, 0), max(col1 - col0, 0)
    rings = [exterior, *polygon.holes]
    _, row, start, stop = _spans(rings, np.zeros(len(rings), dtype=np.int64), (row0, row1))
    row -= row0
    flat_start = row * (width + 1) + (start - col0)
    flat_stop = row * (width + 1) + (stop - col0)
    size = height * (width + 1)
    change = np.bincount(flat_start, minlength=size) - np.bincount(flat_stop, minlength=size)
    mask = np.cumsum(change.reshape(height, width + 1), axis=1)[:, :width] > 0
    return row0, col0, mask


def labels_from_polygons(polygons: Sequence[Polygon], shape: tuple[int, int]) -> NDArray[np.int32]:
    """Paint polygons into a ``(Y, X)`` = ``shape`` int32 label image, 0 = background.

    Each pixel whose centre is inside a polygon (inside its exterior, outside its holes) gets
    that polygon's ``id``; where polygons overlap, the later one in ``polygons`` wins.
    Polygons may extend beyond the image; they are clipped.
    """
    height, width = shape
    out = np.zeros(shape, dtype=np.int32)
    if not polygons:
        return out
    rings: list[NDArray[np.float64]] = []
    owners: list[int] = []
    for index, polygon in enumerate(polygons):
        rings.append(polygon.exterior)
        rings.extend(polygon.holes)
        owners.extend([index] * (1 + len(polygon.holes)))
    owner, row, start, stop = _spans(rings, np.asarray(owners, dtype=np.int64), (0, height))
    start = np.clip(start, 0, width)
    stop = np.clip(stop, 0, width)
    run = stop - start
    owner, row, start, run = owner[run > 0], row[run > 0], start[run > 0], run[run > 0]

    # Expand spans into pixels; the highest polygon index covering a pixel is the last painted.
    first = np.cumsum(run) - run
    span_of = np.repeat(np.arange(run.size), run)
    pixel = row[span_of] * width + start[span_of] + (np.arange(span_of.size) - first[span_of])
    winner = np.full(height * width, -1, dtype=np.int64)
    np.maximum.at(winner, pixel, owner[span_of])
    ids = np.array([p.id for p in polygons], dtype=np.int32)
    painted = winner >= 0
    out.ravel()[painted] = ids[winner[painted]]
    return out


def _spans(
    rings: Sequence[NDArray[np.float64]], ring_owner: IntArray, rows: tuple[int, int]
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Inside spans ``(owner, row, col_start, col_stop)`` of the rows in ``[rows[0], rows[1])``.

    ``rings`` are ``(N, 2)`` float64 ``(x, y)`` closed rings, ``ring_owner`` ``(R,)`` the polygon
    each ring belongs to; even-odd pairing runs over all rings of an owner together. A span
    covers columns ``col_start <= col < col_stop`` (unclipped; empty spans are kept).
    """
    points = np.concatenate(rings)
    lengths = np.array([len(r) for r in rings], dtype=np.int64)
    ends = np.cumsum(lengths)
    following = np.arange(1, points.shape[0] + 1)
    following[ends - 1] = ends - lengths
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = points[following, 0], points[following, 1]
    edge_owner = np.repeat(ring_owner, lengths)

    # Scanline y = row + 0.5 crosses an edge when min(y0, y1) <= row + 0.5 < max(y0, y1).
    low = np.clip(np.ceil(np.minimum(y0, y1) - 0.5), rows[0], rows[1]).astype(np.int64)
    high = np.clip(np.ceil(np.maximum(y0, y1) - 0.5), rows[0], rows[1]).astype(np.int64)
    count = high - low
    edge = np.repeat(np.arange(count.size), count)
    row = low[edge] + (np.arange(edge.size) - (np.cumsum(count) - count)[edge])
    slope = (x1 - x0)[edge] / (y1 - y0)[edge]
    x = x0[edge] + (row + 0.5 - y0[edge]) * slope

    owner = edge_owner[edge]
    order = np.lexsort((x, row, owner))
    owner, row, x = owner[order], row[order], x[order]
    col = np.ceil(x - 0.5).astype(np.int64)
    return owner[0::2], row[0::2], col[0::2], col[1::2]
