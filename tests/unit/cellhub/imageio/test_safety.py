"""read_image refuses hostile or broken input with typed errors, before spending memory on it."""

from __future__ import annotations

import contextlib
import io
import struct
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile

from cellhub.errors import (
    CellhubError,
    CorruptImage,
    EmptyImage,
    ImageTooLarge,
    InputNotFound,
    UnsupportedImageFormat,
    UnsupportedPixelType,
)
from cellhub.imageio import probe_image, read_image
from cellhub.imageio.sniff import sniff_format

Write = Callable[[str, bytes], Path]
Encoder = Callable[..., bytes]
MB = 1024**2


def _assert_refused_cheaply(path: Path) -> ImageTooLarge:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImageTooLarge) as caught:
            read_image(path)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * MB, f"peak traced allocation {peak / MB:.1f} MB"
    assert elapsed < 5.0
    return caught.value


def test_zero_byte_file_is_empty(write: Write) -> None:
    with pytest.raises(EmptyImage, match=r"cells\.png.*empty"):
        read_image(write("cells.png", b""))


def test_truncated_png_is_corrupt(
    write: Write, pil_bytes: Encoder, rng: np.random.Generator
) -> None:
    data = pil_bytes(rng.integers(0, 255, (200, 200), dtype=np.uint8), "PNG")
    with pytest.raises(CorruptImage, match=r"cut\.png"):
        read_image(write("cut.png", data[: len(data) // 2]))


def test_truncated_tiff_is_corrupt(
    write: Write, tiff_bytes: Encoder, rng: np.random.Generator
) -> None:
    data = tiff_bytes(rng.integers(0, 60_000, (200, 200), dtype=np.uint16))
    with pytest.raises(CorruptImage, match=r"cut\.tif"):
        read_image(write("cut.tif", data[: len(data) // 2]))


def test_truncated_compressed_tiff_is_corrupt(
    write: Write, tiff_bytes: Encoder, rng: np.random.Generator
) -> None:
    data = tiff_bytes(rng.integers(0, 60_000, (200, 200), dtype=np.uint16), compression="zlib")
    with pytest.raises(CorruptImage):
        read_image(write("cut.tif", data[: len(data) - 100]))


def test_text_file_named_png_is_unsupported(write: Write) -> None:
    with pytest.raises(UnsupportedImageFormat, match=r"notes\.png.*'hello"):
        read_image(write("notes.png", b"hello, this is not an image\n"))


def test_png_named_tif_still_reads(write: Write, pil_bytes: Encoder) -> None:
    image = read_image(write("really-a-png.tif", pil_bytes(np.full((4, 5), 7, np.uint8), "PNG")))
    assert image.format == "png"
    assert image.pixels.shape == (4, 5, 1)


def test_garbage_after_png_magic_is_corrupt(write: Write) -> None:
    with pytest.raises(CorruptImage, match="IHDR"):
        read_image(write("x.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 20))


def test_garbage_after_tiff_magic_is_corrupt(write: Write) -> None:
    with pytest.raises(CorruptImage):
        read_image(write("x.tif", b"II*\x00" + b"\xff\xff\x00\x10" + b"garbage" * 20))


def test_png_header_claiming_10_gigapixels_fails_fast(write: Write, huge_png: bytes) -> None:
    error = _assert_refused_cheaply(write("bomb.png", huge_png))
    assert "100,000 x 100,000" in error.reason
    assert "bomb.png" in error.reason


def test_tiff_header_claiming_10_gigapixels_fails_fast(write: Write, huge_tiff: bytes) -> None:
    error = _assert_refused_cheaply(write("bomb.tif", huge_tiff))
    assert "100,000 x 100,000" in error.reason


def test_jpeg_header_over_the_cap_becomes_image_too_large(write: Write, huge_jpeg: bytes) -> None:
    """Pillow's own bomb check fires in Image.open; it must surface as our typed error."""
    _assert_refused_cheaply(write("bomb.jpg", huge_jpeg))


def test_explicit_pixel_cap_applies(write: Write, pil_bytes: Encoder) -> None:
    path = write("small.png", pil_bytes(np.zeros((100, 100), np.uint8), "PNG"))
    with pytest.raises(ImageTooLarge, match="10,000 pixels, over the cap of 9,999"):
        read_image(path, max_pixels=9_999)
    assert read_image(path, max_pixels=10_000).pixels.shape == (100, 100, 1)


@pytest.mark.parametrize("fmt", ["JPEG", "BMP"])
def test_pillow_check_follows_our_cap(fmt: str, pil_bytes: Encoder) -> None:
    data = pil_bytes(np.zeros((100, 100, 3), np.uint8), fmt)
    with pytest.raises(ImageTooLarge, match="9,999"):
        read_image(data, max_pixels=9_999)
    assert read_image(data, max_pixels=10_000).pixels.shape == (100, 100, 3)


def test_later_page_claiming_a_huge_size_is_corrupt(tiff_bytes: Encoder) -> None:
    """Only the first page is in the header check; every later page is held to its shape."""
    data = bytearray(tiff_bytes(np.zeros((3, 16, 12), np.uint16), imagej=True))
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tif:
        page = tif.pages[2]
        assert isinstance(page, tifffile.TiffPage)
        width_tag = page.tags["ImageWidth"]
        short = int(width_tag.dtype) == 3  # TIFF SHORT, else LONG
        offset = width_tag.valueoffset
    data[offset : offset + (2 if short else 4)] = struct.pack("<H" if short else "<I", 60_000)
    tracemalloc.start()
    try:
        with pytest.raises(CorruptImage, match="page 2"):
            read_image(bytes(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * MB


def test_probe_reports_a_huge_header_without_refusing(huge_png: bytes) -> None:
    header = probe_image(huge_png)
    assert (header.width, header.height, header.format) == (100_000, 100_000, "png")


def test_file_over_max_bytes_is_too_large(write: Write, pil_bytes: Encoder) -> None:
    path = write("big.png", pil_bytes(np.zeros((64, 64), np.uint8), "PNG"))
    with pytest.raises(ImageTooLarge, match=r"big\.png.*bytes"):
        read_image(path, max_bytes=10)


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound, match="does not exist"):
        read_image(tmp_path / "nowhere.tif")


def test_directory_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound, match="directory"):
        read_image(tmp_path)


def test_zero_width_header_is_empty(write: Write, png_header: Callable[..., bytes]) -> None:
    with pytest.raises(EmptyImage, match="no pixels"):
        read_image(write("flat.png", png_header(0, 10)))


def test_zero_height_tiff_is_empty(write: Write, tiff_header: Callable[[int, int], bytes]) -> None:
    with pytest.raises(EmptyImage, match=r"flat\.tif: image has no pixels \(10 x 0\)"):
        read_image(write("flat.tif", tiff_header(10, 0)))


def test_complex_tiff_is_unsupported_pixel_type(write: Write, tiff_bytes: Encoder) -> None:
    data = tiff_bytes(np.ones((8, 8), np.complex64))
    with pytest.raises(UnsupportedPixelType, match="complex64"):
        read_image(write("fft.tif", data))


def test_bytes_source_is_named_in_errors() -> None:
    with pytest.raises(UnsupportedImageFormat, match=r"^upload-17: "):
        read_image(b"GIF89a....", name="upload-17")


def test_pillow_globals_are_left_as_found(
    write: Write, pil_bytes: Encoder, huge_jpeg: bytes
) -> None:
    before = Image.MAX_IMAGE_PIXELS
    read_image(write("a.jpg", pil_bytes(np.zeros((8, 8, 3), np.uint8), "JPEG")))
    with pytest.raises(ImageTooLarge):
        read_image(huge_jpeg)
    assert before == Image.MAX_IMAGE_PIXELS
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF"])
def test_damaged_files_raise_only_typed_errors(
    fmt: str, pil_bytes: Encoder, rng: np.random.Generator
) -> None:
    """Corrupt bytes anywhere must end in a decoded image or a CellhubError, never a raw one."""
    clean = pil_bytes(rng.integers(0, 255, (48, 40, 3), dtype=np.uint8), fmt)
    for _ in range(40):
        damaged = bytearray(clean)
        for offset in rng.integers(0, len(clean), size=4):
            damaged[offset] = int(rng.integers(0, 256))
        cut = int(rng.integers(8, len(clean) + 1))
        with contextlib.suppress(CellhubError):
            read_image(bytes(damaged[:cut]))


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"II*\x00\x08\x00\x00\x00", "tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "tiff"),
        (b"II+\x00\x08\x00\x00\x00", "tiff"),
        (b"BM" + bytes(12) + (40).to_bytes(4, "little"), "bmp"),
    ],
)
def test_known_magic(head: bytes, expected: str) -> None:
    assert sniff_format(head, name="x") == expected


@pytest.mark.parametrize(
    "head", [b"BMW service record, 2021", b"GIF89a", b"%PDF-1.7", b"", b"\x89PN", b"RIFF....WEBP"]
)
def test_unknown_magic_is_unsupported(head: bytes) -> None:
    with pytest.raises(UnsupportedImageFormat, match="not a PNG, JPEG, BMP, TIFF or OME-TIFF"):
        sniff_format(head, name="x")


def test_reason_shows_text_heads_readably() -> None:
    with pytest.raises(UnsupportedImageFormat, match=r"notes\.png: .*'hello'"):
        sniff_format(b"hello", name="notes.png")
