"""The exporter registry, output naming, and every format together through both sinks."""

from __future__ import annotations

import gc
import gzip
import json
import weakref

import numpy as np
import pytest

from cellhub.errors import InvalidParameter
from cellhub.exporters import EXPORTERS, open_exporters
from cellhub.exporters.base import DirectorySink, ExportContext, ImagePaths, image_stem
from cellhub.exporters.manifest import polygons_of, read_document

from .conftest import SinkFactory, disc, make_result, run_export, sample_results

ALL_FORMATS = ["coco", "yolo", "excel", "csv", "geojson", "masks", "imagej", "overlay", "json"]


def test_registry_has_every_format() -> None:
    assert sorted(EXPORTERS) == sorted(ALL_FORMATS)
    for name, exporter in EXPORTERS.items():
        assert exporter.format_name == name


def test_unknown_format_is_an_invalid_parameter_listing_known_ones(tmp_path, context) -> None:
    with pytest.raises(InvalidParameter) as raised:
        open_exporters(["coco", "tiff"], DirectorySink(tmp_path), context)
    assert "tiff" in raised.value.reason
    for name in ALL_FORMATS:
        assert name in raised.value.reason
    assert raised.value.details["unknown"] == ["tiff"]
    assert not any(tmp_path.iterdir())  # nothing was opened


def test_open_exporters_dedupes_and_records_formats(tmp_path, context) -> None:
    exporters = open_exporters(["CSV", "coco", "csv"], DirectorySink(tmp_path), context)
    assert [e.format_name for e in exporters] == ["csv", "coco"]
    assert exporters[0].context.formats == ("csv", "coco")


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("plate1/A01.tif", "plate1/A01"),
        ("a.ome.tiff", "a"),
        ("../../etc/passwd.png", "__/__/etc/passwd"),
        ("/abs/path/x.tif", "abs/path/x"),
        ("C:\\data\\run 1\\y.TIF", "C_/data/run 1/y"),
        ("./noext", "noext"),
        (".hidden", ".hidden"),
        ("", "image"),
    ],
)
def test_image_stem_is_safe_and_keeps_sub_folders(name: str, stem: str) -> None:
    assert image_stem(name) == stem


def test_image_paths_never_collide() -> None:
    paths = ImagePaths("masks", ".png")
    claimed = [paths.claim(n) for n in ["a.tif", "a.png", "A.jpg", "sub/a.tif", "a_2.tif"]]
    assert claimed == [
        "masks/a.png",
        "masks/a_2.png",
        "masks/A_3.png",
        "masks/sub/a.png",
        "masks/a_2_2.png",
    ]


def test_every_format_streams_into_either_sink(sink_factory: SinkFactory) -> None:
    sink, root_of = sink_factory()
    context = ExportContext(class_names=("object",))
    warnings = run_export(ALL_FORMATS, sample_results(), sink, context)
    root = root_of()
    expected = [
        "coco/annotations.json",
        "yolo/data.yaml",
        "yolo/labels/plate1/A01.txt",
        "yolo/labels/B02.txt",
        "yolo/labels/plate1/empty.txt",
        "excel/measurements.xlsx",
        "csv/objects.csv",
        "csv/images.csv",
        "csv/metadata.csv",
        "geojson/plate1/A01.geojson",
        "geojson/plate1/empty.geojson",
        "masks/plate1/A01.png",
        "masks/plate1/empty.png",
        "imagej/plate1/A01.zip",
        "imagej/B02.zip",
        "overlay/plate1/A01.png",
        "overlay/plate1/empty.png",
        "segmentations/plate1/A01.json.gz",
        "segmentations/B02.json.gz",
    ]
    for path in expected:
        assert (root / path).is_file(), path
    assert not list(root.rglob("*.partial"))
    assert sum("yolo:" in w for w in warnings) == 1  # one object carried a hole


def test_segmentation_documents_round_trip(tmp_path, context) -> None:
    result = sample_results()[0]
    run_export(["json"], [result], DirectorySink(tmp_path), context)
    data = (tmp_path / "segmentations/plate1/A01.json.gz").read_bytes()
    document = json.loads(gzip.decompress(data))
    assert document == json.loads(json.dumps(result.to_document()))
    assert read_document(data) == document
    polygons = polygons_of(document)
    assert [p.id for p in polygons] == [1, 2]
    assert np.allclose(polygons[0].holes[0], result.polygons[0].holes[0])


@pytest.mark.parametrize(
    "data", [b"not gzip", gzip.compress(b"[1]"), gzip.compress(b'{"schema": "other/1"}')]
)
def test_reading_something_else_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidParameter):
        read_document(data)


def test_zero_object_run_still_writes_every_file(tmp_path, context) -> None:
    warnings = run_export(
        ALL_FORMATS, [make_result("only/empty.tif", [])], DirectorySink(tmp_path), context
    )
    assert warnings == []
    coco = json.loads((tmp_path / "coco/annotations.json").read_text())
    assert coco["annotations"] == [] and len(coco["images"]) == 1
    assert (tmp_path / "yolo/labels/only/empty.txt").read_text() == ""


def test_no_exporter_keeps_the_pixels_after_add(tmp_path, context) -> None:
    pixels = np.zeros((100, 120, 1), dtype=np.uint16)
    alive = weakref.ref(pixels)
    result = make_result("p.tif", [disc(1, 50, 50, 10)], pixels=pixels)
    exporters = open_exporters(ALL_FORMATS, DirectorySink(tmp_path), context)
    for exporter in exporters:
        exporter.add(result)
    del pixels, result
    gc.collect()
    assert alive() is None
    for exporter in exporters:
        exporter.close()
