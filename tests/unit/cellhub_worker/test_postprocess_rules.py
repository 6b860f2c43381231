"""Per-checkpoint post-processing rules: seed cut, relative area floor, test-time symmetries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from cellhub.errors import InvalidParameter
from cellhub_worker import learned
from cellhub_worker.checkpoint import (
    CheckpointMeta,
    Postprocessing,
    read_checkpoint_meta,
    save_checkpoint,
)
from cellhub_worker.inference import predict_symmetric
from cellhub_worker.instance_filters import drop_small_relative
from cellhub_worker.learned import LearnedSegmenter
from cellhub_worker.postprocess import instances_from_probabilities


def _discs(centres: list[tuple[int, int]], radii: list[int], size: int = 256) -> NDArray[np.int32]:
    labels = np.zeros((size, size), np.int32)
    for i, (centre, radius) in enumerate(zip(centres, radii, strict=True)):
        cv2.circle(labels, centre, radius, i + 1, thickness=-1)
    return labels


def test_relative_floor_drops_a_micronucleus_beside_nuclei() -> None:
    labels = _discs([(40, 40), (120, 40), (200, 40), (40, 200), (130, 130)], [20] * 4 + [5])
    kept = drop_small_relative(labels, 0.2)
    assert kept.max() == 4
    assert not kept[130, 130]
    assert drop_small_relative(labels, 0.0).max() == 5


def test_relative_floor_spares_objects_cut_by_the_edge_unless_asked() -> None:
    labels = _discs([(60, 60), (180, 60), (60, 180), (180, 180), (2, 128)], [20] * 4 + [6])
    assert drop_small_relative(labels, 0.2).max() == 5
    assert drop_small_relative(labels, 0.2, spare_border=False).max() == 4


def test_relative_floor_through_instances_from_probabilities() -> None:
    mask = _discs([(40, 40), (120, 40), (200, 40), (130, 130)], [20, 20, 20, 5]) > 0
    probability = np.where(mask, 0.9, 0.05).astype(np.float32)
    assert instances_from_probabilities(probability).labels.max() == 4
    result = instances_from_probabilities(probability, min_relative_area=0.2)
    assert result.labels.max() == 3
    assert sorted(result.scores) == [1, 2, 3]


def _spheroid_among_specks() -> NDArray[np.int32]:
    """One large body with a lumen (a hole), one smaller body, and six specks of debris."""
    labels = _discs(
        [(90, 90), (200, 190), (30, 220), (60, 200), (220, 40), (180, 90), (130, 230), (240, 240)],
        [60, 22, 4, 5, 4, 6, 5, 4],
    )
    cv2.circle(labels, (80, 95), 15, 0, thickness=-1)
    return labels


def test_a_floor_relative_to_the_largest_drops_specks_that_outnumber_the_bodies() -> None:
    labels = _spheroid_among_specks()
    # The specks are the median instance, so a median floor keeps them all.
    assert drop_small_relative(labels, 0.05).max() == 8
    kept = drop_small_relative(labels, 0.05, reference="largest")
    assert kept.max() == 2
    assert kept[90, 90 + 45] == 1 and kept[200, 190] == 2
    assert not kept[95, 80]  # the lumen stays a hole


def test_the_largest_reference_through_instances_from_probabilities() -> None:
    probability = np.where(_spheroid_among_specks() > 0, 0.9, 0.05).astype(np.float32)
    result = instances_from_probabilities(
        probability, min_relative_area=0.05, relative_to="largest", spare_border=False
    )
    assert result.labels.max() == 2
    assert sorted(result.scores) == [1, 2]
    with pytest.raises(InvalidParameter):
        instances_from_probabilities(probability, relative_to="mean")  # type: ignore[arg-type]


def _pair_with_boundary() -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Two touching discs; boundary 0.9 on the line between them, 0.2 elsewhere inside."""
    mask = _discs([(110, 128), (146, 128)], [20, 20]) > 0
    foreground = np.where(mask, 0.95, 0.02).astype(np.float32)
    boundary = np.where(mask, 0.2, 0.0).astype(np.float32)
    boundary[:, 126:131] = np.where(mask[:, 126:131], 0.9, 0.0)
    return foreground, boundary


def test_seed_threshold_is_separate_from_the_foreground_cut() -> None:
    foreground, boundary = _pair_with_boundary()
    # Seeds are where foreground - boundary (0.75 inside) exceeds the seed cut.
    assert instances_from_probabilities(foreground, boundary, threshold=0.5).labels.max() == 2
    unseeded = instances_from_probabilities(foreground, boundary, threshold=0.5, seed_threshold=0.8)
    assert unseeded.labels.max() == 1
    # The foreground cut itself is unchanged by the seed cut.
    assert (unseeded.labels > 0).sum() == (foreground > 0.5).sum()


@pytest.mark.parametrize(
    "arguments", [{"seed_threshold": 1.0}, {"min_relative_area": -0.1}, {"min_relative_area": 1}]
)
def test_rule_values_out_of_range_are_rejected(arguments: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter):
        instances_from_probabilities(np.zeros((8, 8), np.float32), **arguments)


class _Echo:
    """A stand-in predictor: either returns its input (an equivariant net) or a fixed ramp."""

    def __init__(self, equivariant: bool) -> None:
        self.equivariant = equivariant

    def predict(self, image: NDArray[np.float32]) -> NDArray[np.float32]:
        if self.equivariant:
            return np.moveaxis(image, 2, 0).copy()
        ramp = np.linspace(0.0, 1.0, image.shape[1], dtype=np.float32)
        return np.broadcast_to(ramp, image.shape[:2])[np.newaxis].copy()


@pytest.mark.parametrize("symmetries", ["none", "flips", "d4"])
def test_symmetric_prediction_maps_each_view_back(symmetries: str) -> None:
    image = np.random.default_rng(0).random((24, 24, 1), dtype=np.float32)
    averaged = predict_symmetric(_Echo(True), image, symmetries)  # type: ignore[arg-type]
    np.testing.assert_allclose(averaged[0], image[:, :, 0], atol=1e-6)


def test_symmetric_prediction_averages_orientation_errors() -> None:
    image = np.zeros((16, 20, 1), np.float32)
    plain = predict_symmetric(_Echo(False), image, "none")  # type: ignore[arg-type]
    flipped = predict_symmetric(_Echo(False), image, "flips")  # type: ignore[arg-type]
    assert plain.shape == flipped.shape == (1, 16, 20)
    assert np.ptp(plain) == pytest.approx(1.0)
    np.testing.assert_allclose(flipped, 0.5, atol=1e-6)
    with pytest.raises(InvalidParameter):
        predict_symmetric(_Echo(False), image, "spin")  # type: ignore[arg-type]


def _checkpoint(path: Path, **fields: Any) -> Path:
    meta = CheckpointMeta(
        name="rules",
        version="1",
        architecture="unet",
        config={"widths": [4, 8]},
        in_channels=1,
        outputs=("foreground", "boundary"),
        **fields,
    )
    torch.manual_seed(0)
    save_checkpoint(path, meta.build(), meta)
    return path


def test_checkpoint_rules_default_to_the_old_behaviour(tmp_path: Path) -> None:
    meta = read_checkpoint_meta(_checkpoint(tmp_path / "plain.pt"))
    assert meta.postprocess == Postprocessing()
    assert meta.postprocess.threshold is None and meta.postprocess.min_relative_area == 0.0
    assert meta.postprocess.relative_to == "median"
    assert meta.test_time_augmentation == "none"


def test_segmenter_applies_the_checkpoint_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = Postprocessing(
        threshold=0.6, seed_threshold=0.8, min_relative_area=0.2, relative_to="largest"
    )
    path = _checkpoint(tmp_path / "rules.pt", postprocess=rules, test_time_augmentation="flips")
    calls: list[dict[str, Any]] = []
    original = learned.instances_from_probabilities

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(learned, "instances_from_probabilities", recording)
    segmenter = LearnedSegmenter(path, device="cpu", optimize=False)
    assert segmenter.meta.test_time_augmentation == "flips"
    segmenter.segment(np.zeros((32, 32), np.uint8))
    segmenter.segment(np.zeros((32, 32), np.uint8), threshold=0.3)
    assert calls[0]["threshold"] == 0.6 and calls[1]["threshold"] == 0.3
    assert calls[0]["seed_threshold"] == 0.8
    assert calls[0]["min_relative_area"] == 0.2
    assert calls[0]["relative_to"] == "largest"
