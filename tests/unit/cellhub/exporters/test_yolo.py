"""YOLO-seg labels: normalised lines, data.yaml, and seams that keep holes' area out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cellhub.exporters.base import DirectorySink, ExportContext
from cellhub.exporters.yolo import seam_ring
from cellhub.geometry.polygon import Polygon

from .conftest import (
    circle,
    disc,
    make_result,
    net_area,
    run_export,
    sample_results,
    square_with_hole,
)


def _filled_area(ring: np.ndarray, scale: int = 4) -> float:
    """Pixel area Pillow fills for ``ring`` (drawn ``scale`` times larger), in our units."""
    extent = np.ceil(ring.max(axis=0) * scale).astype(int) + 4
    canvas = Image.new("1", (int(extent[0]), int(extent[1])), 0)
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in ring * scale], fill=1, outline=None)
    return float(np.asarray(canvas).sum()) / scale**2


def _labels(tmp_path, results, context=None) -> tuple[dict[str, str], list[str]]:
    warnings = run_export(["yolo"], results, DirectorySink(tmp_path), context or ExportContext())
    files = {
        str(p.relative_to(tmp_path / "yolo/labels")): p.read_text()
        for p in (tmp_path / "yolo/labels").rglob("*.txt")
    }
    return files, warnings


def test_one_line_per_object_normalised_by_image_size(tmp_path) -> None:
    files, _ = _labels(tmp_path, sample_results())
    assert set(files) == {"plate1/A01.txt", "B02.txt", "plate1/empty.txt"}
    assert files["plate1/empty.txt"] == ""
    (line,) = files["B02.txt"].splitlines()
    values = line.split()
    assert values[0] == "0"
    coords = np.array(values[1:], dtype=float).reshape(-1, 2)
    assert len(coords) == 64
    assert coords.min() >= 0 and coords.max() <= 1
    expected = disc(7, 30, 30, 10).exterior / [120, 100]
    assert np.allclose(coords, expected, atol=1e-6)


def test_data_yaml_names_every_class(tmp_path) -> None:
    results = [make_result("x.tif", [square_with_hole(1, 5, 5, 30, 10, class_name="spheroid")])]
    files, _ = _labels(tmp_path, results, ExportContext(class_names=("object", "cell")))
    yaml = (tmp_path / "yolo/data.yaml").read_text()
    assert 'names:\n  0: "object"\n  1: "cell"\n  2: "spheroid"\n' in yaml
    assert "nc: 3" in yaml
    assert files["x.txt"].startswith("2 ")


def test_coordinates_are_clipped_to_the_unit_square(tmp_path) -> None:
    outside = Polygon(
        exterior=np.array([[-2.0, -2.0], [130.0, -2.0], [130.0, 50.0], [-2.0, 50.0]]), id=1
    )
    files, _ = _labels(tmp_path, [make_result("o.tif", [outside])])
    coords = np.array(files["o.txt"].split()[1:], dtype=float)
    assert coords.min() == 0.0 and coords.max() == 1.0


def test_one_warning_per_run_counts_seamed_objects(tmp_path) -> None:
    results = [
        make_result(
            f"img{i}.tif", [square_with_hole(1, 5, 5, 40, 10), square_with_hole(2, 60, 5, 40, 10)]
        )
        for i in range(3)
    ]
    _, warnings = _labels(tmp_path, results)
    assert len(warnings) == 1
    assert "6 object(s) with holes" in warnings[0]


def test_no_warning_without_holes(tmp_path) -> None:
    _, warnings = _labels(tmp_path, [make_result("d.tif", [disc(1, 50, 50, 20)])])
    assert warnings == []


def test_seam_of_a_square_hole_fills_the_right_area() -> None:
    polygon = square_with_hole(1, 10, 10, 40, 16)
    ring = seam_ring(polygon)
    assert len(ring) == 4 + 4 + 2
    assert _filled_area(ring) == pytest.approx(net_area(polygon), rel=0.03)
    assert _filled_area(polygon.exterior) == pytest.approx(40 * 40, rel=0.03)


def test_seam_with_several_round_holes_fills_the_right_area() -> None:
    holes = tuple(circle(cx, cy, 6, n=40)[::-1].copy() for cx, cy in [(30, 30), (60, 35), (45, 60)])
    polygon = Polygon(exterior=circle(45, 45, 35, n=120), holes=holes, id=1)
    ring = seam_ring(polygon)
    assert len(ring) == 120 + 3 * (40 + 2)
    assert _filled_area(ring) == pytest.approx(net_area(polygon), rel=0.03)


def test_seam_fixes_hole_orientation() -> None:
    same_way = Polygon(exterior=circle(50, 50, 30), holes=(circle(50, 50, 10),), id=1)
    assert _filled_area(seam_ring(same_way)) == pytest.approx(
        net_area(Polygon(exterior=circle(50, 50, 30), holes=(circle(50, 50, 10)[::-1].copy(),))),
        rel=0.03,
    )


def test_written_seam_reads_back_with_the_hole(tmp_path) -> None:
    polygon = square_with_hole(1, 10, 10, 40, 16)
    files, _ = _labels(tmp_path, [make_result("h.tif", [polygon], width=100, height=100)])
    ring = np.array(files["h.txt"].split()[1:], dtype=float).reshape(-1, 2) * 100
    assert _filled_area(ring) == pytest.approx(40 * 40 - 16 * 16, rel=0.03)
