"""Shared builders for exporter tests: hand-made polygons, metric rows, results and sinks.

Metric rows are built by hand (shoelace area, a few columns) so these tests exercise the
exporters alone, not the metrics stage.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cellhub.exporters import open_exporters
from cellhub.exporters.base import DirectorySink, ExportContext, ExportSink, ZipSink
from cellhub.geometry.polygon import Polygon, signed_area
from cellhub.results import ImageInfo, ImageResult


def square(x0: float, y0: float, size: float) -> np.ndarray:
    """A square ring with positive (exterior) orientation."""
    return np.array([[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size]], float)


def circle(cx: float, cy: float, r: float, n: int = 64) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)])


def square_with_hole(
    object_id: int, x0: float, y0: float, size: float, hole: float, class_name: str = "object"
) -> Polygon:
    """A ``size`` square with a centred ``hole``-sized square hole (hole ring reversed)."""
    inset = (size - hole) / 2
    return Polygon(
        exterior=square(x0, y0, size),
        holes=(square(x0 + inset, y0 + inset, hole)[::-1].copy(),),
        id=object_id,
        class_name=class_name,
    )


def disc(object_id: int, cx: float, cy: float, r: float, score: float | None = None) -> Polygon:
    return Polygon(exterior=circle(cx, cy, r), id=object_id, score=score)


def net_area(polygon: Polygon) -> float:
    return signed_area(polygon.exterior) + sum(signed_area(h) for h in polygon.holes)


def metric_row(polygon: Polygon, pixel_size: float | None = None) -> dict[str, Any]:
    """A hand-made metric row with unit-suffixed names, as ``measure`` would name them."""
    s = pixel_size or 1.0
    unit = "um" if pixel_size else "px"
    area = net_area(polygon)
    closed = np.vstack([polygon.exterior, polygon.exterior[:1]])
    perimeter = float(np.hypot(*np.diff(closed, axis=0).T).sum())
    return {
        "object_id": polygon.id,
        "class": polygon.class_name,
        f"area_{unit}2": area * s * s,
        f"perimeter_{unit}": perimeter * s,
        "hole_count": len(polygon.holes),
        "circularity": 4 * math.pi * area / perimeter**2,
        "feret_max_angle": math.nan,  # a NaN cell must come out empty / dropped
    }


def make_result(
    name: str,
    polygons: Sequence[Polygon],
    *,
    width: int = 120,
    height: int = 100,
    pixel_size: float | None = None,
    pixels: np.ndarray | None = None,
) -> ImageResult:
    rows = [metric_row(p, pixel_size) for p in polygons]
    unit = "um" if pixel_size else "px"
    summary = {
        "object_count": len(rows),
        f"total_area_{unit}2": sum(r[f"area_{unit}2"] for r in rows),
        "area_fraction": 0.1,
        "circularity_mean": math.nan
        if not rows
        else float(np.mean([r["circularity"] for r in rows])),
    }
    info = ImageInfo(name=name, width=width, height=height, channels=1, dtype="uint8")
    return ImageResult(
        image=info,
        polygons=list(polygons),
        metrics=rows,
        summary=summary,
        pixels=pixels,
        model="classical",
        model_version="1.0",
        threshold=0.5,
    )


def sample_results(pixel_size: float | None = None) -> list[ImageResult]:
    """Three images: holes and discs in a sub-folder, a second image, and an empty image."""
    return [
        make_result(
            "plate1/A01.tif",
            [square_with_hole(1, 10, 10, 40, 16), disc(2, 85, 60, 15, score=0.9)],
            pixel_size=pixel_size,
        ),
        make_result("B02.png", [disc(7, 30, 30, 10)], pixel_size=pixel_size),
        make_result("plate1/empty.tif", [], pixel_size=pixel_size),
    ]


def run_export(
    formats: Sequence[str], results: Iterable[ImageResult], sink: ExportSink, context: ExportContext
) -> list[str]:
    exporters = open_exporters(formats, sink, context)
    for result in results:
        for exporter in exporters:
            exporter.add(result)
    warnings = [w for exporter in exporters for w in exporter.close()]
    sink.close()
    return warnings


SinkFactory = Callable[[], tuple[ExportSink, Callable[[], Path]]]


@pytest.fixture(params=["directory", "zip"])
def sink_factory(request: pytest.FixtureRequest, tmp_path: Path) -> SinkFactory:
    """Makes a sink and a function that, once the sink is closed, gives a folder to read."""

    def make() -> tuple[ExportSink, Callable[[], Path]]:
        if request.param == "directory":
            root = tmp_path / "out"
            return DirectorySink(root), lambda: root
        archive = tmp_path / "export.zip"
        stream = archive.open("wb")

        def extracted() -> Path:
            stream.close()
            target = tmp_path / "unzipped"
            with zipfile.ZipFile(archive) as zf:
                assert zf.testzip() is None
                zf.extractall(target)
            return target

        return ZipSink(stream), extracted

    return make


@pytest.fixture
def context() -> ExportContext:
    return ExportContext(model="classical", model_version="1.0", threshold=0.5)
