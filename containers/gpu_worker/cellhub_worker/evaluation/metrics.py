"""Segmentation scores of predicted instance labels against ground-truth instance labels.

Both label images are integer ``(Y, X)``: 0 = background, every other value one instance
(ids need not be consecutive). Definitions, per image:

* foreground IoU = |P ∩ G| / |P ∪ G| and Dice = 2|P ∩ G| / (|P| + |G|) over the
  foreground pixel sets (1.0 when both are empty);
* an instance match at IoU threshold ``t``: a one-to-one assignment of predicted to true
  instances maximising the summed IoU among pairs with IoU ≥ ``t`` (Hungarian algorithm;
  for ``t`` > 0.5 each pair is unique anyway). TP = matched pairs, FP = unmatched
  predictions, FN = unmatched true instances;
* AP@t = TP / (TP + FP + FN), the 2018 Data Science Bowl definition (1.0 when both images
  are empty); mAP = mean of AP@t over t = 0.50, 0.55, ..., 0.95;
* precision = TP / (TP + FP), recall = TP / (TP + FN), F1 their harmonic mean, at t = 0.5.

Pooled scores sum the pixel counts and TP/FP/FN over images before dividing, so big images
with many nuclei weigh more, as in the mnfinder and stardist reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

IOU_THRESHOLDS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


@dataclass(frozen=True, slots=True)
class Counts:
    """Pixel and instance counts of one image (or several, summed), enough for every score."""

    intersection: int = 0
    union: int = 0
    predicted_pixels: int = 0
    true_pixels: int = 0
    # Per threshold of :data:`IOU_THRESHOLDS`: (TP, FP, FN).
    matches: tuple[tuple[int, int, int], ...] = field(
        default_factory=lambda: tuple((0, 0, 0) for _ in IOU_THRESHOLDS)
    )

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.intersection + other.intersection,
            self.union + other.union,
            self.predicted_pixels + other.predicted_pixels,
            self.true_pixels + other.true_pixels,
            tuple(
                (a[0] + b[0], a[1] + b[1], a[2] + b[2])
                for a, b in zip(self.matches, other.matches, strict=True)
            ),
        )

    def scores(self) -> dict[str, float]:
        """``fg_iou``, ``dice``, ``ap50``, ``ap75``, ``map``, ``precision``, ``recall``, ``f1``."""
        fg_iou = _ratio(self.intersection, self.union)
        dice = _ratio(2 * self.intersection, self.predicted_pixels + self.true_pixels)
        aps = [_ratio(tp, tp + fp + fn) for tp, fp, fn in self.matches]
        tp, fp, fn = self.matches[0]
        precision = _ratio(tp, tp + fp)
        recall = _ratio(tp, tp + fn)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        return {
            "fg_iou": fg_iou,
            "dice": dice,
            "ap50": aps[0],
            "ap75": aps[IOU_THRESHOLDS.index(0.75)],
            "map": float(np.mean(aps)),
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }


def count_matches(truth: NDArray[np.integer[Any]], predicted: NDArray[np.integer[Any]]) -> Counts:
    """Compare one predicted label image with its ground truth (same ``(Y, X)`` shape)."""
    if truth.shape != predicted.shape:
        raise ValueError(f"label shapes differ: truth {truth.shape}, predicted {predicted.shape}")
    true_fg, pred_fg = truth > 0, predicted > 0
    iou = instance_iou(truth, predicted)
    n_true, n_pred = iou.shape
    matches = []
    for threshold in IOU_THRESHOLDS:
        tp = matched_pairs(iou, threshold)
        matches.append((tp, n_pred - tp, n_true - tp))
    return Counts(
        intersection=int(np.count_nonzero(true_fg & pred_fg)),
        union=int(np.count_nonzero(true_fg | pred_fg)),
        predicted_pixels=int(np.count_nonzero(pred_fg)),
        true_pixels=int(np.count_nonzero(true_fg)),
        matches=tuple(matches),
    )


def instance_iou(
    truth: NDArray[np.integer[Any]], predicted: NDArray[np.integer[Any]]
) -> NDArray[np.float64]:
    """IoU of every (true, predicted) instance pair: float64 ``(n_true, n_pred)``.

    Rows follow the sorted nonzero ids of ``truth``, columns those of ``predicted``.
    """
    true_ids, true_index = _dense_ids(truth)
    pred_ids, pred_index = _dense_ids(predicted)
    # Dense index 0 is background exactly when id 0 is present; drop it after counting.
    pairs = true_index.ravel().astype(np.int64) * pred_ids.size + pred_index.ravel()
    overlap = np.bincount(pairs, minlength=true_ids.size * pred_ids.size).reshape(
        true_ids.size, pred_ids.size
    )
    true_area = overlap.sum(axis=1, keepdims=True)
    pred_area = overlap.sum(axis=0, keepdims=True)
    union = true_area + pred_area - overlap
    iou = overlap / np.maximum(union, 1)
    keep_true = true_ids != 0
    keep_pred = pred_ids != 0
    return np.asarray(iou[np.ix_(keep_true, keep_pred)], dtype=np.float64)


def _dense_ids(
    labels: NDArray[np.integer[Any]],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The sorted ids present in ``labels`` and each pixel's index among them.

    What ``np.unique(labels, return_inverse=True)`` gives, by counting instead of sorting
    for the usual non-negative ids (label images of a few thousand objects).
    """
    flat = labels.ravel().astype(np.int64, copy=False)
    if flat.size == 0 or flat.min() < 0 or flat.max() > 4 * flat.size:
        ids, index = np.unique(flat, return_inverse=True)
        return ids.astype(np.int64), index.astype(np.int64)
    present = np.flatnonzero(np.bincount(flat))
    lookup = np.zeros(int(present[-1]) + 1, dtype=np.int64)
    lookup[present] = np.arange(present.size, dtype=np.int64)
    return present.astype(np.int64), lookup[flat]


def matched_pairs(iou: NDArray[np.float64], threshold: float) -> int:
    """Size of the best one-to-one assignment among pairs with IoU ≥ ``threshold``."""
    if iou.size == 0:
        return 0
    eligible = iou >= threshold
    rows = np.flatnonzero(eligible.any(axis=1))
    cols = np.flatnonzero(eligible.any(axis=0))
    if rows.size == 0:
        return 0
    sub = np.where(eligible[np.ix_(rows, cols)], iou[np.ix_(rows, cols)], 0.0)
    r, c = linear_sum_assignment(sub, maximize=True)
    return int(np.count_nonzero(sub[r, c] >= threshold))


def _ratio(numerator: float, denominator: float) -> float:
    # 0/0 means nothing was there and nothing was claimed: a perfect score.
    return 1.0 if denominator == 0 else float(numerator) / float(denominator)
