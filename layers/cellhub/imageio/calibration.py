"""Physical pixel size in micrometres, from the calibrations TIFF files carry.

Sources, in the order ``cellhub.imageio.tiff`` tries them (the first that yields a size wins):

1. OME-XML ``Pixels@PhysicalSizeX`` with ``PhysicalSizeXUnit`` (default µm), see ``ome.py``.
2. ImageJ: ``unit=`` in the ImageJ description (``micron``, ``µm``, ``um``, ``nm``, ``mm``,
   ``cm``, ``m``, ``inch`` ...) with ``XResolution`` as pixels per that unit.
3. Plain TIFF: ``XResolution`` with ``ResolutionUnit`` inch (2) or centimetre (3). Values of
   1200 pixels per inch or less (a pixel of 21.2 µm or more) are ignored: they are the print or
   screen settings generic software writes (72, 96, 300 dpi), not a microscope calibration.

PNG, JPEG and BMP report no pixel size: their density fields (pHYs, JFIF, BMP ppm) are
display settings in practice. Only the X size is reported; pixels are assumed square.
"""

from __future__ import annotations

import math
from typing import Any

# Micrometres per unit. Keys are lower-cased; the micro sign (U+00B5) and Greek mu (U+03BC)
# both appear in the wild, as do ImageJ's ASCII spellings.
MICROMETRES_PER_UNIT: dict[str, float] = {
    "m": 1e6,
    "dm": 1e5,
    "cm": 1e4,
    "mm": 1e3,
    "µm": 1.0,
    "μm": 1.0,
    "um": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "nm": 1e-3,
    "pm": 1e-6,
    "å": 1e-4,
    "angstrom": 1e-4,
    "in": 25_400.0,
    "inch": 25_400.0,
}

TIFF_RESOLUTION_UNITS = {2: "inch", 3: "cm"}
# Coarsest plain-TIFF calibration believed: 1200 dpi. See the module docstring.
MAX_PLAIN_TIFF_PIXEL_UM = 25_400.0 / 1200.0


def to_micrometres(value: Any, unit: str | None) -> float | None:
    """``value`` in ``unit`` as µm; None for an unknown unit or a non-positive/invalid value."""
    scale = unit_scale(unit)
    try:
        size = float(value)
    except (TypeError, ValueError):
        return None
    if scale is None or not math.isfinite(size) or size <= 0.0:
        return None
    return size * scale


def unit_scale(unit: str | None) -> float | None:
    """Micrometres per ``unit``; None if the unit is not a length we know."""
    if unit is None:
        return None
    # ImageJ writes the micro sign as a Java escape in its description.
    key = unit.strip().replace("\\u00B5", "µ").replace("\\u00b5", "µ").lower()
    return MICROMETRES_PER_UNIT.get(key)


def pixel_size_from_resolution(pixels_per_unit: float, unit: str | None) -> float | None:
    """The pixel size in µm given ``pixels_per_unit`` of ``unit`` (TIFF XResolution)."""
    if not math.isfinite(pixels_per_unit) or pixels_per_unit <= 0.0:
        return None
    return to_micrometres(1.0 / pixels_per_unit, unit)


def imagej_pixel_size(imagej: dict[str, Any] | None, x_resolution: float) -> float | None:
    """Pixel size from ImageJ's ``unit`` and the page's XResolution; None if uncalibrated."""
    if not imagej:
        return None
    unit = imagej.get("unit")
    if not isinstance(unit, str):
        return None
    return pixel_size_from_resolution(x_resolution, unit)


def plain_tiff_pixel_size(x_resolution: float, resolution_unit: int) -> float | None:
    """Pixel size from XResolution/ResolutionUnit when the unit is inch or cm and plausible."""
    unit = TIFF_RESOLUTION_UNITS.get(resolution_unit)
    if unit is None:
        return None
    size = pixel_size_from_resolution(x_resolution, unit)
    if size is None or size >= MAX_PLAIN_TIFF_PIXEL_UM:
        return None
    return size
