"""PNG: the IHDR header parsed by hand, the pixels decoded by libpng through imagecodecs.

The header is read from the first 33 bytes (signature, IHDR length, type, 13 data bytes, CRC),
so a file claiming 100,000 x 100,000 pixels is refused before libpng sees it. Pixels go through
``imagecodecs.png_decode`` rather than Pillow because Pillow narrows 16-bit RGB and 16-bit
gray+alpha PNGs to 8 bits; libpng keeps 16-bit samples, expands palettes to RGB (RGBA when the
palette has transparency) and scales 1/2/4-bit gray to 0..255.
"""

from __future__ import annotations

import struct
import zlib

import imagecodecs
import numpy as np

from cellhub.errors import CorruptImage
from cellhub.imageio.channels import drop_alpha, fallback_names
from cellhub.imageio.header import DECODE_FAILURES, ImageHeader, Raster
from cellhub.imageio.sniff import PNG_SIGNATURE
from cellhub.imageio.source import ImageSource

IHDR_END = len(PNG_SIGNATURE) + 8 + 13 + 4

# colour type -> (stored channels, allowed bit depths), from the PNG specification, table 11.1.
COLOUR_TYPES: dict[int, tuple[int, frozenset[int]]] = {
    0: (1, frozenset({1, 2, 4, 8, 16})),  # gray
    2: (3, frozenset({8, 16})),  # RGB
    3: (1, frozenset({1, 2, 4, 8})),  # palette index
    4: (2, frozenset({8, 16})),  # gray + alpha
    6: (4, frozenset({8, 16})),  # RGB + alpha
}
PALETTE = 3


def parse_ihdr(head: bytes, *, name: str) -> ImageHeader:
    """The header of a PNG starting with ``head``; ``CorruptImage`` if IHDR is malformed."""
    if len(head) < IHDR_END:
        raise CorruptImage(f"{name}: PNG ends inside its header", name=name)
    offset = len(PNG_SIGNATURE)
    length, chunk_type = struct.unpack(">I4s", head[offset : offset + 8])
    body = head[offset + 4 : offset + 8 + 13]
    (crc,) = struct.unpack(">I", head[offset + 8 + 13 : IHDR_END])
    if chunk_type != b"IHDR" or length != 13 or zlib.crc32(body) != crc:
        raise CorruptImage(f"{name}: PNG header chunk (IHDR) is malformed", name=name)
    width, height, depth, colour, _compression, _filter, _interlace = struct.unpack(
        ">IIBBBBB", body[4:]
    )
    if colour not in COLOUR_TYPES or depth not in COLOUR_TYPES[colour][1]:
        raise CorruptImage(
            f"{name}: PNG header has an invalid bit depth {depth} for colour type {colour}",
            name=name,
        )
    channels = COLOUR_TYPES[colour][0]
    dtype = "uint16" if depth == 16 else "uint8"
    if depth == 1 and colour == 0:
        dtype = "bool"
    shape = (height, width) if channels == 1 else (height, width, channels)
    return ImageHeader(
        format="png",
        width=width,
        height=height,
        channels=channels,
        dtype=dtype,
        axes="YX" if channels == 1 else "YXS",
        shape=shape,
    )


class PngReader:
    """A PNG whose header has been parsed; ``decode`` reads the whole file once."""

    def __init__(self, source: ImageSource) -> None:
        self._source = source
        self.header = parse_ihdr(source.head(IHDR_END), name=source.name)

    def decode(self) -> Raster:
        name = self._source.name
        try:
            pixels = imagecodecs.png_decode(self._source.read_all())
        except DECODE_FAILURES as exc:
            raise CorruptImage(
                f"{name}: PNG data is truncated or corrupt ({exc})", name=name
            ) from exc
        pixels = np.asarray(pixels)
        if pixels.ndim == 2:
            pixels = pixels[:, :, np.newaxis]
        if pixels.shape[:2] != (self.header.height, self.header.width):
            raise CorruptImage(f"{name}: decoded PNG size differs from its header", name=name)
        warnings: list[str] = []
        pixels = drop_alpha(pixels, warnings)
        return Raster(
            pixels=pixels,
            warnings=warnings,
            channel_names=fallback_names(pixels.shape[2], rgb=pixels.shape[2] == 3),
        )

    def close(self) -> None:
        """Nothing is held open between calls."""
