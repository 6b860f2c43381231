"""Running a segmenter over an annotated folder and scoring it, per image and pooled.

Timing covers :meth:`Segmenter.segment` only (normalisation, prediction and every
post-processing step up to instance labels), not reading the file from disk. The first
image is segmented once untimed beforehand, so one-off warm-up costs (oneDNN kernel
selection, lazy imports) do not land on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cellhub.segmenter import Segmenter
from cellhub_worker.evaluation.dataset import read_labelled_folder
from cellhub_worker.evaluation.metrics import Counts, count_matches

SCORE_COLUMNS = ("ap50", "map", "f1", "precision", "recall", "fg_iou", "dice")


@dataclass(frozen=True, slots=True)
class ImageResult:
    name: str
    shape: tuple[int, int]
    true_objects: int
    predicted_objects: int
    milliseconds: float
    counts: Counts


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Scores of one model on one folder: per image and pooled over all of them."""

    model: str
    data: str
    images: tuple[ImageResult, ...]

    @property
    def pooled(self) -> Counts:
        total = Counts()
        for image in self.images:
            total = total + image.counts
        return total

    @property
    def ms_per_image(self) -> float:
        return sum(i.milliseconds for i in self.images) / max(len(self.images), 1)

    def summary(self) -> dict[str, float]:
        """Pooled scores plus ``ms_per_image`` and ``images``: what a model card records."""
        return {
            **self.pooled.scores(),
            "ms_per_image": round(self.ms_per_image, 1),
            "images": float(len(self.images)),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "data": self.data,
            "pooled": self.summary(),
            "images": [
                {
                    "name": i.name,
                    "shape": list(i.shape),
                    "true_objects": i.true_objects,
                    "predicted_objects": i.predicted_objects,
                    "ms": round(i.milliseconds, 1),
                    **i.counts.scores(),
                }
                for i in self.images
            ],
        }

    def table(self, *, per_image: bool = True) -> str:
        """A plain-text table: one row per image (optional) and a pooled row."""
        header = f"{'image':<40} {'true':>5} {'pred':>5} " + " ".join(
            f"{c:>9}" for c in SCORE_COLUMNS
        )
        rows = [f"model {self.model} on {self.data}", header + f" {'ms':>8}"]
        if per_image:
            for i in self.images:
                rows.append(
                    _row(i.name, i.true_objects, i.predicted_objects, i.counts, i.milliseconds)
                )
        rows.append(
            _row(
                "POOLED",
                sum(i.true_objects for i in self.images),
                sum(i.predicted_objects for i in self.images),
                self.pooled,
                self.ms_per_image,
            )
        )
        return "\n".join(rows)


def evaluate_folder(
    segmenter: Segmenter, folder: str | Path, *, threshold: float | None = None
) -> Evaluation:
    """Segment every annotated image under ``folder`` and score it."""
    results = []
    for index, item in enumerate(read_labelled_folder(folder)):
        if index == 0:
            segmenter.segment(item.pixels, threshold=threshold)
        start = time.perf_counter()
        instances = segmenter.segment(item.pixels, threshold=threshold)
        elapsed = (time.perf_counter() - start) * 1000.0
        predicted = instances.labels
        results.append(
            ImageResult(
                name=item.name,
                shape=(int(item.labels.shape[0]), int(item.labels.shape[1])),
                true_objects=_count_ids(item.labels),
                predicted_objects=_count_ids(predicted),
                milliseconds=elapsed,
                counts=count_matches(item.labels, predicted),
            )
        )
    return Evaluation(model=segmenter.name, data=str(folder), images=tuple(results))


def _count_ids(labels: Any) -> int:
    ids = np.unique(labels)
    return int(np.count_nonzero(ids))


def _row(name: str, true: int, pred: int, counts: Counts, ms: float) -> str:
    scores = counts.scores()
    cells = " ".join(f"{scores[c]:>9.3f}" for c in SCORE_COLUMNS)
    return f"{name[:40]:<40} {true:>5} {pred:>5} {cells} {ms:>8.1f}"
