"""Per-object intensity statistics of the original image, channel by channel.

Each polygon is rasterised once (pixel-centre rule, holes excluded) by
``cellhub.geometry.raster.rasterize_polygon``; the flat indices of the pixels it covers, clipped
to the image, are gathered for all polygons into one array so that the statistics are a handful
of ``reduceat`` calls over every object at once rather than NumPy calls per object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.geometry.polygon import Polygon
from cellhub.geometry.raster import rasterize_polygon
from cellhub.metrics.packing import FloatArray, IntArray


def intensity_stats(polygons: Sequence[Polygon], image: NDArray[Any]) -> FloatArray:
    """``(P, 5, C)`` float64: mean, std, min, max and integrated (sum) intensity per channel.

    ``image`` is ``(Y, X)`` or ``(Y, X, C)`` in its native dtype, indexed ``[row, col]``;
    values are taken as they are (no rescaling of the bit depth). The std is the population
    std (``ddof=0``) of the object's pixels. Objects with no pixel inside the image get NaN.
    """
    pixels = image[:, :, np.newaxis] if image.ndim == 2 else image
    if pixels.ndim != 3:
        raise ValueError(f"image must be (Y, X) or (Y, X, C), got shape {image.shape}")
    height, width, channels = pixels.shape
    flat_index, counts = _covered_pixels(polygons, height, width)
    stats = np.full((len(polygons), 5, channels), np.nan)
    present = np.flatnonzero(counts)
    if len(present) == 0:
        return stats

    values = np.take(pixels.reshape(-1, channels), flat_index, axis=0).astype(np.float64)
    n = counts[present].astype(np.float64)[:, np.newaxis]
    starts = np.zeros(len(present), dtype=np.intp)
    np.cumsum(counts[present][:-1], out=starts[1:])
    total = np.add.reduceat(values, starts, axis=0)
    mean = total / n
    # Two-pass variance: summing squares first loses digits on bright, flat 16-bit objects.
    deviation = values - np.repeat(mean, counts[present], axis=0)
    variance = np.add.reduceat(deviation * deviation, starts, axis=0) / n

    stats[present, 0] = mean
    stats[present, 1] = np.sqrt(variance)
    stats[present, 2] = np.minimum.reduceat(values, starts, axis=0)
    stats[present, 3] = np.maximum.reduceat(values, starts, axis=0)
    stats[present, 4] = total
    return stats


def _covered_pixels(
    polygons: Sequence[Polygon], height: int, width: int
) -> tuple[IntArray, IntArray]:
    """Flat ``row * width + col`` indices of the in-image pixels of every polygon, concatenated
    in polygon order, and ``(P,)`` how many belong to each."""
    chunks: list[IntArray] = []
    counts = np.zeros(len(polygons), dtype=np.intp)
    for k, polygon in enumerate(polygons):
        if not _rasterizable(polygon):
            continue
        row0, col0, mask = rasterize_polygon(polygon)
        row0, col0 = int(row0), int(col0)
        top, left = max(0, -row0), max(0, -col0)
        bottom = min(mask.shape[0], height - row0)
        right = min(mask.shape[1], width - col0)
        if bottom <= top or right <= left:
            continue
        rows, cols = np.nonzero(mask[top:bottom, left:right])
        chunks.append((rows + (row0 + top)) * width + (cols + (col0 + left)))
        counts[k] = len(rows)
    if not chunks:
        return np.zeros(0, dtype=np.intp), counts
    return np.concatenate(chunks).astype(np.intp, copy=False), counts


def _rasterizable(polygon: Polygon) -> bool:
    """Whether ``polygon`` can cover a pixel: an exterior of 3+ vertices, all rings finite."""
    rings = (polygon.exterior, *polygon.holes)
    return len(polygon.exterior) >= 3 and all(np.isfinite(ring).all() for ring in rings)
