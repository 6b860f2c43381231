"""GeoJSON FeatureCollections as QuPath reads them: rings, holes, properties, stable ids."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from cellhub.exporters.base import DirectorySink, ExportContext
from cellhub.exporters.geojson import object_uuid
from cellhub.geometry.polygon import Polygon

from .conftest import SinkFactory, circle, make_result, run_export, sample_results, square_with_hole


def _shoelace_y_up(ring: list[list[float]]) -> float:
    """Signed area reading the numbers as (x, y) with y up: positive = counter-clockwise."""
    points = np.array(ring[:-1])
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


@pytest.fixture
def collection(tmp_path) -> dict:
    context = ExportContext(class_names=("object", "nucleus"))
    run_export(["geojson"], sample_results(), DirectorySink(tmp_path), context)
    return json.loads((tmp_path / "geojson/plate1/A01.geojson").read_text())


def test_feature_collection_with_one_polygon_feature_per_object(collection) -> None:
    assert collection["type"] == "FeatureCollection"
    assert [f["geometry"]["type"] for f in collection["features"]] == ["Polygon", "Polygon"]
    assert [f["properties"]["name"] for f in collection["features"]] == ["1", "2"]


def test_holes_are_interior_rings_and_rings_are_closed(collection) -> None:
    rings = collection["features"][0]["geometry"]["coordinates"]
    assert len(rings) == 2
    for ring in rings:
        assert ring[0] == ring[-1]
    assert len(rings[0]) == 5
    assert sorted(map(tuple, rings[1][:-1])) == [(22, 22), (22, 38), (38, 22), (38, 38)]


def test_orientation_follows_the_right_hand_rule_in_y_up_terms(collection) -> None:
    exterior, hole = collection["features"][0]["geometry"]["coordinates"]
    assert _shoelace_y_up(exterior) > 0  # counter-clockwise
    assert _shoelace_y_up(hole) < 0  # clockwise


def test_wrongly_oriented_input_rings_are_fixed(tmp_path) -> None:
    backwards = Polygon(exterior=circle(50, 50, 30)[::-1].copy(), holes=(circle(50, 50, 10),), id=4)
    run_export(
        ["geojson"], [make_result("b.tif", [backwards])], DirectorySink(tmp_path), ExportContext()
    )
    exterior, hole = json.loads((tmp_path / "geojson/b.geojson").read_text())["features"][0][
        "geometry"
    ]["coordinates"]
    assert _shoelace_y_up(exterior) > 0 > _shoelace_y_up(hole)


def test_properties_for_qupath(collection) -> None:
    feature = collection["features"][0]
    props = feature["properties"]
    assert props["objectType"] == "detection"
    assert props["isLocked"] is False
    assert props["classification"]["name"] == "object"
    assert len(props["classification"]["color"]) == 3
    assert all(0 <= c <= 255 for c in props["classification"]["color"])
    measurements = props["measurements"]
    assert measurements["area_px2"] == pytest.approx(40 * 40 - 16 * 16)
    assert measurements["hole_count"] == 1
    assert "feret_max_angle" not in measurements  # NaN dropped
    assert "class" not in measurements and "object_id" not in measurements
    assert str(uuid.UUID(feature["id"])) == feature["id"] == props["id"]


def test_ids_are_deterministic_and_distinct() -> None:
    assert object_uuid("plate1/A01.tif", 1) == object_uuid("plate1/A01.tif", 1)
    assert object_uuid("plate1/A01.tif", 1) != object_uuid("plate1/A01.tif", 2)
    assert object_uuid("plate1/A01.tif", 1) != object_uuid("plate1/A02.tif", 1)


def test_class_colours_follow_the_class_list(tmp_path) -> None:
    polygons = [
        square_with_hole(1, 5, 5, 30, 10),
        square_with_hole(2, 50, 5, 30, 10, class_name="nucleus"),
    ]
    context = ExportContext(class_names=("object", "nucleus"))
    run_export(["geojson"], [make_result("c.tif", polygons)], DirectorySink(tmp_path), context)
    features = json.loads((tmp_path / "geojson/c.geojson").read_text())["features"]
    colours = [tuple(f["properties"]["classification"]["color"]) for f in features]
    assert colours[0] != colours[1]


def test_empty_image_and_zip_sink(sink_factory: SinkFactory) -> None:
    sink, root_of = sink_factory()
    run_export(["geojson"], sample_results(), sink, ExportContext())
    empty = json.loads((root_of() / "geojson/plate1/empty.geojson").read_text())
    assert empty == {"type": "FeatureCollection", "features": []}
