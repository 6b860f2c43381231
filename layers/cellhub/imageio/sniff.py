"""Which image format a file holds, decided by its magic bytes and never by its name.

A text file called ``cells.png`` is not a PNG, and a PNG called ``cells.tif`` is still a PNG:
the extension is whatever the user's software or the user chose, the leading bytes are what
every decoder will actually see. OME-TIFF is told apart from plain TIFF later, from the
metadata inside the file (see ``cellhub.imageio.tiff``), because its magic is TIFF's.
"""

from __future__ import annotations

from typing import Literal

from cellhub.errors import UnsupportedImageFormat

SniffedFormat = Literal["png", "jpeg", "bmp", "tiff"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8\xff"
# Classic TIFF (42) and BigTIFF (43), little- and big-endian.
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# Sizes of the BITMAPINFOHEADER family; "BM" alone is too short a magic to trust, since plenty
# of text starts with those two letters.
BMP_DIB_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})

SUPPORTED = "PNG, JPEG, BMP, TIFF or OME-TIFF"


def sniff_format(head: bytes, *, name: str) -> SniffedFormat:
    """The format of a file starting with ``head``; ``UnsupportedImageFormat`` if unknown."""
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head.startswith(JPEG_SOI):
        return "jpeg"
    if head[:4] in TIFF_MAGICS:
        return "tiff"
    if _is_bmp(head):
        return "bmp"
    raise UnsupportedImageFormat(
        f"{name}: not a {SUPPORTED} file (starts with {_describe(head)})",
        name=name,
    )


def _is_bmp(head: bytes) -> bool:
    if not head.startswith(b"BM") or len(head) < 18:
        return False
    return int.from_bytes(head[14:18], "little") in BMP_DIB_HEADER_SIZES


def _describe(head: bytes) -> str:
    """The leading bytes, readable if they are text, hex otherwise, for the error reason."""
    lead = head[:8]
    if lead and all(32 <= b < 127 or b in b"\t\r\n" for b in lead):
        return repr(lead.decode("ascii"))
    return "0x" + lead.hex()
