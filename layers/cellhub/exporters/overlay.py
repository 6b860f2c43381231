"""Overlay previews: ``overlay/<stem>.png``, the image with every object's outline drawn on it.

Colours: each object's exterior is a solid line in its own colour (``display.object_colour``
of its id, so it matches across exports); its holes are *dashed* lines in the same colour,
which tells a hole from a neighbouring object at a glance. With
``ExportContext.number_objects`` the object id is written at the exterior's centroid.
Outlines are drawn on pixel centres half a pixel inside our corner-origin coordinates
(Pillow addresses pixel centres), and grow thicker on large images so they stay visible.
See ``display`` for how the image itself becomes 8-bit RGB.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from cellhub.exporters.base import ExportContext, Exporter, ExportSink, ImagePaths
from cellhub.exporters.display import display_rgb, object_colour
from cellhub.geometry.polygon import Polygon, Ring, signed_area
from cellhub.results import ImageResult, empty_pixels


class OverlayExporter(Exporter):
    """One PNG per image, drawn and written as the image arrives."""

    format_name: ClassVar[str] = "overlay"

    def __init__(self, sink: ExportSink, context: ExportContext) -> None:
        super().__init__(sink, context)
        self._paths = ImagePaths("overlay", ".png")

    def add(self, result: ImageResult) -> None:
        pixels = result.pixels if result.pixels is not None else empty_pixels(result.image)
        canvas = Image.fromarray(display_rgb(pixels))  # (Y, X, 3) uint8 is RGB
        draw_outlines(canvas, result.polygons, numbered=self.context.number_objects)
        with self.sink.open(self._paths.claim(result.image.name)) as out:
            canvas.save(out, format="PNG", compress_level=4)


def draw_outlines(canvas: Image.Image, polygons: Sequence[Polygon], *, numbered: bool) -> None:
    """Draws exteriors solid and holes dashed, each object in its colour, onto ``canvas``."""
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(min(canvas.size) / 600))
    font = _font(size=max(10, 6 * width))
    for polygon in polygons:
        colour = object_colour(polygon.id)
        draw.line(_closed_points(polygon.exterior), fill=colour, width=width, joint="curve")
        for hole in polygon.holes:
            for dash in dashes(hole, on=4.0 * width, off=3.0 * width):
                draw.line(_points(dash), fill=colour, width=width)
    if numbered:
        for polygon in polygons:
            x, y = _label_point(polygon.exterior)
            draw.text(
                (x, y),
                str(polygon.id),
                fill=object_colour(polygon.id),
                font=font,
                anchor="mm",
                stroke_width=1,
                stroke_fill=(0, 0, 0),
            )


def dashes(ring: Ring, *, on: float, off: float) -> Iterator[NDArray[np.float64]]:
    """Pieces of the closed ``ring`` that are ``on`` long, separated by gaps ``off`` long."""
    closed = np.vstack([ring, ring[:1]])
    along = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(closed, axis=0).T))))
    total = float(along[-1])
    for start in np.arange(0.0, total, on + off):
        end = min(start + on, total)
        inner = along[(along > start) & (along < end)]
        t = np.concatenate(([start], inner, [end]))
        yield np.column_stack(
            [np.interp(t, along, closed[:, 0]), np.interp(t, along, closed[:, 1])]
        )


def _closed_points(ring: Ring) -> list[tuple[float, float]]:
    points = _points(ring)
    return [*points, points[0]]


def _points(ring: NDArray[np.float64]) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in ring - 0.5]


def _label_point(ring: Ring) -> tuple[float, float]:
    """Area centroid of the ring (vertex mean if the ring is degenerate), in Pillow's frame."""
    area = signed_area(ring)
    if abs(area) < 1e-9:
        x, y = ring.mean(axis=0)
        return float(x) - 0.5, float(y) - 0.5
    x, y = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    cx = float(np.sum((x + x1) * cross) / (6.0 * area))
    cy = float(np.sum((y + y1) * cross) / (6.0 * area))
    return cx - 0.5, cy - 0.5


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError):  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()
