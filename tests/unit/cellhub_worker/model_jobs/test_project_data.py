"""A project's segmentations as training data: labels, the held-out split, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from cellhub.errors import InvalidParameter
from cellhub_worker.checkpoint import Normalization
from cellhub_worker.model_jobs.project_data import (
    net_input,
    read_project_data,
    split_samples,
)
from tests.unit.cellhub_worker.model_jobs.project_world import ProjectWorld


def ring_and_square() -> np.ndarray:
    labels = np.zeros((40, 40), np.int32)
    labels[5:25, 5:25] = 1
    labels[10:20, 10:20] = 0  # a hole
    labels[28:36, 28:36] = 2
    return labels


def test_current_versions_become_instance_labels_with_holes(world: ProjectWorld) -> None:
    pixels = np.full((40, 40), 20, np.uint8)
    labels = ring_and_square()
    world.add_image(pixels, labels, name="a.png")
    world.add_image(pixels, None, name="unsegmented.png")
    data = read_project_data(world.images, world.blobs, world.project.id)
    assert len(data.samples) == 1
    sample = data.samples[0]
    assert sample.pixels.shape == (40, 40, 1) and sample.objects == 2
    np.testing.assert_array_equal(sample.labels > 0, labels > 0)
    assert sample.labels[15, 15] == 0


def test_a_manual_edit_is_the_version_trained_on(world: ProjectWorld) -> None:
    labels = ring_and_square()
    image = world.add_image(np.full((40, 40), 20, np.uint8), labels)
    edited = np.zeros_like(labels)
    edited[2:12, 2:12] = 1
    world.save_labels(image, edited)
    (sample,) = read_project_data(world.images, world.blobs, world.project.id).samples
    assert sample.version == 2 and sample.objects == 1
    np.testing.assert_array_equal(sample.labels, edited)


def test_an_unreadable_original_is_skipped_with_its_reason(world: ProjectWorld) -> None:
    image = world.add_image(np.full((40, 40), 20, np.uint8), ring_and_square())
    world.blobs.put(image.blob_key, b"not an image")
    data = read_project_data(world.images, world.blobs, world.project.id)
    assert data.samples == () and data.skipped[0][0] == image.id


def test_the_split_depends_on_ids_and_seed_and_holds_out_at_least_one(
    world: ProjectWorld,
) -> None:
    world.add_nuclei(5, side=48)
    samples = read_project_data(world.images, world.blobs, world.project.id).samples
    training, held = split_samples(samples, holdout_fraction=0.2, seed=1)
    again = split_samples(tuple(reversed(samples)), holdout_fraction=0.2, seed=1)
    assert (training, held) == again
    assert len(held) == 1 and len(training) == 4
    assert {s.image_id for s in training} | {s.image_id for s in held} == {
        s.image_id for s in samples
    }
    tiny = split_samples(samples[:2], holdout_fraction=0.9, seed=0)
    assert [len(part) for part in tiny] == [1, 1]


def test_fewer_than_two_images_cannot_be_split(world: ProjectWorld) -> None:
    world.add_nuclei(1, side=48)
    samples = read_project_data(world.images, world.blobs, world.project.id).samples
    with pytest.raises(InvalidParameter, match="at least 2 segmented images"):
        split_samples(samples, holdout_fraction=0.2, seed=0)


def test_net_input_matches_channels_as_inference_does() -> None:
    grey = np.arange(100, dtype=np.uint16).reshape(10, 10, 1)
    assert net_input(grey, 3, Normalization()).shape == (10, 10, 3)
    rgb = np.zeros((10, 10, 3), np.uint8)
    assert net_input(rgb, 1, Normalization()).shape == (10, 10, 1)
    with pytest.raises(InvalidParameter):
        net_input(np.zeros((10, 10, 2), np.uint8), 3, Normalization())


def test_net_input_applies_the_start_models_polarity_rule() -> None:
    """Fine-tuning a ``bright_objects`` net trains on what its segmenter will be fed."""
    mask = np.zeros((96, 96), bool)
    mask[30:60, 30:60] = True
    dark_on_bright = np.where(mask, 20, 200).astype(np.uint8)[:, :, np.newaxis]
    as_is = net_input(dark_on_bright, 1, Normalization())
    flipped = net_input(dark_on_bright, 1, Normalization(polarity="bright_objects"))
    np.testing.assert_allclose(flipped, 1.0 - as_is)
    assert flipped[45, 45, 0] > flipped[5, 5, 0]  # the object is the bright part now
    bright_on_dark = 255 - dark_on_bright
    same = net_input(bright_on_dark, 1, Normalization(polarity="bright_objects"))
    np.testing.assert_array_equal(same, net_input(bright_on_dark, 1, Normalization()))
