"""A learned net runs end to end through ``cellhub segment`` from any checkpoint on the path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cellhub_local.cli import main
from cellhub_worker.checkpoint import CheckpointMeta, save_checkpoint
from cellhub_worker.registry import write_model_card


@pytest.fixture
def model_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("CELLHUB_MODEL_PATH", str(folder))
    return folder


@pytest.mark.parametrize("architecture", ["unet", "cbam_resunet", "hrnet"])
def test_segment_with_a_learned_checkpoint(
    architecture: str, model_path: Path, good_images: Path, tmp_path: Path
) -> None:
    meta = CheckpointMeta(
        name=f"tiny-{architecture}",
        version="0.1",
        architecture=architecture,
        config={"widths": (8, 16, 32)} if architecture != "hrnet" else {},
        in_channels=1,
        outputs=("foreground", "boundary"),
        classes=("nucleus",),
        tile_size=128,
    )
    checkpoint = model_path / f"{meta.name}.pt"
    save_checkpoint(checkpoint, meta.build(), meta, half=True)
    write_model_card(checkpoint)
    out = tmp_path / "out"
    code = main(
        ["segment", str(good_images), "-o", str(out), "--model", meta.name, "--formats", "json,csv"]
    )
    summary = json.loads((out / "summary.json").read_text())
    # An untrained net may find any number of objects; the run itself must complete cleanly.
    assert code == 0, summary
    assert summary["images_processed"] == 3
    assert summary["model"] == f"{meta.name} 0.1"
    assert (out / "csv" / "objects.csv").exists()


def test_models_verb_lists_classical_and_checkpoints(
    model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = CheckpointMeta(
        name="listed", version="2", architecture="unet", in_channels=1, outputs=("foreground",)
    )
    save_checkpoint(model_path / "listed.pt", meta.build(), meta)
    assert main(["models", "--json"]) == 0
    names = [card["name"] for card in json.loads(capsys.readouterr().out)]
    assert names[0] == "classical" and "listed" in names
