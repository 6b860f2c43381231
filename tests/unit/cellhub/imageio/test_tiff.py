"""TIFF decoding: native dtypes, compression, BigTIFF, multi-channel and multi-page layouts."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile

from cellhub.imageio import probe_image, read_image

Write = Callable[[str, bytes], Path]
Encoder = Callable[..., bytes]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint16, np.int8])
def test_dtype_is_kept(dtype: type, tiff_bytes: Encoder, rng: np.random.Generator) -> None:
    array: np.ndarray = (rng.standard_normal((6, 5)) * 100).astype(dtype)
    image = read_image(tiff_bytes(array))
    assert image.pixels.dtype == np.dtype(dtype)
    assert image.source_dtype == np.dtype(dtype).name
    np.testing.assert_array_equal(image.pixels[..., 0], array)


def test_float32_tiff_keeps_negative_and_fractional_values(
    write: Write, tiff_bytes: Encoder
) -> None:
    array = np.array([[-1.5, 0.25], [3e-7, 1e9]], np.float32)
    image = read_image(write("f.tif", tiff_bytes(array)))
    assert image.format == "tiff"
    np.testing.assert_array_equal(image.pixels[..., 0], array)


def test_big_endian_samples_come_back_native(tiff_bytes: Encoder) -> None:
    array = np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000
    image = read_image(tiff_bytes(array, byteorder=">"))
    assert image.pixels.dtype.isnative
    np.testing.assert_array_equal(image.pixels[..., 0], array)


@pytest.mark.parametrize("compression", ["lzw", "zlib", "zstd", None])
def test_compressed_tiff(
    compression: str | None, tiff_bytes: Encoder, rng: np.random.Generator
) -> None:
    array = rng.integers(0, 4096, (64, 48), dtype=np.uint16)
    image = read_image(tiff_bytes(array, compression=compression))
    np.testing.assert_array_equal(image.pixels[..., 0], array)


def test_bigtiff(tiff_bytes: Encoder, rng: np.random.Generator) -> None:
    array = rng.integers(0, 255, (20, 30), dtype=np.uint8)
    data = tiff_bytes(array, bigtiff=True)
    assert data[:4] == b"II+\x00"
    np.testing.assert_array_equal(read_image(data).pixels[..., 0], array)


def test_multi_channel_tiff_puts_channels_last(
    tiff_bytes: Encoder, rng: np.random.Generator
) -> None:
    cyx = rng.integers(0, 60000, (3, 16, 12), dtype=np.uint16)
    image = read_image(tiff_bytes(cyx, photometric="minisblack", metadata={"axes": "CYX"}))
    assert image.pixels.shape == (16, 12, 3)
    np.testing.assert_array_equal(image.pixels, np.moveaxis(cyx, 0, -1))
    assert image.warnings == ()
    assert image.channel_names == ("channel 0", "channel 1", "channel 2")


def test_rgb_tiff(tiff_bytes: Encoder, rng: np.random.Generator) -> None:
    rgb = rng.integers(0, 255, (9, 7, 3), dtype=np.uint8)
    image = read_image(tiff_bytes(rgb, photometric="rgb"))
    np.testing.assert_array_equal(image.pixels, rgb)
    assert image.channel_names == ("red", "green", "blue")


def test_planar_rgb_tiff(tiff_bytes: Encoder, rng: np.random.Generator) -> None:
    syx = rng.integers(0, 255, (3, 9, 7), dtype=np.uint8)
    image = read_image(tiff_bytes(syx, photometric="rgb", planarconfig="separate"))
    np.testing.assert_array_equal(image.pixels, np.moveaxis(syx, 0, -1))


def test_rgba_tiff_drops_alpha(tiff_bytes: Encoder, rng: np.random.Generator) -> None:
    rgba = rng.integers(0, 255, (9, 7, 4), dtype=np.uint8)
    image = read_image(tiff_bytes(rgba, photometric="rgb", extrasamples=["unassalpha"]))
    np.testing.assert_array_equal(image.pixels, rgba[..., :3])
    assert "dropped the alpha channel (RGBA -> RGB)" in image.warnings


def _pages(arrays: list[np.ndarray]) -> bytes:
    """Plain pages with no metadata tifffile could use to name the stack's axis."""
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        for array in arrays:
            writer.write(array, metadata=None)
    return buffer.getvalue()


def test_few_equal_pages_are_channels(rng: np.random.Generator) -> None:
    pages = [rng.integers(0, 60000, (10, 8), dtype=np.uint16) for _ in range(4)]
    image = read_image(_pages(pages))
    assert image.pixels.shape == (10, 8, 4)
    np.testing.assert_array_equal(image.pixels, np.stack(pages, axis=-1))
    assert image.warnings == ("read 4 equal-size pages as 4 channels",)


def test_many_equal_pages_are_a_projected_z_stack(rng: np.random.Generator) -> None:
    pages = [rng.integers(0, 60000, (10, 8), dtype=np.uint16) for _ in range(12)]
    image = read_image(_pages(pages))
    assert image.pixels.shape == (10, 8, 1)
    np.testing.assert_array_equal(image.pixels[..., 0], np.max(pages, axis=0))
    assert any("maximum-intensity projection" in w for w in image.warnings)


def test_tifffile_shaped_stack_follows_the_same_rule(
    tiff_bytes: Encoder, rng: np.random.Generator
) -> None:
    stack = rng.integers(0, 255, (9, 6, 5), dtype=np.uint8)
    image = read_image(tiff_bytes(stack))
    np.testing.assert_array_equal(image.pixels[..., 0], stack.max(axis=0))


def test_z_projection_ignores_nan(tiff_bytes: Encoder) -> None:
    stack = np.zeros((3, 2, 2), np.float32)
    stack[0, 0, 0], stack[1, 0, 0] = np.nan, 5.0
    image = read_image(tiff_bytes(stack, photometric="minisblack", metadata={"axes": "ZYX"}))
    assert image.pixels[0, 0, 0] == 5.0


def test_pages_of_different_shapes_read_the_first_image(rng: np.random.Generator) -> None:
    first = rng.integers(0, 255, (10, 8), dtype=np.uint8)
    image = read_image(_pages([first, np.zeros((4, 4), np.uint8)]))
    np.testing.assert_array_equal(image.pixels[..., 0], first)
    assert "file holds 2 images; read the first" in image.warnings


def test_bool_tiff_becomes_uint8_0_255(tiff_bytes: Encoder) -> None:
    mask = np.zeros((5, 9), bool)
    mask[1:3, 2:7] = True
    image = read_image(tiff_bytes(mask))
    assert image.source_dtype == "bool"
    np.testing.assert_array_equal(image.pixels[..., 0], mask.astype(np.uint8) * 255)


def test_probe_tiff_stack(tiff_bytes: Encoder) -> None:
    zcyx = np.zeros((2, 3, 16, 12), np.uint16)
    header = probe_image(tiff_bytes(zcyx, photometric="minisblack", metadata={"axes": "ZCYX"}))
    assert (header.width, header.height, header.channels, header.dtype) == (12, 16, 3, "uint16")
    assert (header.axes, header.shape, header.pages) == ("ZCYX", (2, 3, 16, 12), 6)


def test_stack_over_the_decode_budget_is_too_large(tiff_bytes: Encoder) -> None:
    from cellhub.errors import ImageTooLarge

    data = tiff_bytes(np.zeros((20, 8, 8), np.uint8), metadata={"axes": "ZYX"})
    with pytest.raises(ImageTooLarge, match="budget"):
        read_image(data, max_pixels=100)  # 64 px per plane is under the cap; 20 planes are not


def test_pages_lost_to_a_broken_ifd_chain_are_reported(rng: np.random.Generator) -> None:
    pages = [rng.integers(0, 255, (10, 8), dtype=np.uint8) for _ in range(3)]
    data = bytearray(_pages(pages))
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tif:
        second = tif.pages[1]
        assert isinstance(second, tifffile.TiffPage)
        next_ifd = second.offset + 2 + 12 * len(second.tags)
    data[next_ifd : next_ifd + 4] = (len(data) + 4096).to_bytes(4, "little")
    image = read_image(bytes(data))
    assert image.pixels.shape == (10, 8, 2)
    assert any(w.startswith("TIFF reader: ") and "offset" in w for w in image.warnings)
