"""The batch service: one bad image or one crashing stage never stops the run."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from cellhub.errors import InvalidParameter
from cellhub.exporters.base import DirectorySink, ExportContext
from cellhub.segmenter import Instances
from cellhub.services.batch_segmentation import run_batch
from cellhub.services.image_discovery import discover_images
from cellhub.services.image_segmentation import SegmentOptions


class SquareSegmenter:
    """Finds one 10 x 10 square per image; raises on images whose top-left pixel is 7."""

    name = "squares"
    version = "test"

    def segment(self, pixels: Any, *, threshold: float | None = None) -> Instances:
        if pixels[0, 0, 0] == 7:
            raise RuntimeError("boom")
        labels = np.zeros(pixels.shape[:2], np.int32)
        labels[5:15, 5:15] = 1
        return Instances(labels, {1: 0.9})


def write_image(path: Path, corner: int = 0) -> None:
    pixels = np.full((32, 32), 20, np.uint8)
    pixels[0, 0] = corner
    Image.fromarray(pixels).save(path)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_crash_in_one_image_fails_that_image_only(tmp_path: Path, workers: int) -> None:
    images = tmp_path / "in"
    images.mkdir()
    for index in range(5):
        write_image(images / f"img{index}.png", corner=7 if index == 2 else 0)
    report = run_batch(
        discover_images([images]),
        functools.partial(SquareSegmenter),
        SegmentOptions(),
        formats=["csv", "json"],
        sink=DirectorySink(tmp_path / "out"),
        context=ExportContext(),
        workers=workers,
    )
    assert report.images_processed == 4 and report.objects == 4
    assert [(f.name, f.code) for f in report.failures] == [("img2.png", "processing_failed")]
    assert "RuntimeError: boom" in report.failures[0].reason
    rows = (tmp_path / "out" / "csv" / "objects.csv").read_text().splitlines()
    assert len(rows) == 1 + 4
    area_column = rows[0].split(",").index("area_px2")
    assert float(rows[1].split(",")[area_column]) == pytest.approx(100, rel=0.01)
    assert report.model == "squares test"


def test_scores_and_class_reach_the_polygons(tmp_path: Path) -> None:
    write_image(tmp_path / "one.png")
    report = run_batch(
        discover_images([tmp_path / "one.png"]),
        SquareSegmenter,
        SegmentOptions(class_name="nucleus"),
        formats=["csv"],
        sink=DirectorySink(tmp_path / "out"),
        context=ExportContext(class_names=("nucleus",)),
    )
    assert report.failures == []
    assert ",nucleus," in (tmp_path / "out" / "csv" / "objects.csv").read_text()


@pytest.mark.parametrize(
    "options",
    [{"threshold": 0.0}, {"threshold": 1.0}, {"pixel_size_um": -1.0}, {"min_area_px": -2}],
)
def test_invalid_options_are_rejected_up_front(options: dict[str, float]) -> None:
    with pytest.raises(InvalidParameter):
        SegmentOptions(**options)  # type: ignore[arg-type]
