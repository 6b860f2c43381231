"""pixel_size_um: OME-XML, ImageJ and TIFF resolution calibrations, and unit conversions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from cellhub.imageio import read_image
from cellhub.imageio.calibration import (
    imagej_pixel_size,
    plain_tiff_pixel_size,
    to_micrometres,
)

Encoder = Callable[..., bytes]


@pytest.mark.parametrize(
    ("size", "unit", "expected_um"),
    [(0.325, "µm", 0.325), (0.325, None, 0.325), (650.0, "nm", 0.65), (0.001, "mm", 1.0)],
)
def test_ome_physical_size(
    size: float, unit: str | None, expected_um: float, tiff_bytes: Encoder
) -> None:
    metadata: dict[str, object] = {"axes": "YX", "PhysicalSizeX": size}
    if unit is not None:
        metadata["PhysicalSizeXUnit"] = unit
    image = read_image(tiff_bytes(np.zeros((8, 8), np.uint16), ome=True, metadata=metadata))
    assert image.pixel_size_um == pytest.approx(expected_um)


def test_imagej_unit_micron(tiff_bytes: Encoder) -> None:
    data = tiff_bytes(
        np.zeros((8, 8), np.uint8), imagej=True, resolution=(4.0, 4.0), metadata={"unit": "micron"}
    )
    assert read_image(data).pixel_size_um == pytest.approx(0.25)


def test_imagej_escaped_micro_sign(tiff_bytes: Encoder) -> None:
    data = tiff_bytes(
        np.zeros((8, 8), np.uint8),
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"unit": "\\u00B5m"},
    )
    assert read_image(data).pixel_size_um == pytest.approx(0.5)


def test_tiff_resolution_in_centimetres(tiff_bytes: Encoder) -> None:
    # 20,000 pixels per cm = 0.5 µm per pixel
    data = tiff_bytes(
        np.zeros((8, 8), np.uint8), resolution=(20_000, 20_000), resolutionunit="centimeter"
    )
    assert read_image(data).pixel_size_um == pytest.approx(0.5)


def test_tiff_resolution_in_inches(tiff_bytes: Encoder) -> None:
    data = tiff_bytes(
        np.zeros((8, 8), np.uint8), resolution=(50_800, 50_800), resolutionunit="inch"
    )
    assert read_image(data).pixel_size_um == pytest.approx(0.5)


def test_72_dpi_is_a_display_setting_not_a_calibration(tiff_bytes: Encoder) -> None:
    data = tiff_bytes(np.zeros((8, 8), np.uint8), resolution=(72, 72), resolutionunit="inch")
    assert read_image(data).pixel_size_um is None


def test_uncalibrated_tiff_has_no_pixel_size(tiff_bytes: Encoder) -> None:
    assert read_image(tiff_bytes(np.zeros((8, 8), np.uint8))).pixel_size_um is None


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1, "µm", 1.0),
        (1, "μm", 1.0),  # Greek mu, not the micro sign
        (1, "um", 1.0),
        (1, "micron", 1.0),
        (500, "nm", 0.5),
        (2, "mm", 2000.0),
        (1, "cm", 10_000.0),
        (5000, "Å", 0.5),
        ("0.25", "\\u00B5m", 0.25),
    ],
)
def test_to_micrometres(value: object, unit: str, expected: float) -> None:
    assert to_micrometres(value, unit) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "unit"), [(1, "pixel"), (1, None), (0, "µm"), (-1, "µm"), ("nan", "µm"), ("x", "µm")]
)
def test_unusable_sizes_are_none(value: object, unit: str | None) -> None:
    assert to_micrometres(value, unit) is None


def test_imagej_needs_a_length_unit() -> None:
    assert imagej_pixel_size({"unit": "pixel"}, 1.0) is None
    assert imagej_pixel_size({}, 2.0) is None
    assert imagej_pixel_size({"unit": "nm"}, 0.01) == pytest.approx(0.1)


def test_plain_tiff_ignores_unitless_and_display_resolutions() -> None:
    assert plain_tiff_pixel_size(20_000.0, 1) is None  # ResolutionUnit NONE
    assert plain_tiff_pixel_size(300.0, 2) is None  # 300 dpi print setting
    assert plain_tiff_pixel_size(1201.0, 2) == pytest.approx(25_400 / 1201)
    assert plain_tiff_pixel_size(0.0, 3) is None
