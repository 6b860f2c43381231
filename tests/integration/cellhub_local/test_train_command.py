"""``cellhub train`` options that shape the augmentation reach the checkpoint's provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellhub_local.cli import main
from cellhub_worker.checkpoint import read_checkpoint_meta

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
