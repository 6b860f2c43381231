"""Channels of a decoded ``(Y, X, C)`` image: which a model sees, alpha, names and sample types.

Arrays here are always ``(Y, X, C)`` with C >= 1, indexed ``[row, col, channel]``, in the
image's native dtype; nothing is rescaled except 1-bit/bool images, which become uint8 0/255 so
every consumer can treat "bright = foreground" the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.errors import InvalidParameter

RGB_NAMES = ("red", "green", "blue")


def select_channels(pixels: NDArray[Any], channels: Sequence[int] | None) -> NDArray[Any]:
    """The channels a model sees, in the order given: ``(Y, X, C)`` -> ``(Y, X, len(channels))``.

    ``None`` keeps every channel. Indices are 0-based; negative indices count from the end as in
    Python. An index outside the image's channels, an empty selection or a non-integer index is
    ``InvalidParameter``. Returns a view where the selection allows it (``None`` returns
    ``pixels`` itself).
    """
    if pixels.ndim != 3:
        raise InvalidParameter(
            f"expected a (Y, X, C) image, got an array of shape {pixels.shape}",
            parameter="pixels",
        )
    if channels is None:
        return pixels
    count = pixels.shape[2]
    chosen = list(channels)
    if not chosen:
        raise InvalidParameter("channels: select at least one channel", parameter="channels")
    for index in chosen:
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise InvalidParameter(
                f"channels: {index!r} is not a channel index", parameter="channels"
            )
        if not -count <= index < count:
            raise InvalidParameter(
                f"channels: index {index} is out of range for an image with {count} "
                f"channel{'s' if count != 1 else ''} (valid: 0..{count - 1})",
                parameter="channels",
                channels=count,
            )
    if chosen == list(range(count)):
        return pixels
    return pixels[:, :, chosen]


def drop_alpha(pixels: NDArray[Any], warnings: list[str]) -> NDArray[Any]:
    """Drop the last channel of a gray+alpha or RGBA image, noting it in ``warnings``.

    For formats whose 2- and 4-channel layouts always end in alpha (PNG, BMP, JPEG modes).
    Microscopy signal lives in the colour channels; alpha is an artefact of the software that
    saved the file, and feeding it to a model as a fourth channel would only add noise.
    """
    count = pixels.shape[2]
    if count not in (2, 4):
        return pixels
    change = "gray+alpha -> gray" if count == 2 else "RGBA -> RGB"
    warnings.append(f"dropped the alpha channel ({change})")
    return pixels[:, :, : count - 1]


def fallback_names(count: int, *, rgb: bool) -> tuple[str, ...]:
    """Channel names when the file gives none: red/green/blue for RGB, else ``channel N``.

    ``channel 0`` .. ``channel N-1`` match the indices ``select_channels`` takes.
    """
    if rgb and count == 3:
        return RGB_NAMES
    return tuple(f"channel {index}" for index in range(count))


def to_native_yxc(pixels: NDArray[Any]) -> NDArray[Any]:
    """A ``(Y, X)`` or ``(Y, X, C)`` array as ``(Y, X, C)``; bool becomes uint8 0/255."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8) * np.uint8(255)
    if not pixels.dtype.isnative:
        # Big-endian TIFF samples: same values, native byte order, so downstream math is fast.
        return pixels.astype(pixels.dtype.newbyteorder("="))
    return pixels
