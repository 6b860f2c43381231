"""Thumbnails keep aspect and size limits, stretch deep images, and map channels to colours."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from cellhub.errors import InvalidParameter
from cellhub.thumbnail import thumbnail_for


def opened(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "JPEG"
    return picture


def mean_rgb(data: bytes) -> NDArray[Any]:
    return np.asarray(opened(data).convert("RGB"), dtype=np.float64).mean(axis=(0, 1))


def test_single_channel_becomes_grayscale_of_the_same_size_when_small() -> None:
    pixels = np.arange(40 * 30, dtype=np.uint8).reshape(40, 30, 1)
    picture = opened(thumbnail_for(pixels))
    assert picture.mode == "L"
    assert picture.size == (30, 40)


def test_large_image_shrinks_to_max_side_keeping_aspect() -> None:
    pixels = np.zeros((500, 2000, 3), dtype=np.uint8)
    assert opened(thumbnail_for(pixels)).size == (512, 128)
    assert opened(thumbnail_for(pixels, max_side=100)).size == (100, 25)


def test_twelve_bit_data_in_sixteen_bit_container_is_stretched_not_black() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 4096, size=(64, 64, 1), dtype=np.uint16)
    gray = np.asarray(opened(thumbnail_for(pixels)), dtype=np.float64)
    # Shown as stored (value / 256), 12-bit data would average about 8 of 255.
    assert gray.mean() > 100
    assert gray.max() > 240


def test_eight_bit_data_is_shown_as_stored() -> None:
    pixels = np.full((16, 16, 1), 40, dtype=np.uint8)
    gray = np.asarray(opened(thumbnail_for(pixels)), dtype=np.float64)
    assert abs(gray.mean() - 40) < 2


def test_two_channels_render_red_and_green() -> None:
    pixels = np.zeros((32, 32, 2), dtype=np.uint16)
    pixels[:, :16, 0] = 1000
    pixels[:, 16:, 1] = 1000
    red, green, blue = mean_rgb(thumbnail_for(pixels))
    assert red > 80 and green > 80 and blue < 10


def test_extra_channels_beyond_three_are_left_out() -> None:
    pixels = np.zeros((8, 8, 5), dtype=np.uint8)
    pixels[:, :, 2] = 200
    pixels[:, :, 4] = 255
    red, green, blue = mean_rgb(thumbnail_for(pixels))
    assert blue > 150 and red < 30 and green < 30


def test_float_with_non_finite_values_is_usable() -> None:
    pixels = np.linspace(-1.0, 1.0, 32 * 32, dtype=np.float32).reshape(32, 32, 1)
    pixels[0, 0, 0] = np.nan
    pixels[1, 1, 0] = np.inf
    gray = np.asarray(opened(thumbnail_for(pixels)), dtype=np.float64)
    assert 100 < gray.mean() < 160


def test_flat_deep_image_does_not_fail() -> None:
    pixels = np.full((10, 10, 1), 777, dtype=np.uint16)
    assert opened(thumbnail_for(pixels)).size == (10, 10)


@pytest.mark.parametrize("shape", [(10, 10), (0, 10, 1), (10, 10, 0)])
def test_wrong_shape_is_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(InvalidParameter):
        thumbnail_for(np.zeros(shape, dtype=np.uint8))


def test_max_side_must_be_positive() -> None:
    with pytest.raises(InvalidParameter):
        thumbnail_for(np.zeros((4, 4, 1), dtype=np.uint8), max_side=0)
