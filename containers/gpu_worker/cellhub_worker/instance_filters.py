"""Bookkeeping on labelled instances: area filters, consecutive renumbering, mean scores.

Every function takes or returns int32 ``(Y, X)`` label images with 0 = background and
positive ids for instances (consecutive 1..N where stated).
"""

from __future__ import annotations

from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray


def components_at_least(mask: NDArray[np.bool_], min_area: int) -> NDArray[np.int32]:
    """8-connected components of bool ``(Y, X)`` ``mask`` as int32 ids, those < ``min_area`` px
    removed (ids not consecutive)."""
    _, components, stats, _ = cv2.connectedComponentsWithStats(
        mask.view(np.uint8), connectivity=8, ltype=cv2.CV_32S
    )
    labels = np.asarray(components, dtype=np.int32)
    small = stats[:, cv2.CC_STAT_AREA] < min_area
    small[0] = False
    if small.any():
        labels[small[labels]] = 0
    return labels


def relabel_consecutive(labels: NDArray[np.integer[Any]], min_area: int) -> NDArray[np.int32]:
    """Drop ids with fewer than ``min_area`` pixels and renumber the rest 1..N (int32).

    Ids are renumbered in their current numeric order, so the result is deterministic.
    """
    area = np.bincount(labels.ravel())
    keep = area >= max(min_area, 1)
    keep[0] = False
    lut = np.zeros(area.size, dtype=np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels]


# The instance area a relative floor is a fraction of.
AreaReference = Literal["median", "largest"]


def drop_small_relative(
    labels: NDArray[np.int32],
    fraction: float,
    *,
    spare_border: bool = True,
    reference: AreaReference = "median",
) -> NDArray[np.int32]:
    """Drop instances smaller than ``fraction`` of the image's median (or largest) instance area.

    ``labels``: consecutive ids 1..N. Micronuclei, debris and specks of a nuclear stain are
    typically under a fifth of a nucleus's area, whatever the magnification, which an
    absolute pixel floor cannot express. ``reference="largest"`` measures against the
    biggest instance instead, for fields of a few large bodies (spheroids, organoids) among
    many small specks: there the specks can outnumber the bodies and become the median.
    With ``spare_border`` instances touching the image edge are kept whatever their size:
    they may be whole objects cut by the frame.
    Returns consecutive ids 1..M in the original order.
    """
    count = int(labels.max(initial=0))
    if fraction <= 0.0 or count == 0:
        return labels
    area = np.bincount(labels.ravel(), minlength=count + 1)
    scale = float(area[1:].max() if reference == "largest" else np.median(area[1:]))
    keep = area >= fraction * scale
    if spare_border:
        edges = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
        keep[np.unique(edges)] = True
    keep[0] = False
    lut = np.zeros(count + 1, dtype=np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels]


def mean_per_label(
    values: NDArray[np.floating[Any]], labels: NDArray[np.int32]
) -> dict[int, float]:
    """Mean of float ``(Y, X)`` ``values`` over each id 1..N of consecutive ``labels``.

    Clipped to ``[0, 1]`` because the means are reported as confidences.
    """
    count = int(labels.max(initial=0))
    if count == 0:
        return {}
    flat = labels.ravel()
    sums = np.bincount(flat, weights=values.ravel(), minlength=count + 1)
    area = np.bincount(flat, minlength=count + 1)
    means = np.clip(sums[1:] / np.maximum(area[1:], 1), 0.0, 1.0)
    return {i + 1: float(m) for i, m in enumerate(means)}
