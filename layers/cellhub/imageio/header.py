"""What a format reader reports before and after decoding, and the checks made in between.

Every format module (``png``, ``pillow_formats``, ``tiff``) exposes a ``FormatReader``: opening
it parses the header only, so ``header`` is known before any pixel is decompressed, and
``check_header`` enforces the decompression-bomb cap on the size the header *claims*.
``decode`` then returns a ``Raster``, which ``cellhub.imageio.decode`` turns into the public
``DecodedImage``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from cellhub.errors import EmptyImage, ImageTooLarge, UnsupportedPixelType

# What decoders raise on malformed data. Caught at each decoder boundary and re-raised as
# CorruptImage so no raw library error escapes read_image; the codec libraries behind Pillow,
# imagecodecs and tifffile report bad data as RuntimeError subclasses, tifffile's own
# TiffFileError is a ValueError, and fuzzed files showed tifffile's parsers also failing with
# index, key, type, arithmetic (division by a zero-sized page) and assertion errors on
# inconsistent IFDs.
DECODE_FAILURES: tuple[type[Exception], ...] = (
    OSError,
    ValueError,
    RuntimeError,
    EOFError,
    SyntaxError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
    ArithmeticError,
    AssertionError,
)


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """Facts read from the header alone; no pixel data has been decoded to produce them.

    ``channels`` counts the channels *stored* per pixel (alpha included, a palette index as one),
    ``dtype`` is the stored sample type (``"bool"`` for 1-bit). For TIFF, ``axes`` and ``shape``
    are the first image series' (tifffile axis codes, e.g. ``"TZCYX"``, ``"YXS"``, ``"QYX"``),
    ``pages`` counts every IFD in the file and ``series`` the images in it. Decoding may change
    the channel count (alpha dropped, palette expanded, pages read as channels).
    ``pixel_size_um`` is the calibration stored in the header (TIFF/OME-TIFF), else None.
    """

    format: str
    width: int
    height: int
    channels: int
    dtype: str
    pages: int = 1
    axes: str = "YX"
    shape: tuple[int, ...] = ()
    series: int = 1
    pixel_size_um: float | None = None

    @property
    def pixel_count(self) -> int:
        """Pixels in one plane, the quantity the decompression-bomb cap limits."""
        return self.width * self.height


@dataclass(slots=True)
class Raster:
    """A decoded image before dtype normalisation: ``pixels`` is ``(Y, X, C)``, C >= 1."""

    pixels: NDArray[Any]
    warnings: list[str] = field(default_factory=list)
    channel_names: tuple[str, ...] = ()
    pixel_size_um: float | None = None


class FormatReader(Protocol):
    """An opened file of one format: header parsed, pixels not yet decoded."""

    header: ImageHeader

    def decode(self) -> Raster:
        """Decode the pixels; raises ``CorruptImage`` (or another ``ImageError``) on bad data."""
        ...

    def close(self) -> None: ...


def check_header(header: ImageHeader, *, name: str, max_pixels: int | None) -> None:
    """Refuse, before decoding, an image with no pixels, too many pixels or an unusable dtype."""
    if header.width <= 0 or header.height <= 0:
        raise EmptyImage(
            f"{name}: image has no pixels ({header.width} x {header.height})",
            name=name,
            width=header.width,
            height=header.height,
        )
    if max_pixels is not None and header.pixel_count > max_pixels:
        raise ImageTooLarge(
            f"{name}: header claims {header.width:,} x {header.height:,} = {header.pixel_count:,} "
            f"pixels, over the cap of {max_pixels:,}",
            name=name,
            width=header.width,
            height=header.height,
            max_pixels=max_pixels,
        )
    check_dtype(header.dtype, name=name)


def check_dtype(dtype: str | np.dtype[Any], *, name: str) -> None:
    """Accept bool, integer and real floating samples; complex and structured ones are refused."""
    kind = np.dtype(dtype).kind
    if kind not in "biuf":
        raise UnsupportedPixelType(
            f"{name}: pixel type {np.dtype(dtype).name} cannot be segmented "
            "(only integer, floating-point or 1-bit samples)",
            name=name,
            dtype=str(dtype),
        )
