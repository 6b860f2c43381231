"""Turning decoded pixels of any bit depth into the float input every model expects.

Input: ``(Y, X, C)`` array of any numeric dtype (uint8/16, int32, float32, ...).
Output: ``(Y, X, C)`` float32, each channel mapped so that its ``low`` percentile is 0 and its
``high`` percentile is 1 (values outside are clipped to ``[0, 1]`` unless ``clip=False``).
Percentiles rather than the dtype's range make a dim 16-bit fluorescence image, which uses
only a few hundred grey levels of 65,535, look like a bright 8-bit one to the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

# Percentiles are estimated on at most this many pixels: exact enough, and O(1) in image size.
_PERCENTILE_SAMPLE = 1 << 20


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


def _sample(channel: NDArray[Any]) -> NDArray[Any]:
    flat = channel.reshape(-1)
    if flat.size <= _PERCENTILE_SAMPLE:
        return flat
    step = flat.size // _PERCENTILE_SAMPLE
    return flat[::step]
