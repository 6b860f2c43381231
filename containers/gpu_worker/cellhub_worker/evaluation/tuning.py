"""Choosing a checkpoint's post-processing on annotated data, by pooled AP@0.5.

The net runs once per image (:func:`predict_folders`); every candidate setting of the
:class:`~cellhub_worker.checkpoint.Postprocessing` grid then only re-cuts those cached
probabilities (:func:`search`), and settings that differ only in the area floor share one
cut, since the floor is the last step of post-processing.
Ties are broken by mean AP over IoU 0.5:0.95, then by the earlier (gentler) grid entry.
Use training or validation folders only: a setting chosen on the split that scores the
model card would flatter it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.settings import get_settings
from cellhub_worker.checkpoint import Postprocessing
from cellhub_worker.evaluation.dataset import read_labelled_folder
from cellhub_worker.evaluation.metrics import Counts, count_matches
from cellhub_worker.inference import predict_symmetric
from cellhub_worker.instance_filters import drop_small_relative
from cellhub_worker.learned import BOUNDARY, FOREGROUND, LearnedSegmenter
from cellhub_worker.postprocess import instances_from_probabilities

# The default grid: foreground cut x seed cut x relative area floor. The floor stops at 0.3
# of the median area: it is there for micronuclei and debris, and a higher one would start
# to drop small nuclei that other data sets annotate.
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9)
SEED_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85)
RELATIVE_AREAS = (0.0, 0.1, 0.2, 0.3)


@dataclass(frozen=True, slots=True)
class Predicted:
    """One annotated image's net output: probability planes and the true labels."""

    name: str
    foreground: NDArray[np.float32]
    boundary: NDArray[np.float32] | None
    truth: NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class Trial:
    """One grid setting and its pooled scores."""

    setting: Postprocessing
    scores: dict[str, float]

    def row(self) -> str:
        s = self.setting
        seed = "-" if s.seed_threshold is None else f"{s.seed_threshold:.2f}"
        return (
            f"{s.threshold:>9.2f} {seed:>6} {s.min_relative_area:>9.2f} "
            f"{self.scores['ap50']:>7.4f} {self.scores['map']:>7.4f} {self.scores['fg_iou']:>7.4f}"
        )


HEADER = f"{'threshold':>9} {'seed':>6} {'rel_area':>9} {'ap50':>7} {'map':>7} {'fg_iou':>7}"


def predict_folders(segmenter: LearnedSegmenter, folders: Iterable[str | Path]) -> list[Predicted]:
    """Run ``segmenter``'s net (with its test-time augmentation) over every annotated image."""
    outputs = list(segmenter.meta.outputs)
    cached = []
    for folder in folders:
        for item in read_labelled_folder(folder):
            image = segmenter.prepare(item.pixels)
            planes = predict_symmetric(
                segmenter.predictor, image, segmenter.meta.test_time_augmentation
            )
            boundary = planes[outputs.index(BOUNDARY)] if BOUNDARY in outputs else None
            foreground = planes[outputs.index(FOREGROUND)]
            cached.append(Predicted(item.name, foreground, boundary, item.labels))
    return cached


def grid(
    thresholds: Sequence[float] = THRESHOLDS,
    seed_thresholds: Sequence[float] = SEED_THRESHOLDS,
    relative_areas: Sequence[float] = RELATIVE_AREAS,
    *,
    base: Postprocessing | None = None,
) -> list[Postprocessing]:
    """Every combination, keeping ``base``'s other fields (edge sparing, area reference)."""
    start = base or Postprocessing()
    return [
        start.model_copy(
            update={"threshold": cut, "seed_threshold": seed, "min_relative_area": floor}
        )
        for cut, seed, floor in itertools.product(thresholds, seed_thresholds, relative_areas)
    ]


def score(predicted: Sequence[Predicted], setting: Postprocessing) -> dict[str, float]:
    """Pooled scores of ``setting`` over the cached predictions."""
    return search(predicted, [setting])[0].scores


def search(predicted: Sequence[Predicted], settings: Sequence[Postprocessing]) -> list[Trial]:
    """Every setting's scores, best first (AP@0.5, then mAP, then grid order)."""
    if not predicted:
        raise ValueError("no annotated images to tune on")
    pooled = [Counts() for _ in settings]
    for item in predicted:
        cuts: dict[Postprocessing, NDArray[Any]] = {}
        for index, setting in enumerate(settings):
            unfloored = setting.model_copy(update={"min_relative_area": 0.0})
            if unfloored not in cuts:
                cuts[unfloored] = _cut(item, unfloored)
            labels = drop_small_relative(
                cuts[unfloored],
                setting.min_relative_area,
                spare_border=setting.spare_border,
                reference=setting.relative_to,
            )
            pooled[index] = pooled[index] + count_matches(item.truth, labels)
    trials = [
        Trial(setting, counts.scores()) for setting, counts in zip(settings, pooled, strict=True)
    ]
    order = sorted(
        range(len(trials)), key=lambda i: (-trials[i].scores["ap50"], -trials[i].scores["map"], i)
    )
    return [trials[i] for i in order]


def _cut(item: Predicted, setting: Postprocessing) -> NDArray[Any]:
    instances = instances_from_probabilities(
        item.foreground,
        item.boundary,
        threshold=(
            get_settings().default_threshold if setting.threshold is None else setting.threshold
        ),
        seed_threshold=setting.seed_threshold,
        min_relative_area=setting.min_relative_area,
        spare_border=setting.spare_border,
        relative_to=setting.relative_to,
    )
    return instances.labels
