"""Cutting an image of any size into net-sized tiles and blending the tiles' outputs back.

Coordinates are ``(row, column)`` in image pixels, origin top-left. Along each axis:

* an image no longer than the tile runs as ONE tile, its length rounded up to the net's
  stride multiple; the extra pixels are reflection padding, cropped off afterwards. The
  image is never resized, so aspect ratio and pixel size are preserved;
* a longer image is covered by evenly spaced tiles of exactly ``tile`` pixels that overlap
  by at least ``overlap`` pixels and start at multiples of the stride multiple; the last
  one may run past the image end into the same reflection padding an untiled pass sees.

Each tile's output is weighted by a separable window that is 1 in the middle, falls off with
a raised cosine across each overlap shared with a neighbour, and stays 1 on sides that touch
the image edge, so it never reaches zero anywhere. Because the tiles form a grid and the
window is a product of a row profile and a column profile, the sum of the weights at a pixel
is the product of two 1-D sums: normalising needs no full-size weight image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.errors import InvalidParameter


@dataclass(frozen=True, slots=True)
class AxisTiling:
    """Tiles along one axis: ``starts[i]`` is where tile ``i`` begins; all are ``size`` long.

    ``profiles[i]`` float32 ``(size,)`` is tile ``i``'s blending weight along this axis and
    ``total`` float32 ``(length,)`` the sum of all profiles at each image position.
    """

    length: int
    size: int
    starts: tuple[int, ...]
    profiles: tuple[NDArray[np.float32], ...]
    total: NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class TileGrid:
    """The tiles of a ``(height, width)`` image; tile ``(i, j)`` starts at
    ``(rows.starts[i], cols.starts[j])`` and has shape ``(rows.size, cols.size)``."""

    rows: AxisTiling
    cols: AxisTiling

    @property
    def positions(self) -> list[tuple[int, int]]:
        """Tile indices ``(i, j)`` in raster order."""
        return [(i, j) for i in range(len(self.rows.starts)) for j in range(len(self.cols.starts))]

    def window(self, i: int, j: int) -> NDArray[np.float32]:
        """Blending weight of tile ``(i, j)``: float32 ``(rows.size, cols.size)``, all > 0."""
        return np.outer(self.rows.profiles[i], self.cols.profiles[j])


def plan_tiles(height: int, width: int, *, tile: int, overlap: int, multiple: int) -> TileGrid:
    """Lay out tiles for a ``(height, width)`` image.

    ``tile`` is rounded down to a multiple of ``multiple`` (the net's stride multiple);
    ``overlap`` must be below half the rounded tile so each overlap is shared by two tiles.
    """
    if height < 1 or width < 1:
        raise InvalidParameter(f"cannot tile an empty image of {height}x{width} px")
    if multiple < 1:
        raise InvalidParameter(f"stride multiple must be >= 1, got {multiple}")
    size = max(multiple, tile // multiple * multiple)
    if not 0 <= overlap < size // 2:
        raise InvalidParameter(
            f"overlap {overlap} must lie in [0, {size // 2}) for tiles of {size} px",
            overlap=overlap,
            tile=size,
        )
    return TileGrid(
        rows=_plan_axis(height, size, overlap, multiple),
        cols=_plan_axis(width, size, overlap, multiple),
    )


def extract_tile(
    image: NDArray[Any], top: int, left: int, height: int, width: int
) -> NDArray[np.float32]:
    """The ``(height, width, C)`` float32 window of a ``(Y, X, C)`` image at ``(top, left)``.

    Parts past the bottom/right edge are filled by reflecting the image about its edge
    (repeatedly, for images shorter than the padding), which keeps object statistics
    near the border instead of inventing a dark frame.
    """
    crop = np.asarray(image[top : top + height, left : left + width], dtype=np.float32)
    short_rows, short_cols = height - crop.shape[0], width - crop.shape[1]
    if short_rows == 0 and short_cols == 0:
        return crop
    # numpy's reflect on a single-pixel axis degenerates to edge replication, which is right.
    return np.pad(crop, ((0, short_rows), (0, short_cols), (0, 0)), mode="reflect")


def _plan_axis(length: int, size: int, overlap: int, multiple: int) -> AxisTiling:
    padded = math.ceil(length / multiple) * multiple
    if padded <= size:
        one = np.ones(padded, dtype=np.float32)
        return AxisTiling(length, padded, (0,), (one,), np.ones(length, dtype=np.float32))
    # Starts are multiples of the stride multiple so every tile sees the same pooling phase
    # as an untiled pass: nets are not shift-equivariant, and a tile shifted by a few pixels
    # can disagree with its neighbour far from any tile edge.
    step = max(multiple, (size - overlap) // multiple * multiple)
    count = math.ceil((padded - size) / step) + 1
    units = (padded - size) // multiple
    # Evenly spread: consecutive starts differ by at most ``step``, so overlaps >= ``overlap``.
    starts = tuple(multiple * round(k * units / (count - 1)) for k in range(count))
    profiles = []
    total = np.zeros(padded, dtype=np.float32)
    for k, start in enumerate(starts):
        before = starts[k - 1] + size - start if k > 0 else 0
        after = start + size - starts[k + 1] if k + 1 < count else 0
        profile = _profile(size, min(before, size // 2), min(after, size // 2))
        profiles.append(profile)
        total[start : start + size] += profile
    return AxisTiling(length, size, starts, tuple(profiles), total[:length])


def _profile(size: int, rise: int, fall: int) -> NDArray[np.float32]:
    """1 in the middle, raised-cosine ramps over the first ``rise`` and last ``fall`` pixels.

    Ramp samples sit at pixel centres, so the smallest weight is ``sin²(π / 4n) > 0``.
    """
    profile = np.ones(size, dtype=np.float32)
    if rise:
        profile[:rise] = _ramp(rise)
    if fall:
        profile[size - fall :] = _ramp(fall)[::-1]
    return profile


def _ramp(n: int) -> NDArray[np.float32]:
    centres = (np.arange(n, dtype=np.float64) + 0.5) / n
    return (0.5 - 0.5 * np.cos(np.pi * centres)).astype(np.float32)
