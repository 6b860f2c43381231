"""Accuracy and CPU speed of the bundled nuclei models on the mnfinder 1.2.3 test split.

Bar (product spec): the default nuclei model segments a 1024² image on CPU, every
post-processing step included, in at most 1 s. Per model the table shows the pooled scores
of ``cellhub evaluate`` (AP@0.5 = TP/(TP+FP+FN), foreground IoU, mAP over IoU 0.5:0.95, F1),
the mean ms per test image, and ms per 1024² image: the median of several timed runs of
``segment`` on the split's 1024² image, or the first test image resized to 1024² when the
split has none. With ``--dsb-sample`` fetched, two more columns score each model on the
2018 Data Science Bowl image the stardist wheel carries: another lab's nuclei that no setting
was chosen on, an outside check of how far the models carry beyond mnfinder. The data comes
from ``scripts/fetch_training_data.py [--dsb-sample]``; without it the bench says so and
passes. Run from the repository root: ``./dev bench nuclei_model``; the exit status is 1 when
the bar is missed.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "layers"), str(_ROOT / "containers" / "gpu_worker"), str(_ROOT)]

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from bench.table import print_table  # noqa: E402
from cellhub.segmenter import Segmenter  # noqa: E402
from cellhub_worker.evaluation.dataset import read_labelled_folder  # noqa: E402
from cellhub_worker.evaluation.runner import evaluate_folder  # noqa: E402
from cellhub_worker.registry import default_model_for, list_models, load_segmenter  # noqa: E402

TEST_DATA = _ROOT / ".cellhub-data" / "mnfinder-1.2.3" / "test"
OUTSIDE_DATA = _ROOT / ".cellhub-data" / "dsb2018-sample"
BAR_MS_PER_1024 = 1000.0
SIDE = 1024
TIMED_RUNS = 5


def image_1024(folder: Path) -> NDArray[np.generic]:
    """A 1024² test image: the first one of that size, else the first one resized."""
    first = None
    for item in read_labelled_folder(folder):
        if item.pixels.shape[:2] == (SIDE, SIDE):
            return item.pixels
        first = item.pixels if first is None else first
    assert first is not None
    resized = cv2.resize(first, (SIDE, SIDE), interpolation=cv2.INTER_LINEAR)
    return resized.reshape(SIDE, SIDE, -1)


def ms_per_image(segmenter: Segmenter, pixels: NDArray[np.generic]) -> float:
    """Median wall time of ``segment`` over :data:`TIMED_RUNS` runs, after one warm-up."""
    segmenter.segment(pixels)
    times = []
    for _ in range(TIMED_RUNS):
        start = time.perf_counter()
        segmenter.segment(pixels)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def main() -> int:
    if not (TEST_DATA / "images").is_dir():
        print(f"no test data at {TEST_DATA}; run scripts/fetch_training_data.py first")
        return 0
    names = [c.name for c in list_models() if c.name.startswith("nuclei-")]
    default = default_model_for("nuclei")
    large = image_1024(TEST_DATA)
    rows: list[list[object]] = []
    missed = False
    outside = (OUTSIDE_DATA / "images").is_dir()
    for name in names:
        segmenter = load_segmenter(name, device="cpu")
        scores = evaluate_folder(segmenter, TEST_DATA).summary()
        per_1024 = ms_per_image(segmenter, large)
        is_default = name == default
        missed |= is_default and per_1024 > BAR_MS_PER_1024
        label = f"{name} (default)" if is_default else name
        row: list[object] = [
            label,
            round(scores["ap50"], 3),
            round(scores["fg_iou"], 3),
            round(scores["map"], 3),
            round(scores["f1"], 3),
            scores["ms_per_image"],
            round(per_1024, 1),
        ]
        if outside:
            check = evaluate_folder(segmenter, OUTSIDE_DATA).summary()
            row += [round(check["ap50"], 3), round(check["fg_iou"], 3)]
        rows.append(row)
    headers = ["model", "AP@0.5", "fg IoU", "mAP", "F1", "ms/image", "ms per 1024²"]
    if outside:
        headers += ["DSB AP@0.5", "DSB fg IoU"]
    print_table(f"nuclei models on {TEST_DATA.relative_to(_ROOT)} (CPU)", headers, rows)
    print(f"\nbar: default model ≤ {BAR_MS_PER_1024:.0f} ms per 1024² image on CPU")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
