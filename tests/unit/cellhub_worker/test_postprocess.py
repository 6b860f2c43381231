"""Probability maps to instances: validation, splitting, holes, area filter, scores, speed."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from cellhub.errors import InvalidParameter
from cellhub_worker.postprocess import instances_from_probabilities


def _canvas(size: int = 256) -> NDArray[np.uint8]:
    return np.zeros((size, size), dtype=np.uint8)


def _probability(mask: NDArray[np.uint8], inside: float = 0.9) -> NDArray[np.float32]:
    return np.where(mask > 0, inside, 0.05).astype(np.float32)


def _disc(canvas: NDArray[np.uint8], centre: tuple[int, int], radius: int) -> None:
    cv2.circle(canvas, centre, radius, 1, thickness=-1)


def _touching_pair(radius: int = 20, spacing: float = 1.7) -> NDArray[np.uint8]:
    canvas = _canvas()
    offset = round(spacing * radius / 2)
    _disc(canvas, (128 - offset, 128), radius)
    _disc(canvas, (128 + offset, 128), radius)
    return canvas


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.2, 1.5, float("nan")])
def test_threshold_outside_open_unit_interval_is_rejected(threshold: float) -> None:
    with pytest.raises(InvalidParameter):
        instances_from_probabilities(np.zeros((8, 8), np.float32), threshold=threshold)


def test_malformed_arguments_are_rejected() -> None:
    fg = np.zeros((8, 8), np.float32)
    with pytest.raises(InvalidParameter):
        instances_from_probabilities(np.zeros((8, 8, 1), np.float32))
    with pytest.raises(InvalidParameter):
        instances_from_probabilities(fg, np.zeros((4, 4), np.float32))
    with pytest.raises(InvalidParameter):
        instances_from_probabilities(fg, min_area=-1)
    with pytest.raises(InvalidParameter):
        instances_from_probabilities(fg, fill_holes_below=-1)


def test_empty_map_gives_no_instances() -> None:
    result = instances_from_probabilities(np.zeros((64, 64), np.float32))
    assert result.labels.dtype == np.int32
    assert result.labels.shape == (64, 64)
    assert not result.labels.any()
    assert result.scores == {}


@pytest.mark.parametrize(("radius", "spacing"), [(8, 1.7), (20, 1.6), (20, 1.8), (40, 1.7)])
def test_two_touching_discs_become_two_instances(radius: int, spacing: float) -> None:
    result = instances_from_probabilities(_probability(_touching_pair(radius, spacing)))
    assert result.labels.max() == 2
    areas = np.bincount(result.labels.ravel())[1:]
    assert abs(int(areas[0]) - int(areas[1])) < 0.1 * areas.mean()


def test_touching_discs_stay_together_when_splitting_is_off() -> None:
    probability = _probability(_touching_pair())
    assert instances_from_probabilities(probability, split_touching=False).labels.max() == 1


@pytest.mark.parametrize("radius", [6, 30, 110])
def test_single_disc_is_one_instance(radius: int) -> None:
    canvas = _canvas()
    _disc(canvas, (128, 128), radius)
    result = instances_from_probabilities(_probability(canvas))
    assert result.labels.max() == 1
    assert np.array_equal(result.labels > 0, canvas > 0)


@pytest.mark.parametrize("angle", [0, 30, 90, 135])
@pytest.mark.parametrize("semi_major", [16, 90])
def test_ellipse_of_aspect_two_is_one_instance(angle: int, semi_major: int) -> None:
    canvas = _canvas()
    cv2.ellipse(canvas, (128, 128), (semi_major, semi_major // 2), angle, 0, 360, 1, -1)
    assert instances_from_probabilities(_probability(canvas)).labels.max() == 1


def test_noisy_blurred_disc_is_not_over_segmented() -> None:
    rng = np.random.default_rng(3)
    canvas = _canvas()
    _disc(canvas, (128, 128), 90)
    blurred = cv2.GaussianBlur(canvas.astype(np.float32), (0, 0), 2.0)
    noisy = np.clip(blurred + rng.normal(0.0, 0.15, blurred.shape), 0, 1).astype(np.float32)
    assert instances_from_probabilities(noisy).labels.max() == 1


def test_annulus_keeps_its_hole() -> None:
    canvas = _canvas()
    _disc(canvas, (128, 128), 80)
    cv2.circle(canvas, (128, 128), 30, 0, thickness=-1)
    result = instances_from_probabilities(_probability(canvas))
    assert result.labels.max() == 1
    assert result.labels[128, 128] == 0
    assert np.array_equal(result.labels > 0, canvas > 0)


def test_only_holes_below_the_limit_are_filled() -> None:
    canvas = _canvas()
    _disc(canvas, (128, 128), 100)
    canvas[60:63, 60:63] = 0  # 9 px pinhole
    cv2.circle(canvas, (150, 150), 20, 0, thickness=-1)  # ~1,250 px lumen
    kept = instances_from_probabilities(_probability(canvas))
    filled = instances_from_probabilities(_probability(canvas), fill_holes_below=50)
    assert kept.labels[61, 61] == 0
    assert filled.labels[61, 61] == 1
    assert filled.labels[150, 150] == 0
    assert (
        instances_from_probabilities(_probability(canvas), fill_holes_below=5000).labels[150, 150]
        == 1
    )


def test_background_open_to_the_border_is_never_filled() -> None:
    canvas = _canvas()
    canvas[:, 100:110] = 1  # a bar cutting the background in two, both open to the border
    result = instances_from_probabilities(_probability(canvas), fill_holes_below=10**6)
    assert np.array_equal(result.labels > 0, canvas > 0)


def test_min_area_drops_specks() -> None:
    canvas = _canvas()
    _disc(canvas, (128, 128), 20)
    canvas[10:13, 10:13] = 1  # 9 px
    canvas[240:250, 240:250] = 1  # 100 px
    assert instances_from_probabilities(_probability(canvas), min_area=0).labels.max() == 3
    assert instances_from_probabilities(_probability(canvas), min_area=16).labels.max() == 2
    assert instances_from_probabilities(_probability(canvas), min_area=200).labels.max() == 1


def test_labels_are_consecutive_and_scores_are_mean_probabilities() -> None:
    canvas = _canvas()
    probability = np.full(canvas.shape, 0.1, np.float32)
    for index, (x, y) in enumerate([(40, 40), (200, 60), (60, 200), (190, 190)]):
        _disc(canvas, (x, y), 15)
        probability[canvas == 1] = 0.6 + 0.1 * index
        canvas[canvas == 1] = 2
    result = instances_from_probabilities(probability, min_area=0)
    assert result.labels.dtype == np.int32
    assert set(np.unique(result.labels).tolist()) == {0, 1, 2, 3, 4}
    assert set(result.scores) == {1, 2, 3, 4}
    for label, score in result.scores.items():
        expected = float(probability[result.labels == label].mean())
        assert score == pytest.approx(expected, abs=1e-6)
        assert 0.0 <= score <= 1.0


def test_boundary_map_separates_what_shape_alone_cannot() -> None:
    # Two discs overlapping so much that the neck is nearly as wide as either disc.
    canvas = _touching_pair(radius=30, spacing=0.9)
    probability = _probability(canvas)
    boundary = np.zeros(canvas.shape, np.float32)
    boundary[:, 126:131] = 0.9
    boundary[canvas == 0] = 0.0
    assert instances_from_probabilities(probability).labels.max() == 1
    result = instances_from_probabilities(probability, boundary)
    assert result.labels.max() == 2
    # The boundary pixels themselves are foreground and are shared out, not dropped.
    assert np.array_equal(result.labels > 0, canvas > 0)


def test_boundary_map_without_any_seed_keeps_the_object() -> None:
    canvas = _canvas()
    _disc(canvas, (128, 128), 20)
    probability = _probability(canvas)
    result = instances_from_probabilities(probability, np.ones(canvas.shape, np.float32))
    assert result.labels.max() == 1


def test_megapixel_map_with_hundreds_of_objects_is_fast() -> None:
    rng = np.random.default_rng(0)
    canvas = np.zeros((1024, 1024), np.uint8)
    for _ in range(200):
        centre = (int(rng.integers(20, 1004)), int(rng.integers(20, 1004)))
        _disc(canvas, centre, int(rng.integers(8, 18)))
    blurred = cv2.GaussianBlur(canvas.astype(np.float32), (0, 0), 2.0)
    probability = np.clip(blurred + rng.normal(0, 0.1, blurred.shape), 0, 1).astype(np.float32)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result = instances_from_probabilities(probability)
        best = min(best, time.perf_counter() - start)
    assert result.labels.max() > 150
    # The target is well under 0.3 s on one core; the margin absorbs a busy test machine.
    assert best < 0.6
