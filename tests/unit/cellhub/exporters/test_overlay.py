"""Overlay PNGs read back with Pillow, and the display conversion behind them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cellhub.exporters.base import DirectorySink, ExportContext
from cellhub.exporters.display import display_rgb, object_colour
from cellhub.exporters.overlay import dashes

from .conftest import (
    SinkFactory,
    disc,
    make_result,
    run_export,
    sample_results,
    square,
    square_with_hole,
)


def _overlay(tmp_path, result, number_objects: bool = False) -> np.ndarray:
    context = ExportContext(number_objects=number_objects)
    run_export(["overlay"], [result], DirectorySink(tmp_path), context)
    stem = result.image.name.rsplit(".", 1)[0]
    with Image.open(tmp_path / f"overlay/{stem}.png") as image:
        assert image.mode == "RGB"
        return np.asarray(image)


def _is(pixels: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return np.all(pixels == colour, axis=-1)


def test_black_canvas_with_outlines_when_no_pixels_were_kept(tmp_path) -> None:
    pixels = _overlay(tmp_path, make_result("a.tif", [disc(2, 60, 50, 20)]))
    assert pixels.shape == (100, 120, 3)
    outline = _is(pixels, object_colour(2))
    assert outline[50, 40] or outline[50, 39]  # left edge of the disc (x = 40 -> column 39.5)
    assert not outline[50, 60]  # not filled
    assert pixels[5, 5].tolist() == [0, 0, 0]


def test_holes_are_dashed_in_the_object_colour(tmp_path) -> None:
    polygon = square_with_hole(3, 10, 10, 60, 40)
    pixels = _overlay(tmp_path, make_result("h.tif", [polygon]))
    outline = _is(pixels, object_colour(3))
    exterior_edge = outline[9:10, 10:70]  # top edge of the exterior at y = 10 -> row 9.5
    hole_edge = outline[19:21, 21:59].any(axis=0)  # top edge of the hole at y = 20
    assert exterior_edge.mean() > 0.9
    assert 0.3 < hole_edge.mean() < 0.8  # dashes and gaps


def test_numbers_are_drawn_only_when_asked(tmp_path) -> None:
    result = make_result("n.tif", [disc(5, 60, 50, 30)])
    plain = _overlay(tmp_path / "plain", result, number_objects=False)
    numbered = _overlay(tmp_path / "numbered", result, number_objects=True)
    inside = (slice(40, 60), slice(50, 70))
    assert not plain[inside].any()
    assert numbered[inside].any()


def test_sixteen_bit_pixels_are_auto_contrasted(tmp_path) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(1000, 1200, size=(100, 120, 1)).astype(np.uint16)
    pixels = _overlay(tmp_path, make_result("s.tif", [], pixels=image))
    assert pixels[..., 0].min() < 10 and pixels[..., 0].max() > 245
    assert np.array_equal(pixels[..., 0], pixels[..., 1])  # grey


def test_overlay_into_zip_sink_with_sub_folders(sink_factory: SinkFactory) -> None:
    sink, root_of = sink_factory()
    run_export(["overlay"], sample_results(), sink, ExportContext())
    with Image.open(root_of() / "overlay/plate1/empty.png") as image:
        assert image.size == (120, 100)


def test_display_keeps_8_bit_and_maps_channels() -> None:
    rgb8 = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(display_rgb(rgb8), rgb8[..., :3])
    two = np.stack(
        [np.full((4, 4), 5000, np.uint16), np.tile(np.arange(4, dtype=np.uint16), (4, 1))], -1
    )
    shown = display_rgb(two)
    assert shown.shape == (4, 4, 3) and not shown[..., 2].any()
    assert display_rgb(np.ones((3, 3), np.float32) * np.nan).max() == 0
    grey = display_rgb(np.linspace(0, 1, 100, dtype=np.float64).reshape(10, 10))
    assert grey.dtype == np.uint8 and grey.min() == 0 and grey.max() == 255


def test_dashes_cover_part_of_the_ring() -> None:
    ring = square(0, 0, 10)
    pieces = list(dashes(ring, on=4, off=3))
    lengths = [float(np.hypot(*np.diff(p, axis=0).T).sum()) for p in pieces]
    assert len(pieces) == 6  # starting at 0, 7, ..., 35 along the 40 px ring
    assert sum(lengths) == pytest.approx(6 * 4)
    assert np.allclose(pieces[0][0], [0, 0])
