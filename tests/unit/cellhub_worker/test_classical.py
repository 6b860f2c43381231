"""The ``classical`` segmenter on synthetic nuclei and spheroids, odd inputs and thresholds."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from cellhub.errors import InvalidParameter, UnsupportedPixelType
from cellhub.segmenter import Instances, Segmenter
from cellhub_worker.models import ClassicalSegmenter
from cellhub_worker.synthetic import synthetic_nuclei, synthetic_spheroids


def _matched_ious(truth: NDArray[np.int32], predicted: NDArray[np.int32]) -> NDArray[np.float64]:
    """For each true label 1..N, the IoU with the predicted label that overlaps it most."""
    ious = np.zeros(int(truth.max()))
    predicted_area = np.bincount(predicted.ravel())
    for label in range(1, ious.size + 1):
        inside = truth == label
        overlap = np.bincount(predicted[inside], minlength=predicted_area.size)
        overlap[0] = 0
        best = int(overlap.argmax())
        if overlap[best]:
            union = inside.sum() + predicted_area[best] - overlap[best]
            ious[label - 1] = overlap[best] / union
    return ious


def _segment(pixels: NDArray[Any], threshold: float | None = None) -> Instances:
    segmenter: Segmenter = ClassicalSegmenter()
    return segmenter.segment(pixels, threshold=threshold)


def test_identity() -> None:
    segmenter = ClassicalSegmenter()
    assert (segmenter.name, segmenter.version) == ("classical", "1")


@pytest.mark.parametrize("bit_depth", [8, 16])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finds_synthetic_nuclei(bit_depth: Literal[8, 16], seed: int) -> None:
    image, truth = synthetic_nuclei(seed=seed, bit_depth=bit_depth)
    assert image.dtype == (np.uint8 if bit_depth == 8 else np.uint16)
    result = _segment(image[:, :, np.newaxis])
    true_count = int(truth.max())
    assert abs(int(result.labels.max()) - true_count) <= 0.1 * true_count
    assert _matched_ious(truth, result.labels).mean() >= 0.8
    assert all(0.0 <= score <= 1.0 for score in result.scores.values())
    assert set(result.scores) == set(range(1, int(result.labels.max()) + 1))


def test_synthetic_nuclei_include_touching_pairs_and_are_reproducible() -> None:
    image, truth = synthetic_nuclei(seed=5)
    again, _ = synthetic_nuclei(seed=5)
    assert np.array_equal(image, again)
    apart, _ = synthetic_nuclei(seed=5, touching=False)
    assert not np.array_equal(image, apart)
    horizontal = (truth[:, 1:] != truth[:, :-1]) & (truth[:, 1:] > 0) & (truth[:, :-1] > 0)
    assert horizontal.any()


def test_dark_on_bright_nuclei_are_found_too() -> None:
    image, truth = synthetic_nuclei(seed=3)
    result = _segment(255 - image[:, :, np.newaxis])
    assert abs(int(result.labels.max()) - int(truth.max())) <= 0.1 * truth.max()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finds_dark_spheroids_and_keeps_their_lumen(seed: int) -> None:
    image, truth = synthetic_spheroids(seed=seed)
    result = _segment(image[:, :, np.newaxis])
    assert result.labels.max() == truth.max()
    assert _matched_ious(truth, result.labels).min() >= 0.8
    lumen = (truth == 0) & (_filled(truth) > 0)
    assert lumen.any()
    assert (result.labels[lumen] == 0).mean() > 0.8


def _filled(labels: NDArray[np.int32]) -> NDArray[np.uint8]:
    """``labels > 0`` with every hole filled: object outlines, drawn solid."""
    filled = np.zeros(labels.shape, np.uint8)
    contours, _ = cv2.findContours(
        (labels > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    cv2.drawContours(filled, contours, -1, 1, thickness=-1)
    return filled


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32])
def test_blank_and_constant_images_give_no_instances(dtype: type) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for value in (0, 7):
            result = _segment(np.full((128, 96, 1), value, dtype=dtype))
            assert result.labels.shape == (128, 96)
            assert result.labels.dtype == np.int32
            assert not result.labels.any()
            assert result.scores == {}


def test_float32_and_int32_inputs_match_uint8() -> None:
    image, truth = synthetic_nuclei(seed=4)
    reference = _segment(image[:, :, np.newaxis])
    as_float = _segment((image.astype(np.float32) / 255.0)[:, :, np.newaxis])
    as_int = _segment((image.astype(np.int32) * 1000 - 50_000)[:, :, np.newaxis])
    for result in (as_float, as_int):
        assert result.labels.max() == reference.labels.max()
        assert _matched_ious(truth, result.labels).mean() >= 0.8


def test_channels_are_combined_and_two_dimensional_input_is_accepted() -> None:
    image, _ = synthetic_nuclei(seed=6)
    single = _segment(image[:, :, np.newaxis])
    three = _segment(np.repeat(image[:, :, np.newaxis], 3, axis=2))
    flat = _segment(image)
    assert np.array_equal(single.labels, three.labels)
    assert np.array_equal(single.labels, flat.labels)


def test_threshold_half_is_otsu_and_higher_is_stricter() -> None:
    image, _ = synthetic_nuclei(seed=7)
    pixels = image[:, :, np.newaxis]
    automatic = _segment(pixels)
    assert np.array_equal(automatic.labels, _segment(pixels, 0.5).labels)
    areas = [int((_segment(pixels, t).labels > 0).sum()) for t in (0.3, 0.5, 0.7)]
    assert areas[0] > areas[1] > areas[2] > 0


@pytest.mark.parametrize("threshold", [0.0, 1.0, -1.0, 2.0])
def test_threshold_outside_open_unit_interval_is_rejected(threshold: float) -> None:
    with pytest.raises(InvalidParameter):
        _segment(np.zeros((16, 16, 1), np.uint8), threshold)


def test_unusable_pixels_are_rejected() -> None:
    with pytest.raises(UnsupportedPixelType):
        _segment(np.zeros((4, 16, 16, 1), np.uint8))
    with pytest.raises(UnsupportedPixelType):
        _segment(np.zeros((16, 16, 0), np.uint8))
    with pytest.raises(UnsupportedPixelType):
        _segment(np.zeros((16, 16, 1), np.complex64))
