"""Reading an image safely: caps checked on the header, pixels decoded to ``(Y, X, C)``.

``read_image`` is the pipeline's first stage. Order of checks, each before the next step
spends anything: the path exists and the byte size is within ``max_bytes``; the magic bytes
name a supported format; the header's claimed ``width x height`` is within ``max_pixels``
(no pixel buffer is allocated for a file that lies about its size); only then are pixels
decoded. Every failure is a typed ``cellhub.errors.ImageError`` (or ``InputNotFound``) whose
reason names the file; no library exception escapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.errors import CorruptImage, EmptyImage
from cellhub.imageio.channels import fallback_names, to_native_yxc
from cellhub.imageio.header import DECODE_FAILURES, Raster, check_dtype, check_header
from cellhub.imageio.probe import open_reader
from cellhub.imageio.source import ImageInput, ImageSource
from cellhub.settings import get_settings


@dataclass(frozen=True, slots=True, eq=False)
class DecodedImage:
    """A decoded image and what the decoder learned or changed on the way.

    ``pixels``: ``(Y, X, C)``, C >= 1, indexed ``[row, col, channel]``, in the file's native
    dtype (uint8, uint16, int32, float32, float64 ... kept as stored; bool/1-bit becomes uint8
    0/255). ``format``: ``"png"``, ``"jpeg"``, ``"bmp"``, ``"tiff"`` or ``"ome-tiff"``.
    ``pixel_size_um``: the X pixel size in µm when the file carries a calibration (see
    ``cellhub.imageio.calibration``), else None. ``channel_names``: one per channel of
    ``pixels``. ``warnings``: each change made to fit the image into ``(Y, X, C)`` (alpha
    dropped, time points skipped, z projected ...). ``source_dtype``: the sample type stored
    in the file (``"bool"`` for 1-bit).
    """

    pixels: NDArray[Any]
    format: str
    pixel_size_um: float | None
    channel_names: tuple[str, ...]
    warnings: tuple[str, ...]
    source_dtype: str

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])


def read_image(
    source: ImageInput,
    *,
    name: str | None = None,
    max_pixels: int | None = None,
    max_bytes: int | None = None,
) -> DecodedImage:
    """Decode ``source`` (a path or the file's bytes) into a :class:`DecodedImage`.

    The format is decided by magic bytes, never by the name. ``max_pixels`` (default
    ``Settings.max_image_pixels``) caps ``width x height`` as claimed by the header;
    ``max_bytes`` (default ``Settings.max_image_bytes``) caps the file size. ``name`` is how
    error reasons refer to the image (default: the file name, or ``"image"`` for bytes).

    Raises ``InputNotFound`` (no such path), ``EmptyImage`` (zero bytes or a zero dimension),
    ``UnsupportedImageFormat`` (unknown magic), ``ImageTooLarge`` (over either cap),
    ``CorruptImage`` (truncated or undecodable), ``UnsupportedPixelType`` (complex samples).
    """
    settings = get_settings()
    pixel_cap = settings.max_image_pixels if max_pixels is None else max_pixels
    byte_cap = settings.max_image_bytes if max_bytes is None else max_bytes
    checked = ImageSource.of(source, name=name, max_bytes=byte_cap)
    try:
        with open_reader(checked, max_pixels=pixel_cap) as reader:
            header = reader.header
            check_header(header, name=checked.name, max_pixels=pixel_cap)
            raster = reader.decode()
    except DECODE_FAILURES as exc:
        # Readers convert their library's errors; this catches what slips between them
        # (a read error on the sniffed head, a failure while closing).
        raise CorruptImage(f"{checked.name}: cannot be read ({exc})", name=checked.name) from exc
    return _finish(raster, fmt=header.format, source_dtype=header.dtype, name=checked.name)


def _finish(raster: Raster, *, fmt: str, source_dtype: str, name: str) -> DecodedImage:
    """Validate a reader's output and normalise it into the public shape and dtype rules."""
    check_dtype(raster.pixels.dtype, name=name)
    try:
        pixels = to_native_yxc(np.asarray(raster.pixels))
    except DECODE_FAILURES as exc:
        raise CorruptImage(f"{name}: decoded pixels are unusable ({exc})", name=name) from exc
    if pixels.ndim != 3:
        raise CorruptImage(f"{name}: decoded to an array of shape {pixels.shape}", name=name)
    if 0 in pixels.shape:
        raise EmptyImage(f"{name}: image has no pixels (shape {pixels.shape})", name=name)
    # C order lets consumers (tiling, torch.from_numpy) use the buffer as is, and copying a
    # channel-sliced view (alpha dropped) releases the memory of the channels left out.
    pixels = np.ascontiguousarray(pixels)
    names = raster.channel_names
    if len(names) != pixels.shape[2]:
        names = fallback_names(pixels.shape[2], rgb=False)
    return DecodedImage(
        pixels=pixels,
        format=fmt,
        pixel_size_um=raster.pixel_size_um,
        channel_names=names,
        warnings=tuple(raster.warnings),
        source_dtype=source_dtype,
    )
