"""How exported objects look: 8-bit display versions of images, object and class colours.

Images: input is ``(Y, X)`` or ``(Y, X, C)`` in its native dtype. 8-bit images are shown as they are
(they are usually already display-ready); 16-bit, 32-bit and float images are auto-contrasted
per channel between the 0.5th and 99.5th percentiles, the way ImageJ's "Auto" button makes a
dim fluorescence channel visible. One channel becomes grey, two become red and green, and
three or more show their first three channels as RGB (alpha and extra channels are dropped).

Colours: class colours (GeoJSON classifications) follow the class's position in the run's
class list; object colours (overlays) follow the object id, so an object keeps its colour from
one export to the next. Neighbouring palette entries differ strongly in hue, and every entry
is bright enough to read against a dark micrograph.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

RGB = tuple[int, int, int]

DISTINCT_COLOURS: tuple[RGB, ...] = (
    (255, 64, 64),
    (64, 200, 255),
    (80, 255, 80),
    (255, 200, 0),
    (200, 90, 255),
    (255, 128, 0),
    (0, 255, 200),
    (255, 90, 200),
    (160, 255, 0),
    (90, 130, 255),
    (255, 160, 120),
    (0, 190, 120),
    (230, 230, 90),
    (180, 140, 255),
    (255, 60, 140),
    (120, 220, 220),
)


def object_colour(object_id: int) -> RGB:
    """The outline colour of object ``object_id``."""
    return DISTINCT_COLOURS[object_id % len(DISTINCT_COLOURS)]


def class_colour(class_name: str, class_names: Sequence[str]) -> RGB:
    """The colour of a class: by its index in ``class_names``, else by a hash of its name."""
    if class_name in class_names:
        index = list(class_names).index(class_name)
    else:
        index = zlib.crc32(class_name.encode("utf-8"))
    return DISTINCT_COLOURS[index % len(DISTINCT_COLOURS)]


LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5
# Percentiles of a strided sample this size are indistinguishable from the full image's.
_SAMPLE_PIXELS = 1 << 20


def display_rgb(pixels: NDArray[Any]) -> NDArray[np.uint8]:
    """``(Y, X, 3)`` uint8 for display; see the module docstring for the mapping."""
    image = pixels[:, :, np.newaxis] if pixels.ndim == 2 else pixels
    channels = [_to_uint8(image[:, :, c]) for c in range(min(image.shape[2], 3))]
    if len(channels) == 1:
        channels *= 3
    elif len(channels) == 2:
        channels.append(np.zeros_like(channels[0]))
    return np.ascontiguousarray(np.stack(channels, axis=-1))


def _to_uint8(channel: NDArray[Any]) -> NDArray[np.uint8]:
    if channel.dtype == np.uint8:
        return channel
    if channel.dtype == np.bool_:
        return channel.astype(np.uint8) * 255
    values = channel.astype(np.float32)
    step = max(1, int(np.sqrt(values.size / _SAMPLE_PIXELS)))
    sample = values[::step, ::step]
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        return np.zeros(channel.shape, dtype=np.uint8)
    low, high = np.percentile(finite, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if high <= low:  # flat image: anything above the floor shows as white
        high = low + 1.0
    scaled = (np.nan_to_num(values, nan=low) - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)
