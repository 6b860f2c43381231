"""OME-XML metadata of an OME-TIFF: physical pixel size and channel names of the first image.

Only ``Pixels@PhysicalSizeX`` / ``PhysicalSizeXUnit`` (the schema's default unit is µm) and
``Channel@Name`` are read; the pixel layout itself comes from tifffile's series, which already
interprets ``DimensionOrder`` and ``TiffData``. Elements are matched by local name so every
OME schema version (2008 .. 2016-06) reads the same.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from cellhub.imageio.calibration import to_micrometres

OME_DEFAULT_LENGTH_UNIT = "µm"


@dataclass(frozen=True, slots=True)
class OmeFacts:
    """What the OME-XML says about the first image; empty when it says nothing usable."""

    pixel_size_um: float | None = None
    channel_names: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def read_ome(xml: str | None) -> OmeFacts:
    """Pixel size (µm) and channel names of the first ``Image`` in ``xml``.

    Malformed XML yields empty facts with a warning rather than an error: the pixels are still
    readable, only the calibration is lost, and the caller will say so.
    """
    if not xml:
        return OmeFacts()
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        return OmeFacts(warnings=(f"OME-XML metadata is malformed and was ignored ({exc})",))
    pixels = _first(root, "Pixels")
    if pixels is None:
        return OmeFacts()
    warnings: list[str] = []
    pixel_size = None
    size_x = pixels.get("PhysicalSizeX")
    if size_x is not None:
        unit = pixels.get("PhysicalSizeXUnit", OME_DEFAULT_LENGTH_UNIT)
        pixel_size = to_micrometres(size_x, unit)
        if pixel_size is None:
            warnings.append(
                f"ignored OME PhysicalSizeX={size_x!r} {unit!r}: not a positive length in a "
                "unit we convert"
            )
    names = tuple(
        channel.get("Name") or f"channel {index}"
        for index, channel in enumerate(_children(pixels, "Channel"))
    )
    return OmeFacts(pixel_size_um=pixel_size, channel_names=names, warnings=tuple(warnings))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _first(root: ET.Element, local_name: str) -> ET.Element | None:
    """The first element named ``local_name`` in document order, inside the first Image."""
    image = next((e for e in root.iter() if _local(e.tag) == "Image"), None)
    if image is None:
        return None
    return next((e for e in image.iter() if _local(e.tag) == local_name), None)


def _children(parent: ET.Element, local_name: str) -> list[ET.Element]:
    return [child for child in parent if _local(child.tag) == local_name]
