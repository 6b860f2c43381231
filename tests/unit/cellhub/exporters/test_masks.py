"""Label masks read back with Pillow and tifffile: ids, holes, renumbering, 32-bit TIFF."""

from __future__ import annotations

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image

from cellhub.exporters import masks
from cellhub.exporters.base import DirectorySink, ExportContext
from cellhub.geometry.polygon import Polygon

from .conftest import (
    SinkFactory,
    disc,
    make_result,
    run_export,
    sample_results,
    square,
    square_with_hole,
)


def _read_png(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode in {"I;16", "I;16B", "I"}
        return np.asarray(image)


def test_sixteen_bit_png_with_polygon_ids_and_holes(sink_factory: SinkFactory) -> None:
    sink, root_of = sink_factory()
    run_export(["masks"], sample_results(), sink, ExportContext())
    root = root_of()
    labels = _read_png(root / "masks/plate1/A01.png")
    assert labels.shape == (100, 120)
    assert set(np.unique(labels)) == {0, 1, 2}
    assert labels[30, 30] == 0  # inside the hole
    assert labels[12, 12] == 1
    assert (labels == 1).sum() == 40 * 40 - 16 * 16
    assert abs((labels == 2).sum() - np.pi * 15**2) < 0.03 * np.pi * 15**2
    decoded = imagecodecs.png_decode((root / "masks/plate1/A01.png").read_bytes())
    assert decoded.dtype == np.uint16 and np.array_equal(decoded, labels)
    assert _read_png(root / "masks/B02.png").max() == 7
    assert not _read_png(root / "masks/plate1/empty.png").any()


def test_large_ids_are_kept_when_they_fit(tmp_path) -> None:
    result = make_result("x.tif", [disc(65_535, 30, 30, 8), disc(40_000, 80, 30, 8)])
    warnings = run_export(["masks"], [result], DirectorySink(tmp_path), ExportContext())
    assert set(np.unique(_read_png(tmp_path / "masks/x.png"))) == {0, 40_000, 65_535}
    assert warnings == []


@pytest.mark.parametrize("ids", [(70_000, 3), (5, 5), (0, 1)])
def test_unusable_ids_are_renumbered_with_a_warning(tmp_path, ids) -> None:
    result = make_result("x.tif", [disc(ids[0], 30, 30, 8), disc(ids[1], 80, 30, 8)])
    warnings = run_export(["masks"], [result], DirectorySink(tmp_path), ExportContext())
    labels = _read_png(tmp_path / "masks/x.png")
    assert set(np.unique(labels)) == {0, 1, 2}
    assert labels[30, 30] == 1 and labels[30, 80] == 2
    assert len(warnings) == 1 and "renumbered" in warnings[0]


def test_later_objects_win_where_objects_overlap(tmp_path) -> None:
    first = Polygon(exterior=square(10, 10, 20), id=1)
    second = Polygon(exterior=square(20, 20, 20), id=2)
    run_export(
        ["masks"], [make_result("o.tif", [first, second])], DirectorySink(tmp_path), ExportContext()
    )
    labels = _read_png(tmp_path / "masks/o.png")
    assert labels[25, 25] == 2 and labels[15, 15] == 1


def test_more_objects_than_a_png_can_label_become_a_32_bit_tiff(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(masks, "PNG_MAX_LABEL", 3)
    polygons = [Polygon(exterior=square(10 * i, 10, 8), id=100_000 + i) for i in range(5)]
    polygons.append(square_with_hole(7, 60, 40, 30, 10))
    warnings = run_export(
        ["masks"], [make_result("many.tif", polygons)], DirectorySink(tmp_path), ExportContext()
    )
    assert not (tmp_path / "masks/many.png").exists()
    labels = tifffile.imread(tmp_path / "masks/many.tif")
    assert labels.dtype == np.uint32
    assert set(np.unique(labels)) == {0, 7, *(100_000 + i for i in range(5))}
    assert labels[55, 75] == 0  # the hole
    assert len(warnings) == 1 and "32-bit TIFF" in warnings[0] and "many.tif" in warnings[0]
