"""``cellhub train`` then ``cellhub tune``: the tuned copy has the best setting, same weights."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
import torch

from cellhub_local.cli import main
from cellhub_worker.checkpoint import read_checkpoint_meta
from cellhub_worker.synthetic import synthetic_nuclei


def _annotated_folder(root: Path, seeds: range) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for seed in seeds:
        image, labels = synthetic_nuclei((96, 96), count=10, seed=seed)
        tifffile.imwrite(root / "images" / f"n{seed}.tif", image)
        cv2.imwrite(str(root / "labels" / f"n{seed}.png"), labels.astype(np.uint16))
    return root


@pytest.fixture
def trained(tmp_path: Path) -> Path:
    """A tiny net trained on synthetic nuclei and scored on a folder of its own."""
    checkpoint = tmp_path / "tiny.pt"
    scored_on = _annotated_folder(tmp_path / "test", range(200, 202))
    code = main(
        ["train", "--synthetic", "nuclei", "--synthetic-images", "4", "--output", str(checkpoint),
         "--name", "tiny", "--widths", "8,16", "--steps", "30", "--batch-size", "4",
         "--crop", "64", "--learning-rate", "0.01", "--threads", "1", "--half",
         "--score-on", str(scored_on)]
    )  # fmt: skip
    assert code == 0
    return checkpoint


def test_tune_writes_the_best_setting_and_keeps_the_weights(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _annotated_folder(tmp_path / "validation", range(100, 103))
    tuned = tmp_path / "tuned.pt"
    capsys.readouterr()
    code = main(
        ["tune", str(trained), "--data", str(data), "--output", str(tuned), "--version", "2",
         "--thresholds", "0.3,0.5", "--seed-thresholds", "0.4", "--relative-areas", "0,0.2"]
    )  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "3 images, 4 settings"
    rows = [line.split() for line in lines[2:6]]
    assert [float(r[3]) for r in rows] == sorted((float(r[3]) for r in rows), reverse=True)
    assert lines[-1].startswith(f"wrote {tuned} sha256 ")

    before, after = read_checkpoint_meta(trained), read_checkpoint_meta(tuned)
    best = rows[0]
    assert (after.postprocess.threshold, after.postprocess.seed_threshold) == (float(best[0]), 0.4)
    assert after.postprocess.min_relative_area == float(best[2])
    assert after.version == "2" and after.name == before.name
    assert after.provenance.model_dump()["postprocess_chosen_on"] == str(data)
    # Scores measured under the old post-processing no longer describe the copy.
    assert before.scores and not after.scores and not after.speed_notes
    assert "scored_on" in before.provenance.model_dump()
    assert "scored_on" not in after.provenance.model_dump()
    old = torch.load(trained, weights_only=True)["state_dict"]
    new = torch.load(tuned, weights_only=True)
    assert new["storage"] == "float16"
    assert all(torch.equal(new["state_dict"][k], v) for k, v in old.items())


def test_tune_refuses_a_folder_without_labels(trained: Path, tmp_path: Path) -> None:
    (tmp_path / "bare" / "images").mkdir(parents=True)
    assert main(["tune", str(trained), "--data", str(tmp_path / "bare")]) == 2


def test_tune_can_score_the_tuned_copy_and_write_its_card(trained: Path, tmp_path: Path) -> None:
    data = _annotated_folder(tmp_path / "validation", range(100, 102))
    held_out = _annotated_folder(tmp_path / "held-out", range(300, 303))
    tuned = tmp_path / "tuned.pt"
    code = main(
        ["tune", str(trained), "--data", str(data), "--output", str(tuned), "--thresholds", "0.5",
         "--seed-thresholds", "0.5", "--relative-areas", "0", "--score-on", str(held_out)]
    )  # fmt: skip
    assert code == 0
    meta = read_checkpoint_meta(tuned)
    assert meta.scores["images"] == 3.0
    assert meta.provenance.model_dump()["scored_on"] == str(held_out)
    assert json.loads(tuned.with_suffix(".json").read_text())["scores"] == meta.scores
