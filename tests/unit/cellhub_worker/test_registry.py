"""The model catalogue: classical plus checkpoints found on the search path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cellhub.errors import InvalidParameter, UnknownModel
from cellhub_worker.checkpoint import CheckpointMeta, save_checkpoint
from cellhub_worker.registry import (
    MODEL_PATH_ENV,
    card_for_checkpoint,
    default_model_for,
    list_models,
    load_segmenter,
    write_model_card,
)


def _save(folder: Path, name: str, *, file: str | None = None, version: str = "1") -> Path:
    meta = CheckpointMeta(
        name=name,
        version=version,
        architecture="unet",
        config={"widths": [4, 8]},
        in_channels=1,
        outputs=("foreground",),
        classes=("nucleus",),
        scores={"ap50": 0.5},
        description=f"{name} for tests",
        speed_notes="tiny",
    )
    path = folder / (file or f"{name}.pt")
    save_checkpoint(path, meta.build(), meta)
    return path


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(MODEL_PATH_ENV, str(tmp_path))
    return tmp_path


def test_classical_is_always_listed_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_PATH_ENV, raising=False)
    card = list_models()[0]
    assert (card.name, card.kind, card.path) == ("classical", "classical", None)


def test_checkpoint_on_model_path_is_listed(model_dir: Path) -> None:
    path = _save(model_dir, "tiny-unet")
    cards = {card.name: card for card in list_models()}
    card = cards["tiny-unet"]
    assert card.kind == "learned"
    assert card.path == str(path)
    assert card.classes == ("nucleus",)
    assert card.scores == {"ap50": 0.5}
    assert card.speed == "tiny"
    assert card.sha256 is not None and len(card.sha256) == 64


def test_sidecar_card_is_read_instead_of_the_checkpoint(model_dir: Path) -> None:
    path = _save(model_dir, "tiny-unet")
    sidecar = write_model_card(path)
    fields = json.loads(sidecar.read_text())
    fields["description"] = "edited in the card"
    sidecar.write_text(json.dumps(fields))
    assert card_for_checkpoint(path).description == "edited in the card"


def test_checksum_mismatch_refuses_to_load(model_dir: Path) -> None:
    path = _save(model_dir, "tiny-unet")
    sidecar = write_model_card(path)
    fields = json.loads(sidecar.read_text())
    fields["sha256"] = "0" * 64
    sidecar.write_text(json.dumps(fields))
    with pytest.raises(InvalidParameter, match="SHA-256"):
        load_segmenter("tiny-unet", device="cpu")


def test_load_learned_by_name(model_dir: Path) -> None:
    _save(model_dir, "tiny-unet", version="3")
    segmenter = load_segmenter("tiny-unet", device="cpu")
    assert (segmenter.name, segmenter.version) == ("tiny-unet", "3")


def test_first_folder_wins_and_broken_files_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    _save(first, "shared", version="from-a")
    _save(second, "shared", version="from-b")
    (second / "broken.pt").write_bytes(b"junk")
    monkeypatch.setenv(MODEL_PATH_ENV, f"{first}{os.pathsep}{second}")
    cards = [card for card in list_models() if card.name == "shared"]
    assert [card.version for card in cards] == ["from-a"]


def test_unknown_model_lists_known_names(model_dir: Path) -> None:
    _save(model_dir, "tiny-unet")
    with pytest.raises(UnknownModel) as caught:
        load_segmenter("no-such-model")
    known = caught.value.details["known"]
    assert known[0] == "classical" and "tiny-unet" in known
    assert "tiny-unet" in caught.value.reason


def test_classical_never_imports_torch(model_dir: Path) -> None:
    # A checkpoint with a sidecar is on the path, so listing reads JSON only (bundled
    # checkpoints must ship with their sidecar cards for the same reason).
    write_model_card(_save(model_dir, "tiny-unet"))
    code = (
        "import sys\n"
        "from cellhub_worker.registry import list_models, load_segmenter\n"
        "names = [card.name for card in list_models()]\n"
        "from cellhub_worker.registry import default_model_for\n"
        "assert default_model_for('nuclei') != 'classical'\n"
        "# The API lists the catalogue without OpenCV, which its Lambda does not ship.\n"
        "assert 'cv2' not in sys.modules, 'cv2 was imported to list models'\n"
        "segmenter = load_segmenter('classical')\n"
        "assert segmenter.name == 'classical', segmenter\n"
        "assert names[0] == 'classical' and 'tiny-unet' in names, names\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def _card(
    folder: Path, name: str, classes: str, ap50: float, ms: float, scored_on: str = "lab/test"
) -> None:
    """A listed model from its sidecar card alone (listing never opens the checkpoint)."""
    (folder / f"{name}.pt").write_bytes(b"not read when a sidecar exists")
    card = {
        "name": name,
        "version": "1",
        "architecture": "unet",
        "classes": [classes],
        "scores": {"ap50": ap50, "ms_per_image": ms},
        "scored_on": scored_on,
    }
    (folder / f"{name}.json").write_text(json.dumps(card), encoding="utf-8")


def test_the_default_for_a_sample_is_the_best_real_scored_model_for_its_objects(
    model_dir: Path,
) -> None:
    _card(model_dir, "lab-nuclei", "nucleus", 0.95, 90)
    _card(model_dir, "dreamed", "nucleus", 0.99, 9, scored_on="synthetic/test")
    _card(model_dir, "slow", "nucleus", 0.99, 5000)
    _card(model_dir, "nuclei-named", "object", 0.99, 9)
    assert default_model_for("nuclei") == "lab-nuclei"
    assert default_model_for("other") == "classical"
    _card(model_dir, "lab-cells", "cell", 0.7, 50)
    assert default_model_for("cells") == "lab-cells"
