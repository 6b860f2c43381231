"""CSV and Excel exports read back with the csv module and openpyxl."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from cellhub.exporters.base import DirectorySink, ExportContext
from cellhub.exporters.column_docs import describe_column
from cellhub.exporters.excel import ExcelExporter

from .conftest import SinkFactory, disc, make_result, run_export, sample_results


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize(
    ("pixel_size", "area", "length"),
    [(None, "area_px2", "perimeter_px"), (0.5, "area_um2", "perimeter_um")],
)
def test_csv_tables_carry_units_in_headers(tmp_path, pixel_size, area, length) -> None:
    context = ExportContext(pixel_size_um=pixel_size)
    run_export(["csv"], sample_results(pixel_size), DirectorySink(tmp_path), context)
    objects = _csv(tmp_path / "csv/objects.csv")
    header = objects[0]
    assert header[:3] == ["image", "object_id", "class"]
    assert area in header and length in header
    assert [row[0] for row in objects[1:]] == ["plate1/A01.tif", "plate1/A01.tif", "B02.png"]
    first = dict(zip(header, objects[1], strict=True))
    expected_area = (40 * 40 - 16 * 16) * (pixel_size or 1) ** 2
    assert float(first[area]) == pytest.approx(expected_area)
    assert first["feret_max_angle"] == ""  # NaN is an empty cell
    images = _csv(tmp_path / "csv/images.csv")
    assert images[0][:4] == ["image", "width", "height", "object_count"]
    assert f"total_{area}" in images[0]
    assert [r[0] for r in images[1:]] == ["plate1/A01.tif", "B02.png", "plate1/empty.tif"]


def test_csv_metadata_lists_settings_and_column_units(tmp_path) -> None:
    context = ExportContext(pixel_size_um=0.25, model="unet", model_version="2")
    run_export(["csv", "coco"], sample_results(0.25), DirectorySink(tmp_path), context)
    rows = _csv(tmp_path / "csv/metadata.csv")
    settings = {r[0]: r[1] for r in rows if len(r) == 2}
    assert settings["model"] == "unet"
    assert settings["pixel size (µm per pixel)"] == "0.25"
    assert settings["formats"] == "csv, coco"
    units = {(r[0], r[1]): r[2] for r in rows if len(r) == 4}
    assert units[("objects", "area_um2")] == "µm²"
    assert units[("objects", "perimeter_um")] == "µm"
    assert units[("images", "total_area_um2")] == "µm²"


def test_columns_seen_later_are_added_and_earlier_rows_left_empty(tmp_path) -> None:
    first = make_result("a.tif", [disc(1, 20, 20, 5)])
    second = make_result("b.tif", [disc(1, 20, 20, 5)])
    second.metrics[0]["mean_intensity_c1"] = 12.5
    run_export(["csv"], [first, second], DirectorySink(tmp_path), ExportContext())
    header, row_a, row_b = _csv(tmp_path / "csv/objects.csv")
    assert header[-1] == "mean_intensity_c1"
    assert row_a[-1] == "" and row_b[-1] == "12.5"


def test_excel_workbook_sheets_types_and_layout(sink_factory: SinkFactory) -> None:
    sink, root_of = sink_factory()
    run_export(["excel"], sample_results(), sink, ExportContext(threshold=0.4))
    workbook = load_workbook(root_of() / "excel/measurements.xlsx")
    assert workbook.sheetnames == ["objects", "images", "metadata"]
    objects = workbook["objects"]
    header = [c.value for c in objects[1]]
    assert header[:3] == ["image", "object_id", "class"] and "area_px2" in header
    assert all(c.font.b for c in objects[1])
    assert objects.freeze_panes == "A2"
    for index, name in enumerate(header, start=1):  # widths follow the headers
        assert objects.column_dimensions[get_column_letter(index)].width >= len(name)
    row = {h: c.value for h, c in zip(header, objects[2], strict=True)}
    assert row["area_px2"] == pytest.approx(40 * 40 - 16 * 16)  # a number, not text
    assert isinstance(row["circularity"], float) and isinstance(row["object_id"], int)
    assert row["feret_max_angle"] is None
    assert objects.max_row == 4
    images = workbook["images"]
    assert [c.value for c in images[1]][:4] == ["image", "width", "height", "object_count"]
    assert images.cell(row=4, column=1).value == "plate1/empty.tif"
    assert images.cell(row=4, column=4).value == 0
    metadata = {r[0]: r[1] for r in workbook["metadata"].iter_rows(values_only=True) if r[0]}
    assert metadata["threshold"] == 0.4
    assert metadata["length unit"] == "px"
    assert metadata["software version"]


def test_excel_continues_on_numbered_sheets_past_the_row_limit(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(ExcelExporter, "max_rows", 3)  # header + 2 rows per sheet
    results = [
        make_result(f"{i}.tif", [disc(j + 1, 20 + 10 * j, 20, 4) for j in range(2)])
        for i in range(3)
    ]
    warnings = run_export(["excel"], results, DirectorySink(tmp_path), ExportContext())
    workbook = load_workbook(tmp_path / "excel/measurements.xlsx")
    assert workbook.sheetnames == [
        "objects",
        "objects (2)",
        "objects (3)",
        "images",
        "images (2)",
        "metadata",
    ]
    rows = [
        r
        for name in ("objects", "objects (2)", "objects (3)")
        for r in workbook[name].iter_rows(min_row=2, values_only=True)
    ]
    assert [r[0] for r in rows] == ["0.tif", "0.tif", "1.tif", "1.tif", "2.tif", "2.tif"]
    assert workbook["objects (3)"]["A1"].value == "image"
    assert len(warnings) == 1 and "row limit" in warnings[0]


@pytest.mark.parametrize(
    ("column", "unit", "words"),
    [
        ("area_um2", "µm²", "shoelace"),
        ("feret_min_angle", "degrees [0, 180)", "feret_min"),
        ("perimeter_px_median", "px", "median"),
        ("mean_intensity_c2", "native pixel value", "channel 2"),
        ("mean_intensity_c0_std", "native pixel value", "standard deviation"),
        ("object_count", "", "number of objects"),
    ],
)
def test_column_descriptions(column: str, unit: str, words: str) -> None:
    got_unit, definition = describe_column(column)
    assert got_unit == unit and words in definition


def test_unknown_columns_have_no_description() -> None:
    assert describe_column("something_else") == ("", "")
    assert not math.isnan(len(describe_column("area_px2")[1]))
