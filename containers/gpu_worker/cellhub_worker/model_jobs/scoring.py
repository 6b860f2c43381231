"""Scoring a segmenter on a project's held-out images, the yardstick of every fine-tuning.

Scores are pooled over the images (:mod:`cellhub_worker.evaluation.metrics`): AP@0.5 is the
one a fine-tuned model must raise; foreground IoU, F1, AP@0.75 and mAP are reported beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from cellhub.segmenter import Segmenter
from cellhub_worker.evaluation.metrics import Counts, count_matches
from cellhub_worker.model_jobs.project_data import ProjectSample

PRIMARY_SCORE = "ap50"
REPORTED_SCORES = ("ap50", "ap75", "map", "f1", "precision", "recall", "fg_iou")


def held_out_scores(
    segmenter: Segmenter,
    samples: Sequence[ProjectSample],
    *,
    heartbeat: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Segment each sample with the default threshold; pooled scores plus ``ms_per_image``."""
    total = Counts()
    seconds = 0.0
    for sample in samples:
        start = time.perf_counter()
        instances = segmenter.segment(sample.pixels)
        seconds += time.perf_counter() - start
        total = total + count_matches(sample.labels, instances.labels)
        if heartbeat is not None:
            heartbeat()
    pooled = total.scores()
    scores = {name: round(pooled[name], 4) for name in REPORTED_SCORES}
    scores["ms_per_image"] = round(1000.0 * seconds / max(1, len(samples)), 1)
    return scores
