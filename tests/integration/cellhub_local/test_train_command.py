"""``cellhub train``: the zoom range reaches the provenance; ``--score-on`` stores scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from cellhub_local.cli import main
from cellhub_worker.checkpoint import read_checkpoint_meta, sha256_of
from cellhub_worker.synthetic import synthetic_nuclei

TINY = ["--synthetic", "nuclei", "--synthetic-images", "2", "--name", "tiny", "--widths", "8,16",
        "--steps", "2", "--batch-size", "2", "--crop", "32", "--threads", "1"]  # fmt: skip


def test_the_zoom_range_is_used_and_recorded(tmp_path: Path) -> None:
    out = tmp_path / "zoomed.pt"
    assert main(["train", *TINY, "--output", str(out), "--scale", "0.4,2.0"]) == 0
    hyperparameters = read_checkpoint_meta(out).provenance.hyperparameters
    assert hyperparameters["augmentation"]["scale"] == [0.4, 2.0]

    plain = tmp_path / "plain.pt"
    assert main(["train", *TINY, "--output", str(plain)]) == 0
    assert read_checkpoint_meta(plain).provenance.hyperparameters["augmentation"]["scale"] == [
        0.6, 1.6,
    ]  # fmt: skip


@pytest.mark.parametrize("scale", ["2", "0,1", "1.5,0.5", "a,b"])
def test_a_bad_zoom_range_stops_before_training(scale: str, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--scale"):
        main(["train", *TINY, "--output", str(tmp_path / "x.pt"), "--scale", scale])
    assert not (tmp_path / "x.pt").exists()


def test_scoring_on_a_folder_stores_the_scores_and_writes_the_card(tmp_path: Path) -> None:
    folder = tmp_path / "held-out"
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    for seed in (7, 8):
        image, labels = synthetic_nuclei((64, 64), count=5, seed=seed)
        tifffile.imwrite(folder / "images" / f"n{seed}.tif", image)
        tifffile.imwrite(folder / "labels" / f"n{seed}.tif", labels.astype(np.uint16))
    out = tmp_path / "scored.pt"
    assert main(["train", *TINY, "--output", str(out), "--half", "--score-on", str(folder)]) == 0
    meta = read_checkpoint_meta(out)
    assert meta.scores["images"] == 2.0 and 0.0 <= meta.scores["ap50"] <= 1.0
    assert meta.provenance.model_dump()["scored_on"] == str(folder)
    assert meta.speed_notes.endswith(f"over {folder} (mean image size)")
    assert torch.load(out, weights_only=True)["storage"] == "float16"
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["scores"] == meta.scores and card["sha256"] == sha256_of(out)
