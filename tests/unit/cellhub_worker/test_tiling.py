"""Tile layout, reflection padding and blending weights."""

from __future__ import annotations

import numpy as np
import pytest

from cellhub.errors import InvalidParameter
from cellhub_worker.tiling import extract_tile, plan_tiles


@pytest.mark.parametrize(("length", "padded"), [(1, 8), (100, 104), (512, 512), (505, 512)])
def test_short_axis_is_one_padded_tile(length: int, padded: int) -> None:
    grid = plan_tiles(length, 40, tile=512, overlap=64, multiple=8)
    assert grid.rows.starts == (0,)
    assert grid.rows.size == padded
    assert np.all(grid.rows.total == 1.0)


@pytest.mark.parametrize("length", [513, 577, 1000, 1280, 4097, 10_000])
@pytest.mark.parametrize("multiple", [8, 32])
def test_long_axis_tiles_cover_with_overlap(length: int, multiple: int) -> None:
    grid = plan_tiles(length, 16, tile=512, overlap=64, multiple=multiple)
    axis = grid.rows
    starts = np.array(axis.starts)
    assert axis.size == 512
    assert starts[0] == 0
    assert np.all(starts % multiple == 0)
    # The last tile reaches the image end; it may run into the padding up to the multiple.
    assert length <= starts[-1] + 512 < length + multiple
    assert np.all(starts[:-1] + 512 - starts[1:] >= 64)
    assert axis.total.shape == (length,)
    assert axis.total.min() > 0.5


def test_window_never_reaches_zero_and_is_one_at_image_edges() -> None:
    grid = plan_tiles(1280, 1280, tile=512, overlap=64, multiple=32)
    for i, j in grid.positions:
        window = grid.window(i, j)
        assert window.shape == (512, 512)
        assert window.min() > 0
    rows, cols = grid.rows.profiles, grid.cols.profiles
    # No taper on a side that touches the image edge, only towards a neighbour.
    assert rows[0][0] == cols[0][0] == rows[-1][-1] == cols[-1][-1] == 1.0
    first = grid.window(0, 0)
    assert first[-1, 0] < 0.01  # tapered towards the tile below


def test_blending_a_constant_reproduces_it() -> None:
    grid = plan_tiles(900, 1300, tile=256, overlap=48, multiple=16)
    acc = np.zeros((900, 1300), dtype=np.float64)
    for i, j in grid.positions:
        top, left = grid.rows.starts[i], grid.cols.starts[j]
        window = grid.window(i, j)[: 900 - top, : 1300 - left]
        acc[top : top + window.shape[0], left : left + window.shape[1]] += 0.7 * window
    np.testing.assert_allclose(acc / np.outer(grid.rows.total, grid.cols.total), 0.7, rtol=1e-5)


@pytest.mark.parametrize(("tile", "overlap"), [(512, 256), (512, -1), (64, 40)])
def test_bad_overlap(tile: int, overlap: int) -> None:
    with pytest.raises(InvalidParameter):
        plan_tiles(1000, 1000, tile=tile, overlap=overlap, multiple=8)


def test_empty_image() -> None:
    with pytest.raises(InvalidParameter):
        plan_tiles(0, 10, tile=512, overlap=64, multiple=8)


def test_extract_reflects_past_the_edge() -> None:
    image = np.arange(12, dtype=np.uint16).reshape(3, 4, 1)
    tile = extract_tile(image, 0, 2, 5, 4)
    assert tile.dtype == np.float32 and tile.shape == (5, 4, 1)
    np.testing.assert_array_equal(tile[:3, :2, 0], image[:, 2:, 0])
    np.testing.assert_array_equal(tile[3, :2, 0], image[1, 2:, 0])  # row 3 mirrors row 1
    np.testing.assert_array_equal(tile[:3, 2, 0], image[:, 2, 0])  # column 4 mirrors column 2


def test_extract_from_single_pixel_image() -> None:
    tile = extract_tile(np.full((1, 1, 2), 5, dtype=np.uint8), 0, 0, 8, 8)
    assert tile.shape == (8, 8, 2) and np.all(tile == 5)
