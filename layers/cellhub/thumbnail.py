"""Display thumbnails: a decoded ``(Y, X, C)`` image turned into a small JPEG for the browser.

Thumbnails are for recognising an image at a glance, never for measurement, so they may
lose precision freely:

* **Channels**: one channel is shown as grayscale; two as red and green (blue empty), the
  usual two-colour fluorescence rendering; three or more as RGB from the first three.
* **Contrast**: 8-bit images are shown as stored. Every other dtype (16-bit cameras, float
  reconstructions, signed data) is stretched per channel from its 0.5th to its 99.5th
  percentile, as microscopy viewers do; otherwise a 12-bit camera image in a 16-bit container
  shows almost black. Non-finite float samples are ignored for the percentiles and shown as 0.
* **Size**: the longer side becomes at most ``max_side``, the aspect ratio is kept, and an
  image already smaller is never enlarged.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from cellhub.errors import InvalidParameter

DEFAULT_MAX_SIDE = 512
LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5
JPEG_QUALITY = 85
# Percentiles and scaling run on a strided view at most this many times the output size:
# enough samples for stable percentiles and a clean final resample, while a 400 Mpx slide
# never becomes a 400 Mpx float copy.
_OVERSAMPLE = 2


def thumbnail_for(pixels: NDArray[Any], *, max_side: int = DEFAULT_MAX_SIDE) -> bytes:
    """JPEG bytes of a display thumbnail of ``pixels``, longer side at most ``max_side``.

    ``pixels`` is ``(Y, X, C)`` with C >= 1 in any real dtype (``cellhub.imageio``'s output).
    Raises ``InvalidParameter`` for another shape, an empty image or ``max_side < 1``.
    """
    if max_side < 1:
        raise InvalidParameter("max_side must be at least 1", max_side=max_side)
    if pixels.ndim != 3 or 0 in pixels.shape:
        raise InvalidParameter("pixels must be a non-empty (Y, X, C) array", shape=pixels.shape)
    height, width = pixels.shape[:2]
    step = max(1, max(height, width) // (_OVERSAMPLE * max_side))
    sample = pixels[::step, ::step, :3]
    display = _to_uint8(sample)
    if display.shape[2] == 2:
        blue = np.zeros((*display.shape[:2], 1), dtype=np.uint8)
        display = np.concatenate([display, blue], axis=2)
    # A 2-D uint8 array becomes an "L" image, (Y, X, 3) an "RGB" one.
    planes = display[:, :, 0] if display.shape[2] == 1 else display
    picture = Image.fromarray(np.ascontiguousarray(planes))
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _to_uint8(sample: NDArray[Any]) -> NDArray[np.uint8]:
    """``sample`` as uint8 for display: 8-bit as is, anything else stretched per channel."""
    if sample.dtype == np.uint8:
        return sample
    channels = [_stretch(sample[:, :, c]) for c in range(sample.shape[2])]
    return np.stack(channels, axis=2)


def _stretch(channel: NDArray[Any]) -> NDArray[np.uint8]:
    """Map the 0.5..99.5 percentile range of one ``(Y, X)`` channel onto 0..255."""
    values = channel.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(channel.shape, dtype=np.uint8)
    low, high = np.percentile(values[finite], [LOW_PERCENTILE, HIGH_PERCENTILE])
    if high <= low:
        # A flat channel: show which pixels stand above the common value, not black.
        return np.where(finite & (values > low), 255, 0).astype(np.uint8)
    scaled = np.where(finite, (values - low) / (high - low), 0.0)
    return np.rint(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)
