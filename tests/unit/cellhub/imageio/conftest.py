"""Fixtures for the imageio tests: small images built in memory and hand-crafted hostile headers."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from PIL import Image

HUGE = 100_000  # claimed width and height: 10^10 pixels, 10 GB even as uint8


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_header(width: int, height: int, *, depth: int = 8, colour: int = 0) -> bytes:
    """Signature, a valid IHDR claiming ``width x height``, a tiny IDAT and IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


@pytest.fixture
def huge_png() -> bytes:
    return png_with_header(HUGE, HUGE)


def tiff_with_header(width: int, height: int) -> bytes:
    """A classic little-endian TIFF whose one IFD claims ``width x height`` uint8 pixels."""
    strip = zlib.compress(b"\x00" * 1024)
    entries = [  # tag, type (3 SHORT, 4 LONG), value
        (256, 4, width),  # ImageWidth
        (257, 4, height),  # ImageLength
        (258, 3, 8),  # BitsPerSample
        (259, 3, 8),  # Compression: deflate
        (262, 3, 1),  # PhotometricInterpretation: min-is-black
        (273, 4, 0),  # StripOffsets, patched below
        (277, 3, 1),  # SamplesPerPixel
        (278, 4, max(height, 1)),  # RowsPerStrip
        (279, 4, len(strip)),  # StripByteCounts
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        value = data_offset if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, 1) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + strip


@pytest.fixture
def huge_tiff() -> bytes:
    return tiff_with_header(HUGE, HUGE)


@pytest.fixture
def tiff_header() -> Callable[[int, int], bytes]:
    return tiff_with_header


@pytest.fixture
def huge_jpeg() -> bytes:
    """A real 16 x 16 JPEG whose SOF0 marker is patched to claim 60,000 x 60,000 pixels."""
    data = bytearray(_pil_bytes(np.zeros((16, 16), np.uint8), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    return bytes(data)


def _pil_bytes(array: np.ndarray, fmt: str, **options: Any) -> bytes:
    """``array`` saved by Pillow in ``fmt``."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _tiff_bytes(array: np.ndarray, **options: Any) -> bytes:
    """``array`` written by tifffile with ``options`` (``ome``, ``metadata`` ...)."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **options)
    return buffer.getvalue()


Encoder = Callable[..., bytes]


@pytest.fixture
def pil_bytes() -> Encoder:
    return _pil_bytes


@pytest.fixture
def tiff_bytes() -> Encoder:
    return _tiff_bytes


@pytest.fixture
def png_header() -> Callable[..., bytes]:
    return png_with_header


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, bytes], Path]:
    """Write ``data`` to ``tmp_path / name`` and return the path."""

    def _write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return _write


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)
