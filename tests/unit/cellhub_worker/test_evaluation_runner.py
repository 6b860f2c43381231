"""Scoring a segmenter over an annotated folder: reading, timing, table and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import tifffile

from cellhub.errors import InvalidParameter
from cellhub.segmenter import Instances
from cellhub_worker.evaluation.dataset import file_list_hash, labelled_pairs
from cellhub_worker.evaluation.runner import evaluate_folder
from cellhub_worker.synthetic import synthetic_nuclei


def _write_folder(root: Path, seeds: list[int]) -> dict[str, np.ndarray]:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    truths = {}
    for seed in seeds:
        image, labels = synthetic_nuclei((96, 128), count=8, seed=seed)
        tifffile.imwrite(root / "images" / f"n{seed}.tif", image)
        cv2.imwrite(str(root / "labels" / f"n{seed}.png"), labels.astype(np.uint16))
        truths[f"n{seed}"] = labels
    return truths


class _Oracle:
    """Returns the ground truth for each image it is shown (matched by pixel content)."""

    name = "oracle"
    version = "1"

    def __init__(self, truths: dict[bytes, np.ndarray]) -> None:
        self.truths = truths

    def segment(self, pixels: Any, *, threshold: float | None = None) -> Instances:
        return Instances(labels=self.truths[pixels.tobytes()].astype(np.int32))


def test_a_perfect_segmenter_scores_one_everywhere(tmp_path: Path) -> None:
    truths = _write_folder(tmp_path, [1, 2])
    by_pixels = {}
    for seed in (1, 2):
        image = tifffile.imread(tmp_path / "images" / f"n{seed}.tif")[:, :, np.newaxis]
        by_pixels[image.tobytes()] = truths[f"n{seed}"]
    evaluation = evaluate_folder(_Oracle(by_pixels), tmp_path)
    assert [i.name for i in evaluation.images] == ["n1", "n2"]
    assert evaluation.summary()["ap50"] == 1.0
    assert evaluation.summary()["map"] == 1.0
    assert "POOLED" in evaluation.table()
    document = json.loads(json.dumps(evaluation.to_json()))
    assert document["images"][0]["true_objects"] == int(truths["n1"].max())


def test_classical_model_scores_well_on_clean_synthetic_nuclei(tmp_path: Path) -> None:
    from cellhub_worker.models.classical import ClassicalSegmenter

    _write_folder(tmp_path, [3])
    summary = evaluate_folder(ClassicalSegmenter(), tmp_path).summary()
    assert summary["fg_iou"] > 0.7
    assert summary["ms_per_image"] > 0


def test_missing_label_is_an_error_and_the_file_hash_tracks_content(tmp_path: Path) -> None:
    _write_folder(tmp_path, [4])
    before = file_list_hash([tmp_path])
    cv2.imwrite(str(tmp_path / "labels" / "n4.png"), np.zeros((96, 128), np.uint16))
    assert file_list_hash([tmp_path]) != before
    tifffile.imwrite(tmp_path / "images" / "extra.tif", np.zeros((8, 8), np.uint8))
    with pytest.raises(InvalidParameter, match="no label image"):
        labelled_pairs(tmp_path)
