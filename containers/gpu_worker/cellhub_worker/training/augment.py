"""Random training crops with geometric and photometric augmentation.

Inputs are whole images already normalised as at inference (float32 ``(Y, X, C)`` in
``[0, 1]``, see :func:`cellhub_worker.preprocess.normalize_percentile`) and their int32
``(Y, X)`` instance labels. A crop is cut at a random scale (so one magnification teaches
several), resized to ``crop`` px (linear for pixels, nearest for labels, both on the same
pixel-centre grid), flipped and rotated by a multiple of 90°, then its intensities are
perturbed: gamma, contrast and offset, Gaussian blur and Gaussian noise. Everything is
drawn from the caller's ``numpy.random.Generator``, so a seed fixes the whole stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Augmentation:
    """Ranges of the random perturbations (each drawn uniformly)."""

    scale: tuple[float, float] = (0.6, 1.6)
    gamma: tuple[float, float] = (0.7, 1.5)
    contrast: tuple[float, float] = (0.7, 1.3)
    offset: tuple[float, float] = (-0.1, 0.1)
    blur_probability: float = 0.3
    blur_sigma: tuple[float, float] = (0.5, 1.5)
    noise_sigma: tuple[float, float] = (0.0, 0.05)
    invert_probability: float = 0.0


def random_crop(
    image: NDArray[np.float32],
    labels: NDArray[np.int32],
    crop: int,
    rng: np.random.Generator,
    augmentation: Augmentation,
) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """One augmented ``(crop, crop, C)`` float32 crop in ``[0, 1]`` and its ``(crop, crop)`` labels.

    A scale above 1 magnifies. The source window never exceeds the image: for images
    smaller than the window the scale is raised until it fits (or the image is padded
    with background when even scale 1 would not fit).
    """
    height, width = labels.shape
    scale = float(rng.uniform(*augmentation.scale))
    scale = max(scale, crop / min(height, width))
    window = max(1, min(round(crop / scale), height, width))
    top = int(rng.integers(0, height - window + 1))
    left = int(rng.integers(0, width - window + 1))
    patch = image[top : top + window, left : left + window]
    patch_labels = labels[top : top + window, left : left + window]
    if window != crop:
        patch = _resize(patch, crop, cv2.INTER_LINEAR)
        resized = cv2.resize(patch_labels, (crop, crop), interpolation=cv2.INTER_NEAREST_EXACT)
        patch_labels = np.asarray(resized, dtype=np.int32)
    if rng.random() < 0.5:
        patch, patch_labels = patch[:, ::-1], patch_labels[:, ::-1]
    turns = int(rng.integers(0, 4))
    patch = np.rot90(patch, turns, axes=(0, 1))
    patch_labels = np.rot90(patch_labels, turns, axes=(0, 1))
    out = perturb_intensity(np.ascontiguousarray(patch), rng, augmentation)
    return out, np.ascontiguousarray(patch_labels, dtype=np.int32)


def perturb_intensity(
    patch: NDArray[np.float32], rng: np.random.Generator, augmentation: Augmentation
) -> NDArray[np.float32]:
    """Gamma, contrast/offset, optional blur and noise, inversion; clipped to ``[0, 1]``."""
    out = np.power(np.clip(patch, 0.0, 1.0), np.float32(rng.uniform(*augmentation.gamma)))
    out = out * np.float32(rng.uniform(*augmentation.contrast))
    out = out + np.float32(rng.uniform(*augmentation.offset))
    if rng.random() < augmentation.blur_probability:
        sigma = float(rng.uniform(*augmentation.blur_sigma))
        out = _blur(out, sigma)
    noise = float(rng.uniform(*augmentation.noise_sigma))
    if noise > 0:
        out = out + rng.normal(0.0, noise, out.shape).astype(np.float32)
    if rng.random() < augmentation.invert_probability:
        out = np.float32(1.0) - out
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _resize(patch: NDArray[np.float32], size: int, interpolation: int) -> NDArray[np.float32]:
    resized = cv2.resize(patch, (size, size), interpolation=interpolation)
    return np.asarray(resized, np.float32).reshape(size, size, patch.shape[2])


def _blur(patch: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    blurred = cv2.GaussianBlur(np.ascontiguousarray(patch), (0, 0), sigma)
    return np.asarray(blurred, np.float32).reshape(patch.shape)
