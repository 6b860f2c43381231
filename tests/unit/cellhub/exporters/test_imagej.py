"""ImageJ ROI zips read back with roifile: names, order, coordinates, composite holes."""

from __future__ import annotations

import zipfile

import numpy as np
from roifile import ROI_TYPE, roiread

from cellhub.exporters.base import DirectorySink, ExportContext
from cellhub.exporters.imagej import roi_zip
from cellhub.geometry.polygon import Polygon

from .conftest import (
    SinkFactory,
    circle,
    disc,
    make_result,
    run_export,
    sample_results,
    square_with_hole,
)


def test_one_zip_per_image_readable_by_roifile(sink_factory: SinkFactory) -> None:
    sink, root_of = sink_factory()
    run_export(["imagej"], sample_results(), sink, ExportContext())
    rois = roiread(root_of() / "imagej/plate1/A01.zip")
    assert [r.name for r in rois] == ["0001", "0002"]
    with zipfile.ZipFile(root_of() / "imagej/plate1/empty.zip") as archive:
        assert archive.namelist() == []


def test_polygon_roi_keeps_sub_pixel_vertices(tmp_path) -> None:
    polygon = disc(7, 30.25, 40.75, 10)
    (tmp_path / "r.zip").write_bytes(roi_zip([polygon]))
    (roi,) = roiread(tmp_path / "r.zip")
    assert roi.roitype == ROI_TYPE.POLYGON
    assert np.allclose(roi.coordinates(), polygon.exterior, atol=1e-4)


def test_hole_survives_as_a_composite_roi(tmp_path) -> None:
    polygon = square_with_hole(3, 10, 10, 40, 16)
    (tmp_path / "h.zip").write_bytes(roi_zip([polygon]))
    (roi,) = roiread(tmp_path / "h.zip")
    assert roi.composite and roi.roitype == ROI_TYPE.RECT
    exterior, hole = roi.coordinates(multi=True)
    assert np.allclose(exterior[:-1], polygon.exterior) and np.allclose(exterior[-1], exterior[0])
    assert np.allclose(hole[:-1], polygon.holes[0])
    assert (roi.left, roi.top, roi.right, roi.bottom) == (10, 10, 50, 50)


def test_several_holes_each_get_a_sub_path(tmp_path) -> None:
    holes = tuple(circle(cx, 45, 5, n=24)[::-1].copy() for cx in (30, 60))
    polygon = Polygon(exterior=circle(45, 45, 35, n=90), holes=holes, id=12)
    (tmp_path / "m.zip").write_bytes(roi_zip([polygon]))
    (roi,) = roiread(tmp_path / "m.zip")
    rings = roi.coordinates(multi=True)
    assert [len(r) for r in rings] == [91, 25, 25]


def test_names_are_zero_padded_and_sorted_as_written(tmp_path) -> None:
    polygons = [disc(i, 10 + 5 * (i % 10), 50, 2) for i in (2, 10, 123456)]
    (tmp_path / "n.zip").write_bytes(roi_zip(polygons))
    names = [r.name for r in roiread(tmp_path / "n.zip")]
    assert names == ["000002", "000010", "123456"]


def test_duplicate_ids_never_overwrite_each_other(tmp_path) -> None:
    (tmp_path / "d.zip").write_bytes(roi_zip([disc(5, 20, 20, 4), disc(5, 60, 20, 4)]))
    assert [r.name for r in roiread(tmp_path / "d.zip")] == ["0005", "0005-2"]


def test_exporter_writes_sub_folder_names(tmp_path) -> None:
    run_export(
        ["imagej"],
        [make_result("a/b/c.tiff", [disc(1, 20, 20, 5)])],
        DirectorySink(tmp_path),
        ExportContext(),
    )
    assert len(roiread(tmp_path / "imagej/a/b/c.zip")) == 1
