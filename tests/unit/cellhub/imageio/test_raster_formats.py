"""PNG, JPEG and BMP decode to (Y, X, C) in their native dtype, with alpha and palettes settled."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from PIL import Image

from cellhub.imageio import probe_image, read_image

Write = Callable[[str, bytes], Path]
Encoder = Callable[..., bytes]


def _palette_png(indices: np.ndarray, palette: list[int], **options: object) -> bytes:
    image = Image.fromarray(indices, mode="P")
    image.putpalette(palette)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def test_palette_png_expands_to_rgb(write: Write) -> None:
    indices = np.array([[0, 1], [2, 0]], np.uint8)
    palette = [10, 20, 30, 200, 0, 0, 0, 0, 255]
    image = read_image(write("pal.png", _palette_png(indices, palette)))
    assert image.pixels.dtype == np.uint8
    assert image.pixels.shape == (2, 2, 3)
    assert image.pixels[0, 1].tolist() == [200, 0, 0]
    assert image.pixels[1, 0].tolist() == [0, 0, 255]
    assert image.channel_names == ("red", "green", "blue")
    assert image.warnings == ()


def test_palette_png_with_transparency_keeps_rgb_and_warns(write: Write) -> None:
    indices = np.array([[0, 1]], np.uint8)
    image = read_image(write("t.png", _palette_png(indices, [1, 2, 3, 4, 5, 6], transparency=0)))
    assert image.pixels.shape == (1, 2, 3)
    assert image.pixels[0, 1].tolist() == [4, 5, 6]
    assert any("alpha" in w for w in image.warnings)


def test_rgba_png_drops_alpha_with_a_warning(write: Write, pil_bytes: Encoder) -> None:
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 120, 77
    image = read_image(write("rgba.png", pil_bytes(rgba, "PNG")))
    assert image.pixels.shape == (3, 4, 3)
    assert (image.pixels[..., 0] == 120).all()
    assert image.warnings == ("dropped the alpha channel (RGBA -> RGB)",)
    assert probe_image(write("rgba2.png", pil_bytes(rgba, "PNG"))).channels == 4


def test_gray_alpha_png_drops_alpha(write: Write) -> None:
    la = np.stack([np.full((2, 3), 60000, np.uint16), np.full((2, 3), 1, np.uint16)], axis=-1)
    image = read_image(write("la.png", bytes(imagecodecs.png_encode(la))))
    assert image.pixels.shape == (2, 3, 1)
    assert image.pixels.dtype == np.uint16
    assert (image.pixels == 60000).all()


def test_16_bit_gray_png_keeps_uint16(write: Write, pil_bytes: Encoder) -> None:
    gray = np.array([[0, 1000], [40000, 65535]], np.uint16)
    image = read_image(write("g16.png", pil_bytes(gray, "PNG")))
    assert image.pixels.dtype == np.uint16
    assert image.source_dtype == "uint16"
    np.testing.assert_array_equal(image.pixels[..., 0], gray)


def test_16_bit_rgb_png_keeps_uint16(write: Write, rng: np.random.Generator) -> None:
    rgb = rng.integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    image = read_image(write("rgb16.png", bytes(imagecodecs.png_encode(rgb))))
    assert image.pixels.dtype == np.uint16
    np.testing.assert_array_equal(image.pixels, rgb)


def test_1_bit_png_becomes_uint8_0_255(write: Write, pil_bytes: Encoder) -> None:
    mask = np.eye(4, dtype=bool)
    image = read_image(write("mask.png", pil_bytes(mask, "PNG")))
    assert image.source_dtype == "bool"
    assert image.pixels.dtype == np.uint8
    np.testing.assert_array_equal(image.pixels[..., 0], mask.astype(np.uint8) * 255)


def test_all_black_image_reads(write: Write, pil_bytes: Encoder) -> None:
    image = read_image(write("black.png", pil_bytes(np.zeros((16, 9), np.uint8), "PNG")))
    assert (image.height, image.width, image.channels) == (16, 9, 1)
    assert not image.pixels.any()
    assert image.warnings == ()
    assert image.pixel_size_um is None


def test_jpeg_rgb_and_gray(write: Write, pil_bytes: Encoder) -> None:
    rgb = np.zeros((8, 10, 3), np.uint8)
    rgb[..., 1] = 200
    colour = read_image(write("c.jpg", pil_bytes(rgb, "JPEG", quality=95)))
    assert (colour.format, colour.pixels.shape, colour.pixels.dtype) == (
        "jpeg",
        (8, 10, 3),
        np.uint8,
    )
    assert abs(int(colour.pixels[..., 1].mean()) - 200) <= 3
    gray = read_image(write("g.jpeg", pil_bytes(np.full((8, 10), 90, np.uint8), "JPEG")))
    assert gray.pixels.shape == (8, 10, 1)


def test_truncated_jpeg_is_corrupt(
    write: Write, pil_bytes: Encoder, rng: np.random.Generator
) -> None:
    from cellhub.errors import CorruptImage

    data = pil_bytes(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), "JPEG")
    with pytest.raises(CorruptImage, match=r"cut\.jpg"):
        read_image(write("cut.jpg", data[: len(data) // 2]))


def test_bmp_rgb_and_palette(write: Write, pil_bytes: Encoder, rng: np.random.Generator) -> None:
    rgb = rng.integers(0, 255, (5, 7, 3), dtype=np.uint8)
    image = read_image(write("c.bmp", pil_bytes(rgb, "BMP")))
    assert image.format == "bmp"
    np.testing.assert_array_equal(image.pixels, rgb)
    gray = rng.integers(0, 255, (5, 7), dtype=np.uint8)
    image = read_image(write("g.bmp", pil_bytes(gray, "BMP")))
    assert image.pixels.shape[:2] == (5, 7)
    np.testing.assert_array_equal(image.pixels[..., 0], gray)


def test_probe_png_reads_only_the_header(write: Write, pil_bytes: Encoder) -> None:
    header = probe_image(write("p.png", pil_bytes(np.zeros((30, 20, 3), np.uint8), "PNG")))
    assert (header.format, header.width, header.height, header.channels, header.dtype) == (
        "png",
        20,
        30,
        3,
        "uint8",
    )


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF"])
def test_pixels_are_writable_and_c_contiguous(fmt: str, pil_bytes: Encoder) -> None:
    rgba = np.zeros((4, 5, 4), np.uint8) if fmt == "PNG" else np.zeros((4, 5, 3), np.uint8)
    pixels = read_image(pil_bytes(rgba, fmt)).pixels
    assert pixels.flags.writeable
    assert pixels.flags.c_contiguous
