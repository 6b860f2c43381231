"""The training loop on tiny synthetic data: targets, learning, determinism, checkpoints."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from cellhub_worker.checkpoint import Normalization, load_checkpoint, save_checkpoint
from cellhub_worker.training.augment import Augmentation, random_crop
from cellhub_worker.training.data import synthetic_training_set
from cellhub_worker.training.loop import TrainConfig, learning_rate_factor, train
from cellhub_worker.training.publish import checkpoint_meta
from cellhub_worker.training.targets import OUTPUTS, targets_from_labels

TINY = TrainConfig(
    architecture="unet",
    widths=(4, 8),
    crop=32,
    batch_size=2,
    steps=4,
    warmup_steps=1,
    learning_rate=1e-2,
    seed=3,
)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_touching_objects_get_a_boundary_band_between_them() -> None:
    labels = np.zeros((12, 20), np.int32)
    labels[2:10, 2:10] = 1
    labels[2:10, 10:18] = 2
    foreground, boundary = targets_from_labels(labels)
    assert OUTPUTS == ("foreground", "boundary")
    assert foreground.sum() == (labels > 0).sum()
    # Two pixels on each side of the contact line, and the outer two-pixel rim.
    assert boundary[5, 8:12].tolist() == [1, 1, 1, 1]
    assert boundary[5, 2:10].tolist() == [1, 1, 0, 0, 0, 0, 1, 1]
    assert not boundary[labels == 0].any()


def test_crops_keep_pixels_and_labels_aligned() -> None:
    rng = np.random.default_rng(0)
    labels = np.zeros((64, 64), np.int32)
    labels[10:30, 10:30] = 1
    image = (labels > 0).astype(np.float32)[:, :, np.newaxis]
    calm = Augmentation(gamma=(1, 1), contrast=(1, 1), offset=(0, 0), blur_probability=0.0,
                        noise_sigma=(0, 0))  # fmt: skip
    for _ in range(5):
        crop, crop_labels = random_crop(image, labels, 32, rng, calm)
        assert crop.shape == (32, 32, 1) and crop_labels.shape == (32, 32)
        # Linear and nearest resampling may disagree on a pixel exactly at half coverage.
        assert np.count_nonzero((crop[:, :, 0] > 0.5) != (crop_labels > 0)) <= 4


def test_schedule_warms_up_then_decays_to_zero() -> None:
    assert learning_rate_factor(0, 10, 100) == pytest.approx(0.1)
    assert learning_rate_factor(10, 10, 100) == pytest.approx(1.0)
    assert learning_rate_factor(100, 10, 100) == pytest.approx(0.0)


def test_loss_decreases_on_synthetic_nuclei() -> None:
    data = synthetic_training_set("nuclei", 2, seed=1, shape=(64, 64))
    result = train(data, replace(TINY, steps=20, widths=(8, 16)))
    assert result.steps == 20
    assert np.mean(result.losses[-5:]) < 0.9 * np.mean(result.losses[:5])


def test_the_same_seed_gives_the_same_weights() -> None:
    data = synthetic_training_set("nuclei", 1, seed=2, shape=(48, 48))
    first = train(data, TINY).net.state_dict()
    second = train(data, TINY).net.state_dict()
    other = train(data, replace(TINY, seed=4)).net.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_checkpoint_round_trips_with_provenance(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = synthetic_training_set("spheroids", 1, seed=5, shape=(64, 64))
    result = train(data, TINY)
    meta = checkpoint_meta(
        name="tiny-spheroids", version="1", config=TINY, data=data, result=result,
        normalization=Normalization(), classes=("spheroid",), description="test",
    )  # fmt: skip
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, result.net, meta)
    net, loaded = load_checkpoint(path)
    provenance = loaded.provenance.model_dump()
    assert loaded.outputs == OUTPUTS
    assert provenance["data"].startswith("synthetic:spheroids")
    assert provenance["split"] == "synthetic"
    assert provenance["hyperparameters"]["widths"] == [4, 8]
    assert provenance["seed"] == 3 and provenance["steps"] == 4
    assert len(provenance["file_list_sha256"]) == 64
    assert provenance["commit"] != ""
    state = result.net.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())


def test_training_can_start_from_given_weights() -> None:
    data = synthetic_training_set("nuclei", 1, seed=2, shape=(48, 48))
    start = train(data, TINY).net
    before = {k: v.clone() for k, v in start.state_dict().items()}
    tuned = train(data, replace(TINY, seed=9), initial=start).net
    assert tuned is start
    assert not all(torch.equal(before[k], v) for k, v in tuned.state_dict().items())
