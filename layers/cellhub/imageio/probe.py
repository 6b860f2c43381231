"""Opening an image for its header alone: format by magic bytes, then that format's reader.

``open_reader`` is the one place that maps a sniffed format to its reader; ``probe_image`` is
the public, header-only entry point (the thumbnail handler records width, height, channels and
dtype from it without paying for a decode). Nothing here decompresses pixel data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cellhub.imageio.header import FormatReader, ImageHeader
from cellhub.imageio.pillow_formats import PillowReader
from cellhub.imageio.png import PngReader
from cellhub.imageio.sniff import sniff_format
from cellhub.imageio.source import ImageInput, ImageSource
from cellhub.imageio.tiff import TiffReader


@contextmanager
def open_reader(source: ImageSource, *, max_pixels: int | None) -> Iterator[FormatReader]:
    """The reader for ``source``'s format, header parsed, closed on exit.

    ``max_pixels`` is handed to readers whose library runs its own size check while parsing
    the header (Pillow), so that check agrees with ours; None disables it.
    """
    fmt = sniff_format(source.head(), name=source.name)
    reader: FormatReader
    if fmt == "png":
        reader = PngReader(source)
    elif fmt == "tiff":
        reader = TiffReader(source, max_pixels=max_pixels)
    else:
        reader = PillowReader(source, fmt, max_pixels=max_pixels)
    try:
        yield reader
    finally:
        reader.close()


def probe_image(
    source: ImageInput, *, name: str | None = None, max_bytes: int | None = None
) -> ImageHeader:
    """Format, size, channels, dtype and page/axes layout of an image, from its header only.

    ``source`` is a path (``str`` or ``os.PathLike``) or the file's bytes; ``name`` is how
    error reasons refer to it (default: the file name, or ``"image"`` for bytes). No size cap
    is applied (a 100,000 x 100,000 header is reported, not refused); ``read_image`` applies
    it. Raises ``InputNotFound``, ``EmptyImage``, ``UnsupportedImageFormat``, ``CorruptImage``,
    or ``ImageTooLarge`` when the file exceeds ``max_bytes``.
    """
    checked = ImageSource.of(source, name=name, max_bytes=max_bytes)
    with open_reader(checked, max_pixels=None) as reader:
        return reader.header
