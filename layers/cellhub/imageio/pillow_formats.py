"""JPEG and BMP through Pillow, with Pillow's own decompression-bomb check speaking our errors.

``Image.open`` is lazy: it reads the header and stops, so the size check in
``cellhub.imageio.header`` still runs before any pixel is decoded. Pillow also checks the size
itself during ``open``, against the process-wide ``Image.MAX_IMAGE_PIXELS``; that global is set
to our cap for the duration of the open (under a lock, since it is shared by every thread),
Pillow's ``DecompressionBombWarning`` is escalated to an error there, and both it and
``DecompressionBombError`` become ``ImageTooLarge``. ``ImageFile.LOAD_TRUNCATED_IMAGES`` is never
touched: left False, a truncated file fails in ``load()`` and is reported as ``CorruptImage``.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import numpy as np
from PIL import Image, ImageMode

from cellhub.errors import CorruptImage, ImageTooLarge
from cellhub.imageio.channels import drop_alpha, fallback_names
from cellhub.imageio.header import DECODE_FAILURES, ImageHeader, Raster
from cellhub.imageio.source import ImageSource

PillowFormat = Literal["jpeg", "bmp"]
PILLOW_NAMES: dict[PillowFormat, str] = {"jpeg": "JPEG", "bmp": "BMP"}

# Modes whose samples are not in a colour space a model was trained on; converted to RGB.
TO_RGB_MODES = frozenset({"CMYK", "YCbCr", "LAB", "HSV"})

_PIXEL_CAP_LOCK = threading.Lock()


@contextmanager
def pillow_pixel_cap(max_pixels: int | None) -> Iterator[None]:
    """Run ``Image.open`` with Pillow's bomb check at ``max_pixels`` (None: off) and strict."""
    with _PIXEL_CAP_LOCK:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


class PillowReader:
    """A JPEG or BMP opened lazily by Pillow; holds the file open until ``close``."""

    def __init__(self, source: ImageSource, fmt: PillowFormat, *, max_pixels: int | None) -> None:
        self._name = source.name
        self._format = fmt
        handle = source.open()
        try:
            with pillow_pixel_cap(max_pixels):
                image = Image.open(handle, formats=[PILLOW_NAMES[fmt]])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            handle.close()
            raise ImageTooLarge(
                f"{self._name}: header claims more than the cap of {max_pixels:,} pixels ({exc})",
                name=self._name,
                max_pixels=max_pixels,
            ) from exc
        except DECODE_FAILURES as exc:
            handle.close()
            raise CorruptImage(
                f"{self._name}: {fmt.upper()} header is corrupt ({exc})", name=self._name
            ) from exc
        self._handle = handle
        self._image = image
        self.header = _header_of(image, fmt)

    def decode(self) -> Raster:
        try:
            self._image.load()
            image: Image.Image = self._image
            notes: list[str] = []
            if image.mode in ("P", "PA"):
                # A palette maps indices to colours; the colours are the image.
                has_alpha = image.mode == "PA" or "transparency" in image.info
                image = image.convert("RGBA" if has_alpha else "RGB")
            elif image.mode in TO_RGB_MODES:
                if image.mode != "YCbCr":
                    notes.append(f"converted {image.mode} colour to RGB")
                image = image.convert("RGB")
            # np.array, not asarray: Pillow's buffer comes back read-only, unlike every other
            # format's, and consumers normalise in place.
            pixels = np.array(image)
        except DECODE_FAILURES as exc:
            raise CorruptImage(
                f"{self._name}: {self._format.upper()} data is truncated or corrupt ({exc})",
                name=self._name,
            ) from exc
        if pixels.ndim == 2:
            pixels = pixels[:, :, np.newaxis]
        pixels = drop_alpha(pixels, notes)
        return Raster(
            pixels=pixels,
            warnings=notes,
            channel_names=fallback_names(pixels.shape[2], rgb=pixels.shape[2] == 3),
        )

    def close(self) -> None:
        self._image.close()
        self._handle.close()


def _header_of(image: Image.Image, fmt: PillowFormat) -> ImageHeader:
    width, height = image.size
    mode = ImageMode.getmode(image.mode)
    channels = len(mode.bands)
    return ImageHeader(
        format=fmt,
        width=width,
        height=height,
        channels=channels,
        dtype=np.dtype(mode.typestr).name,
        axes="YX" if channels == 1 else "YXS",
        shape=(height, width) if channels == 1 else (height, width, channels),
    )
