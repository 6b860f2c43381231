"""COCO export read back with pycocotools: masks, holes, areas, boxes, categories."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from cellhub.exporters.base import DirectorySink, ExportContext
from cellhub.exporters.coco import rle_from_crop
from cellhub.geometry.polygon import Polygon
from cellhub.geometry.raster import labels_from_polygons

from .conftest import (
    SinkFactory,
    disc,
    make_result,
    net_area,
    run_export,
    sample_results,
    square_with_hole,
)

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture
def coco(tmp_path, context) -> COCO:
    run_export(["coco"], sample_results(), DirectorySink(tmp_path), context)
    return COCO(str(tmp_path / "coco/annotations.json"))


def test_loads_with_images_categories_and_annotations(coco: COCO) -> None:
    images = coco.loadImgs(coco.getImgIds())
    assert [(i["file_name"], i["width"], i["height"]) for i in images] == [
        ("plate1/A01.tif", 120, 100),
        ("B02.png", 120, 100),
        ("plate1/empty.tif", 120, 100),
    ]
    assert coco.loadCats(coco.getCatIds()) == [{"id": 1, "name": "object", "supercategory": "cell"}]
    assert len(coco.getAnnIds()) == 3
    assert coco.getAnnIds(imgIds=[3]) == []


def test_object_with_hole_is_rle_and_keeps_its_hole(coco: COCO) -> None:
    ring = coco.loadAnns(coco.getAnnIds(imgIds=[1]))[0]
    assert isinstance(ring["segmentation"], dict) and ring["iscrowd"] == 0
    mask = coco.annToMask(ring)
    assert mask[30, 30] == 0  # the hole (pixels 22..37) stays empty
    assert mask[12, 12] == 1
    assert mask.sum() == 40 * 40 - 16 * 16 == ring["area"]
    assert ring["bbox"] == [10.0, 10.0, 40.0, 40.0]
    expected = labels_from_polygons([square_with_hole(1, 10, 10, 40, 16)], (100, 120)) > 0
    assert np.array_equal(mask.astype(bool), expected)


def test_object_without_hole_is_a_polygon_with_its_mask_area(coco: COCO) -> None:
    ann = coco.loadAnns(coco.getAnnIds(imgIds=[1]))[1]
    assert isinstance(ann["segmentation"], list) and len(ann["segmentation"][0]) == 128
    mask = coco.annToMask(ann)
    assert ann["area"] == mask.sum()
    assert abs(ann["area"] - np.pi * 15**2) / (np.pi * 15**2) < 0.02
    assert ann["score"] == pytest.approx(0.9)
    x, y, w, h = ann["bbox"]
    assert (x, y, w, h) == pytest.approx((70, 45, 30, 30), abs=0.01)


def test_masks_agree_with_our_rasteriser_for_polygons(tmp_path, context) -> None:
    polygons = [disc(i + 1, 20 + 25 * i, 40, 8 + 2 * i) for i in range(4)]
    run_export(["coco"], [make_result("d.tif", polygons)], DirectorySink(tmp_path), context)
    coco = COCO(str(tmp_path / "coco/annotations.json"))
    ours = labels_from_polygons(polygons, (100, 120))
    for ann, polygon in zip(coco.loadAnns(coco.getAnnIds()), polygons, strict=True):
        theirs = coco.annToMask(ann).astype(bool)
        mine = ours == polygon.id
        iou = (theirs & mine).sum() / (theirs | mine).sum()
        assert iou > 0.97
        assert abs(ann["area"] - net_area(polygon)) / net_area(polygon) < 0.03


def test_unlisted_class_becomes_a_category_with_a_warning(tmp_path) -> None:
    result = make_result("x.tif", [square_with_hole(1, 5, 5, 20, 6, class_name="nucleus")])
    warnings = run_export(["coco"], [result], DirectorySink(tmp_path), ExportContext())
    data = json.loads((tmp_path / "coco/annotations.json").read_text())
    assert [c["name"] for c in data["categories"]] == ["object", "nucleus"]
    assert data["annotations"][0]["category_id"] == 2
    assert len(warnings) == 1 and "nucleus" in warnings[0]


def test_info_records_the_run(tmp_path) -> None:
    context = ExportContext(model="unet", model_version="3", pixel_size_um=0.5, threshold=0.4)
    run_export(["coco"], [make_result("x.tif", [])], DirectorySink(tmp_path), context)
    info = json.loads((tmp_path / "coco/annotations.json").read_text())["info"]
    assert (info["model"], info["model_version"], info["pixel_size_um"]) == ("unet", "3", 0.5)


def test_written_into_a_zip_as_well(sink_factory: SinkFactory, context) -> None:
    sink, root_of = sink_factory()
    run_export(["coco"], sample_results(), sink, context)
    assert len(COCO(str(root_of() / "coco/annotations.json")).getAnnIds()) == 3


@pytest.mark.parametrize(
    ("row0", "col0", "shape"),
    [(0, 0, (5, 7)), (3, 4, (6, 2)), (94, 113, (6, 7)), (-2, -3, (5, 6)), (97, 118, (8, 8))],
)
def test_rle_from_crop_equals_encoding_the_full_mask(row0, col0, shape) -> None:
    rng = np.random.default_rng(abs(row0 * 1000 + col0))
    crop = rng.random(shape) > 0.4
    crop[0, 0] = crop[-1, -1] = True
    full = np.zeros((100, 120), dtype=np.uint8, order="F")
    r0, c0 = max(row0, 0), max(col0, 0)
    r1, c1 = min(row0 + shape[0], 100), min(col0 + shape[1], 120)
    full[r0:r1, c0:c1] = crop[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0]
    ours = rle_from_crop(row0, col0, crop, 100, 120)
    assert np.array_equal(coco_mask.decode(ours), full)
    assert ours["counts"] == coco_mask.encode(full)["counts"]


def test_rle_of_an_empty_crop_is_all_background() -> None:
    rle = rle_from_crop(200, 200, np.ones((3, 3), bool), 100, 120)
    assert coco_mask.area(rle) == 0


def test_polygon_objects_outside_the_image_do_not_break_loading(tmp_path, context) -> None:
    edge = Polygon(
        exterior=np.array([[110.0, 90.0], [130.0, 90.0], [130.0, 110.0], [110.0, 110.0]]), id=1
    )
    run_export(["coco"], [make_result("e.tif", [edge])], DirectorySink(tmp_path), context)
    coco = COCO(str(tmp_path / "coco/annotations.json"))
    assert coco.annToMask(coco.loadAnns([1])[0]).sum() == 10 * 10
