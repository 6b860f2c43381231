"""The polarity rule: nets trained on bright objects get dark-on-bright images inverted."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

from cellhub_worker.checkpoint import CheckpointMeta, Normalization, save_checkpoint
from cellhub_worker.learned import LearnedSegmenter
from cellhub_worker.preprocess import normalize_percentile, objects_look_dark

SIZE = 96


def _field(mask: NDArray[np.bool_], *, objects_bright: bool) -> NDArray[np.uint8]:
    """8-bit ``(Y, X)`` image: objects at 200 on 20 (or the reverse), with camera noise."""
    high, low = (200, 20) if objects_bright else (20, 200)
    noise = np.random.default_rng(0).normal(0.0, 3.0, mask.shape)
    return np.clip(np.where(mask, high, low) + noise, 0, 255).astype(np.uint8)


def _sparse_nuclei() -> NDArray[np.bool_]:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for centre in [(25, 25), (70, 30), (48, 60), (20, 75), (75, 75)]:
        cv2.circle(mask, centre, 9, 1, thickness=-1)
    return mask > 0


def _dense_nuclei() -> NDArray[np.bool_]:
    """Nuclei on an 18 px grid over the whole field, edges included: about 0.68 of the outer
    2 px frame and half of the field are nucleus, so a simple majority of the frame is bright."""
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for y in range(0, SIZE + 1, 18):
        for x in range(0, SIZE + 1, 18):
            cv2.circle(mask, (x, y), 7, 1, thickness=-1)
    return mask > 0


def _normalised(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    return normalize_percentile(image[:, :, np.newaxis])


def test_dark_objects_on_a_bright_field_look_dark() -> None:
    assert objects_look_dark(_normalised(_field(_sparse_nuclei(), objects_bright=False)))


def test_bright_objects_on_a_dark_field_do_not() -> None:
    assert not objects_look_dark(_normalised(_field(_sparse_nuclei(), objects_bright=True)))


def test_a_dense_bright_field_is_not_taken_for_a_dark_one() -> None:
    normalised = _normalised(_field(_dense_nuclei(), objects_bright=True))
    # A simple majority of the frame is bright here: only the supermajority keeps it as it is.
    assert objects_look_dark(normalised, share=0.5)
    assert not objects_look_dark(normalised)


def test_a_blank_image_has_no_polarity() -> None:
    assert not objects_look_dark(np.full((SIZE, SIZE, 1), 0.7, np.float32))


def _segmenter(tmp_path: Path, normalization: Normalization | None) -> LearnedSegmenter:
    meta = CheckpointMeta(
        name="polarity",
        version="1",
        architecture="unet",
        config={"widths": [4, 8]},
        in_channels=1,
        outputs=("foreground",),
        normalization=normalization or Normalization(),
    )
    torch.manual_seed(0)
    path = tmp_path / "polarity.pt"
    save_checkpoint(path, meta.build(), meta)
    return LearnedSegmenter(path, device="cpu", optimize=False)


def test_a_bright_objects_checkpoint_inverts_dark_on_bright_input(tmp_path: Path) -> None:
    segmenter = _segmenter(tmp_path, Normalization(polarity="bright_objects"))
    dark_on_bright = _field(_sparse_nuclei(), objects_bright=False)
    np.testing.assert_allclose(segmenter.prepare(dark_on_bright), 1.0 - _normalised(dark_on_bright))
    for mask in (_sparse_nuclei(), _dense_nuclei()):
        bright_on_dark = _field(mask, objects_bright=True)
        np.testing.assert_array_equal(
            segmenter.prepare(bright_on_dark), _normalised(bright_on_dark)
        )


def test_a_checkpoint_without_the_option_feeds_the_image_as_it_is(tmp_path: Path) -> None:
    segmenter = _segmenter(tmp_path, None)
    assert segmenter.meta.normalization.polarity == "as_is"
    dark_on_bright = _field(_sparse_nuclei(), objects_bright=False)
    np.testing.assert_array_equal(segmenter.prepare(dark_on_bright), _normalised(dark_on_bright))


def test_a_checkpoint_written_before_the_option_reads_as_is(tmp_path: Path) -> None:
    segmenter = _segmenter(tmp_path, None)
    payload = torch.load(tmp_path / "polarity.pt", weights_only=True)
    del payload["normalization"]["polarity"]
    torch.save(payload, tmp_path / "old.pt")
    old = LearnedSegmenter(tmp_path / "old.pt", device="cpu", optimize=False)
    assert old.meta.normalization == Normalization() == segmenter.meta.normalization
