"""Turning decoded pixels of any bit depth into the float input every model expects.

Input: ``(Y, X, C)`` array of any numeric dtype (uint8/16, int32, float32, ...).
Output: ``(Y, X, C)`` float32, each channel mapped so that its ``low`` percentile is 0 and its
``high`` percentile is 1 (values outside are clipped to ``[0, 1]`` unless ``clip=False``).
Percentiles rather than the dtype's range make a dim 16-bit fluorescence image, which uses
only a few hundred grey levels of 65,535, look like a bright 8-bit one to the model.

Polarity: :func:`objects_are_dark` tells whether the objects of a normalised ``(Y, X)`` grey
image are darker than their background, taking the outer frame of the image as background
(objects rarely fill the border of a field, the background almost always does).
:func:`objects_look_dark` applies it to normalised ``(Y, X, C)`` net input with a
supermajority, so that a dense fluorescence field, whose bright nuclei may cover half of the
frame, is never taken for a dark-on-bright one.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

# Percentiles are estimated on at most this many pixels: exact enough, and O(1) in image size.
_PERCENTILE_SAMPLE = 1 << 20
_OTSU_BINS = 256
# Below this spread a normalised grey image has no contrast, hence no polarity.
_MIN_CONTRAST = 1e-3
# Share of the frame above Otsu's level needed to call the objects dark in net input. Real
# fluorescence (mnfinder 1.2.3, 49 images) puts at most 0.27 of its frame above the level,
# synthetic fields with nuclei over half of the frame at most 0.56; inverted copies of real
# fluorescence at least 0.88.
DARK_OBJECTS_FRAME_SHARE = 0.75


def normalize_percentile(
    pixels: NDArray[Any], low: float = 1.0, high: float = 99.8, *, clip: bool = True
) -> NDArray[np.float32]:
    """Scale each channel of ``(Y, X, C)`` pixels to ``[0, 1]`` by its percentiles."""
    if pixels.ndim != 3:
        raise ValueError(f"expected (Y, X, C) pixels, got shape {pixels.shape}")
    out = np.empty(pixels.shape, dtype=np.float32)
    for c in range(pixels.shape[2]):
        channel = pixels[..., c]
        sample = _sample(channel)
        lo, hi = np.percentile(sample, [low, high]).astype(np.float64)
        if not np.isfinite(lo) or not np.isfinite(hi):
            finite = sample[np.isfinite(sample)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        scale = 1.0 / (hi - lo) if hi > lo else 0.0
        np.subtract(channel, lo, out=out[..., c], casting="unsafe")
        out[..., c] *= np.float32(scale)
    np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return out


def smoothing_sigma(shape: tuple[int, ...]) -> float:
    """Gaussian sigma in px that suppresses camera noise in an image of ``shape``.

    One pixel keeps the necks between touching nuclei; frames larger than 2048 px a side
    get proportionally more.
    """
    return max(1.0, min(shape[0], shape[1]) / 2048)


def otsu_level(image: NDArray[np.float32]) -> float:
    """Otsu's threshold of a float ``(Y, X)`` image in ``[0, 1]``, on a 256-bin histogram.

    Returned strictly inside ``(0, 1)`` so that it can anchor a pseudo-probability map.
    """
    quantised = np.clip(image * (_OTSU_BINS - 1) + 0.5, 0, _OTSU_BINS - 1).astype(np.uint8)
    level, _ = cv2.threshold(quantised, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # cv2 puts the cut after bin ``level``; its upper edge is the same cut on the float scale.
    upper_edge = (level + 0.5) / (_OTSU_BINS - 1)
    return min(max(upper_edge, 1.0 / _OTSU_BINS), 1.0 - 1.0 / _OTSU_BINS)


def frame_share_above(image: NDArray[np.float32], level: float, *, frame: int) -> float:
    """Fraction of the outer ``frame`` px of float ``(Y, X)`` ``image`` brighter than ``level``."""
    height, width = image.shape
    frame = max(1, min(frame, height // 2, width // 2))
    border = np.concatenate(
        [
            image[:frame].ravel(),
            image[-frame:].ravel(),
            image[frame:-frame, :frame].ravel(),
            image[frame:-frame, -frame:].ravel(),
        ]
    )
    return np.count_nonzero(border > level) / border.size


def objects_are_dark(
    image: NDArray[np.float32], level: float, *, frame: int, share: float = 0.5
) -> bool:
    """True when more than ``share`` of the outer ``frame`` px of ``image`` is above ``level``.

    That is, the background is the bright class.
    """
    return frame_share_above(image, level, frame=frame) > share


def objects_look_dark(
    normalized: NDArray[np.float32], *, share: float = DARK_OBJECTS_FRAME_SHARE
) -> bool:
    """Whether normalised ``(Y, X, C)`` input in ``[0, 1]`` shows dark objects on a bright field.

    The channels are averaged into a grey image, smoothed by :func:`smoothing_sigma`, cut at
    Otsu's level; the objects are dark when more than ``share`` of the outer
    ``ceil(2 * sigma)`` px lies above the cut. An image without contrast is not dark.
    """
    grey = normalized.mean(axis=2, dtype=np.float32)
    sigma = smoothing_sigma(grey.shape)
    smooth = np.asarray(cv2.GaussianBlur(grey, (0, 0), sigma), dtype=np.float32)
    if float(smooth.max()) - float(smooth.min()) < _MIN_CONTRAST:
        return False
    level = otsu_level(smooth)
    return objects_are_dark(smooth, level, frame=math.ceil(2 * sigma), share=share)


def oriented(normalized: NDArray[np.float32], polarity: str) -> NDArray[np.float32]:
    """Normalised ``(Y, X, C)`` input as a net of the given ``polarity`` expects to see it.

    ``"bright_objects"``: inverted (``1 - x``) when its objects look dark on a bright field
    (:func:`objects_look_dark`); ``"as_is"``: unchanged. Inference, fine-tuning and training
    all call this, so a net is never trained on one polarity and run on the other.
    """
    if polarity == "bright_objects" and objects_look_dark(normalized):
        return np.float32(1.0) - normalized
    return normalized


def _sample(channel: NDArray[Any]) -> NDArray[Any]:
    flat = channel.reshape(-1)
    if flat.size <= _PERCENTILE_SAMPLE:
        return flat
    step = flat.size // _PERCENTILE_SAMPLE
    return flat[::step]
