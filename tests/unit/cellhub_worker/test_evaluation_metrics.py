"""Segmentation scores on hand-made label images whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cellhub_worker.evaluation.metrics import (
    IOU_THRESHOLDS,
    Counts,
    count_matches,
    instance_iou,
    matched_pairs,
)


def _canvas() -> np.ndarray:
    return np.zeros((40, 40), dtype=np.int32)


def test_identical_labels_score_perfectly_whatever_the_ids() -> None:
    truth = _canvas()
    truth[2:12, 2:12] = 1
    truth[20:30, 5:15] = 2
    predicted = np.where(truth == 1, 7, np.where(truth == 2, 3, 0)).astype(np.int32)
    scores = count_matches(truth, predicted).scores()
    assert all(value == 1.0 for value in scores.values())


def test_a_prediction_shifted_by_half_its_width_is_a_false_positive_and_a_miss() -> None:
    truth, predicted = _canvas(), _canvas()
    truth[10:20, 10:20] = 1
    predicted[10:20, 15:25] = 1  # overlap 50 px, union 150 px: IoU 1/3
    scores = count_matches(truth, predicted).scores()
    assert scores["fg_iou"] == pytest.approx(1 / 3)
    assert scores["dice"] == pytest.approx(0.5)
    assert scores["ap50"] == 0.0
    assert scores["precision"] == 0.0
    assert scores["recall"] == 0.0


def test_two_nuclei_merged_into_one_prediction() -> None:
    truth, predicted = _canvas(), _canvas()
    truth[10:20, 10:20] = 1  # 100 px
    truth[10:20, 20:28] = 2  # 80 px, touching the first
    predicted[10:20, 10:28] = (
        5  # 180 px: IoU 100/180 = 0.556 with the first, 80/180 with the second
    )
    counts = count_matches(truth, predicted)
    scores = counts.scores()
    assert counts.matches[0] == (1, 0, 1)
    assert scores["ap50"] == pytest.approx(0.5)  # TP / (TP + FP + FN) = 1 / 2
    assert scores["precision"] == 1.0
    assert scores["recall"] == 0.5
    assert scores["f1"] == pytest.approx(2 / 3)
    # Matched at 0.50 and 0.55 only; every stricter threshold scores 0 (1 FP, 2 FN).
    assert counts.matches[IOU_THRESHOLDS.index(0.6)] == (0, 1, 2)
    assert scores["map"] == pytest.approx((0.5 + 0.5) / 10)
    assert scores["fg_iou"] == 1.0


def test_empty_images_are_perfect_and_a_missed_object_is_not() -> None:
    empty = _canvas()
    assert count_matches(empty, empty).scores()["ap50"] == 1.0
    truth = _canvas()
    truth[5:10, 5:10] = 1
    scores = count_matches(truth, empty).scores()
    assert scores["ap50"] == 0.0
    assert scores["f1"] == 0.0
    assert scores["fg_iou"] == 0.0


def test_instance_iou_rows_and_columns_follow_sorted_ids() -> None:
    truth, predicted = _canvas(), _canvas()
    truth[0:10, 0:10] = 4
    truth[20:30, 20:30] = 9
    predicted[20:30, 20:25] = 2  # half of truth 9
    iou = instance_iou(truth, predicted)
    assert iou.shape == (2, 1)
    assert iou[:, 0] == pytest.approx([0.0, 0.5])


def test_matching_is_one_to_one_and_maximal_not_greedy() -> None:
    # Greedy best-first would take (0, 0) and leave row 1 unmatched; the optimum matches both.
    iou = np.array([[0.6, 0.4], [0.45, 0.0]])
    assert matched_pairs(iou, 0.3) == 2
    assert matched_pairs(iou, 0.5) == 1
    assert matched_pairs(np.zeros((0, 3)), 0.5) == 0


def test_pooled_counts_sum_before_dividing() -> None:
    truth_a, pred_a = _canvas(), _canvas()
    truth_a[0:10, 0:10] = 1
    pred_a[0:10, 0:10] = 1
    truth_b = _canvas()
    truth_b[0:10, 0:10] = 1
    truth_b[20:30, 20:30] = 2
    truth_b[0:10, 20:30] = 3
    pooled = count_matches(truth_a, pred_a) + count_matches(truth_b, _canvas())
    # 1 TP, 0 FP, 3 FN over both images: pooled AP 1/4, not the mean of 1.0 and 0.0.
    assert pooled.scores()["ap50"] == pytest.approx(0.25)
    assert (Counts() + pooled) == pooled


def test_shapes_must_agree() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        count_matches(np.zeros((4, 4), np.int32), np.zeros((4, 5), np.int32))


@pytest.mark.parametrize(
    ("dtype", "high"),
    [(np.uint16, 40), (np.int32, 40), (np.uint64, 40), (np.int64, 10**12), (np.int32, -1)],
    ids=["uint16", "int32", "uint64", "sparse-ids", "negative-ids"],
)
def test_instance_iou_matches_a_sorting_reference_for_any_ids(dtype: type, high: int) -> None:
    rng = np.random.default_rng(3)
    shape = (32, 48)
    truth = rng.integers(0, 12, shape).astype(dtype)
    if high > 0:
        predicted = rng.choice([0, 3, 7, high], size=shape).astype(dtype)
    else:
        predicted = rng.integers(-5, 5, shape).astype(dtype)
    true_ids, true_index = np.unique(truth, return_inverse=True)
    pred_ids, pred_index = np.unique(predicted, return_inverse=True)
    expected = np.zeros((true_ids.size, pred_ids.size))
    for t in range(true_ids.size):
        for p in range(pred_ids.size):
            a, b = true_index.reshape(shape) == t, pred_index.reshape(shape) == p
            expected[t, p] = (a & b).sum() / (a | b).sum()
    keep = np.ix_(true_ids != 0, pred_ids != 0)
    np.testing.assert_allclose(instance_iou(truth, predicted), expected[keep])
