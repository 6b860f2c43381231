"""Shape metrics on polygons whose answers are known in closed form.

Rectangles at any angle, discs, squares with holes, and degenerate input. Angles follow the
on-screen convention (0 = +x, counter-clockwise as displayed, y pointing down): a direction at
screen angle ``a`` is the image-frame vector ``(cos a, -sin a)``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.typing import NDArray
from skimage.draw import disk

from cellhub.geometry.polygon import Polygon
from cellhub.geometry.tracing import polygons_from_labels
from cellhub.metrics import measure
from cellhub.metrics.columns import SHAPE_METRICS, Kind, metric_columns

Ring = NDArray[np.float64]


def rectangle(width: float, height: float, angle_deg: float, centre: tuple[float, float]) -> Ring:
    """Exterior ring of a ``width`` x ``height`` rectangle whose ``width`` side points at
    screen angle ``angle_deg``; positive shoelace orientation."""
    a = math.radians(angle_deg)
    u = np.array([math.cos(a), -math.sin(a)])  # along the width, image frame
    v = np.array([math.sin(a), math.cos(a)])  # along the height
    c = np.asarray(centre)
    corners = [
        c + (sx * width * u + sy * height * v) / 2
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    ring = np.array(corners)
    return ring if _signed_area(ring) > 0 else ring[::-1].copy()


def square(x0: float, y0: float, side: float, *, hole: bool = False) -> Ring:
    ring = np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]], float)
    return ring[::-1].copy() if hole else ring


def _signed_area(ring: Ring) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _axis_difference(a: float, b: float) -> float:
    """Smallest difference between two axis angles in degrees (modulo 180)."""
    return abs((a - b + 90.0) % 180.0 - 90.0)


@pytest.mark.parametrize("angle", [0.0, 17.0, 45.0, 90.0, 123.4, 179.0])
@pytest.mark.parametrize(("width", "height"), [(40.0, 10.0), (7.0, 25.0), (30.0, 30.0)])
def test_rectangle_feret_and_axes(width: float, height: float, angle: float) -> None:
    (row,) = measure([Polygon(rectangle(width, height, angle, (300.0, 200.0)))])
    long_angle = angle if width >= height else angle + 90.0

    assert row["area_px2"] == pytest.approx(width * height)
    assert row["perimeter_px"] == pytest.approx(2 * (width + height))
    assert row["feret_max_px"] == pytest.approx(math.hypot(width, height))
    assert row["feret_min_px"] == pytest.approx(min(width, height))
    assert row["convex_area_px2"] == pytest.approx(width * height)
    assert row["solidity"] == pytest.approx(1.0)
    assert row["convexity"] == pytest.approx(1.0)
    assert row["centroid_x_px"] == pytest.approx(300.0)
    assert row["centroid_y_px"] == pytest.approx(200.0)
    diagonal = math.degrees(math.atan2(min(width, height), max(width, height)))
    max_angle_error = min(
        _axis_difference(row["feret_max_angle"], long_angle + diagonal),
        _axis_difference(row["feret_max_angle"], long_angle - diagonal),
    )
    assert max_angle_error == pytest.approx(0.0, abs=1e-6)
    if width != height:
        # The smallest width is measured across the long sides, perpendicular to them.
        assert _axis_difference(row["feret_min_angle"], long_angle + 90.0) == pytest.approx(
            0.0, abs=1e-6
        )
        assert _axis_difference(row["orientation"], long_angle) == pytest.approx(0.0, abs=1e-6)
    # Pixel-centre second moments: variance w²/12 - 1/12 along the long side.
    long_side, short_side = max(width, height), min(width, height)
    assert row["major_axis_length_px"] == pytest.approx(4 * math.sqrt((long_side**2 - 1) / 12))
    assert row["minor_axis_length_px"] == pytest.approx(4 * math.sqrt((short_side**2 - 1) / 12))


def test_axis_aligned_rectangle_box_extent_and_exact_angles() -> None:
    ring = np.array([[10.0, 20.0], [50.0, 20.0], [50.0, 30.0], [10.0, 30.0]])
    (row,) = measure([Polygon(ring)])
    assert (row["bbox_x_px"], row["bbox_y_px"]) == (10.0, 20.0)
    assert (row["bbox_width_px"], row["bbox_height_px"]) == (40.0, 10.0)
    assert row["extent"] == pytest.approx(1.0)
    assert row["orientation"] == 0.0, "a horizontal axis is 0, never 180"
    assert row["feret_min_angle"] == 90.0
    diagonal = math.degrees(math.atan2(10, 40))
    assert min(_axis_difference(row["feret_max_angle"], a) for a in (diagonal, -diagonal)) < 1e-9


def test_screen_counter_clockwise_is_up_right() -> None:
    """A bar from bottom-left to top-right as displayed (y down) is at 45°, not 135°."""
    bar = np.array([[0.0, 100.0], [5.0, 105.0], [105.0, 5.0], [100.0, 0.0]])
    (row,) = measure([Polygon(bar if _signed_area(bar) > 0 else bar[::-1].copy())])
    assert row["orientation"] == pytest.approx(45.0)
    assert row["feret_min_angle"] == pytest.approx(135.0)


@pytest.mark.parametrize("radius", [20, 35, 60, 150])
def test_traced_digital_disc_is_circular(radius: int) -> None:
    mask = np.zeros((2 * radius + 20, 2 * radius + 20), dtype=np.int32)
    mask[disk((radius + 10, radius + 10), radius)] = 1
    (row,) = measure(polygons_from_labels(mask))
    assert row["circularity"] == pytest.approx(1.0, abs=0.03)
    assert row["sphericity"] == pytest.approx(math.sqrt(row["circularity"]))
    assert row["compactness"] == pytest.approx(1.0 / row["circularity"])
    assert row["equivalent_diameter_px"] == pytest.approx(2 * radius, rel=0.02)
    assert row["feret_aspect_ratio"] < 1.1
    assert row["eccentricity"] < 0.2


def test_exact_disc_polygon_circularity_is_not_clamped() -> None:
    theta = np.linspace(0.0, 2 * np.pi, 720, endpoint=False)
    ring = np.c_[100 + 50 * np.cos(theta), 100 + 50 * np.sin(theta)]
    (row,) = measure([Polygon(ring)])
    assert row["circularity"] == pytest.approx(1.0, abs=1e-4)
    assert row["feret_max_px"] == pytest.approx(100.0, abs=1e-3)
    assert row["feret_min_px"] == pytest.approx(100.0, abs=1e-2)


def test_holes_reduce_area_add_perimeter_and_move_the_centroid() -> None:
    outer = square(0.0, 0.0, 40.0)
    hole = square(25.0, 5.0, 10.0, hole=True)
    (row,) = measure([Polygon(outer, holes=(hole,))])
    assert row["area_px2"] == pytest.approx(1500.0)
    assert row["hole_area_px2"] == pytest.approx(100.0)
    assert row["hole_count"] == 1
    assert row["perimeter_px"] == pytest.approx(160.0)
    assert row["perimeter_with_holes_px"] == pytest.approx(200.0)
    assert row["centroid_x_px"] == pytest.approx((1600 * 20.0 - 100 * 30.0) / 1500)
    assert row["centroid_y_px"] == pytest.approx((1600 * 20.0 - 100 * 10.0) / 1500)
    assert row["convex_area_px2"] == pytest.approx(1600.0)
    assert row["solidity"] == pytest.approx(1500.0 / 1600.0)
    assert row["extent"] == pytest.approx(1500.0 / 1600.0)


def test_ring_orientation_does_not_change_the_result() -> None:
    outer, hole = square(0.0, 0.0, 40.0), square(25.0, 5.0, 10.0, hole=True)
    normal = measure([Polygon(outer, holes=(hole,))])[0]
    flipped = measure([Polygon(outer[::-1].copy(), holes=(hole[::-1].copy(),))])[0]
    for key, value in normal.items():
        assert flipped[key] == pytest.approx(value), key


def test_far_from_the_origin_keeps_precision() -> None:
    ring = rectangle(12.0, 5.0, 30.0, (0.0, 0.0))
    near = measure([Polygon(ring + 50.0)])[0]
    far = measure([Polygon(ring + 1.0e6)])[0]
    for key in (
        "area_px2",
        "major_axis_length_px",
        "minor_axis_length_px",
        "orientation",
        "feret_min_px",
    ):
        assert far[key] == pytest.approx(near[key], rel=1e-9), key
    assert far["centroid_x_px"] - near["centroid_x_px"] == pytest.approx(1.0e6 - 50.0)


def test_pixel_size_scales_values_and_renames_columns() -> None:
    polygons = [Polygon(square(0.0, 0.0, 40.0), holes=(square(25.0, 5.0, 10.0, hole=True),), id=7)]
    px = measure(polygons)[0]
    um = measure(polygons, pixel_size=0.5)[0]
    assert list(px) == metric_columns(None)
    assert list(um) == metric_columns(0.5)
    assert "area_um2" in um and "perimeter_um" in um and "circularity" in um
    for name, kind in SHAPE_METRICS.items():
        suffix = {Kind.LENGTH: ("_px", "_um"), Kind.AREA: ("_px2", "_um2")}.get(kind, ("", ""))
        factor = {Kind.LENGTH: 0.5, Kind.AREA: 0.25}.get(kind, 1.0)
        assert um[name + suffix[1]] == pytest.approx(px[name + suffix[0]] * factor), name


def test_rows_are_plain_python_values_in_input_order() -> None:
    polygons = [
        Polygon(square(0, 0, 10), id=3, class_name="nucleus"),
        Polygon(square(50, 50, 4), id=1, class_name="cell"),
    ]
    rows = measure(polygons)
    assert [(r["object_id"], r["class"]) for r in rows] == [(3, "nucleus"), (1, "cell")]
    for row in rows:
        assert type(row["hole_count"]) is int and type(row["object_id"]) is int
        assert all(
            type(v) is float
            for k, v in row.items()
            if k not in ("object_id", "class", "hole_count")
        )
    assert measure([]) == []


@pytest.mark.parametrize(
    "ring",
    [
        np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]),
        np.array([[5.0, 5.0], [5.0, 5.0], [5.0, 5.0]]),
        np.array([[3.0, 4.0]]),
        np.array([[0.0, 0.0], [10.0, 0.0]]),
        np.zeros((0, 2)),
    ],
    ids=["collinear", "repeated", "one-vertex", "two-vertex", "empty"],
)
def test_degenerate_polygons_give_nan_ratios_without_warnings(ring: Ring) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row, healthy = measure([Polygon(ring), Polygon(square(0, 0, 5))])
    assert row["area_px2"] == 0.0
    for ratio in ("circularity", "compactness", "sphericity", "solidity", "convexity", "extent"):
        assert math.isnan(row[ratio]), ratio
    assert math.isnan(row["eccentricity"]) and math.isnan(row["feret_aspect_ratio"])
    assert healthy["area_px2"] == pytest.approx(25.0), "one bad polygon does not spoil the batch"


def test_collinear_polygon_has_its_length_as_feret_max() -> None:
    (row,) = measure([Polygon(np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [3.0, 4.0]]))])
    assert row["feret_max_px"] == pytest.approx(10.0)
    assert row["feret_min_px"] == pytest.approx(0.0)
    assert row["convex_area_px2"] == pytest.approx(0.0)


def test_angles_lie_in_zero_to_180() -> None:
    rng = np.random.default_rng(5)
    polygons = []
    for _ in range(200):
        n = int(rng.integers(3, 30))
        theta = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = rng.uniform(5, 20, n)
        polygons.append(
            Polygon(np.c_[r * np.cos(theta), r * np.sin(theta)] + rng.uniform(0, 500, 2))
        )
    for row in measure(polygons):
        for key in ("feret_max_angle", "feret_min_angle", "orientation"):
            assert 0.0 <= row[key] < 180.0


def test_a_polygon_with_nan_coordinates_does_not_disturb_the_batch() -> None:
    broken = square(0, 0, 10)
    broken[2, 0] = np.nan
    polygons = [Polygon(square(0, 0, 10)), Polygon(broken, holes=(square(2, 2, 1, hole=True),))]
    polygons.append(Polygon(rectangle(30.0, 8.0, 20.0, (50.0, 50.0))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        before, bad, after = measure(polygons)
    assert math.isnan(bad["area_px2"]) and math.isnan(bad["feret_max_px"])
    assert bad["hole_count"] == 1
    assert before["feret_max_px"] == pytest.approx(math.hypot(10, 10))
    assert after["feret_min_px"] == pytest.approx(8.0)
    assert after["orientation"] == pytest.approx(20.0)
