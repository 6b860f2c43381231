"""Excel export: ``excel/measurements.xlsx`` with sheets objects, images and metadata.

openpyxl's write-only mode streams each sheet to a temporary file, so memory does not grow
with the number of rows. Write-only sheets cannot measure their contents, so column widths
come from the header lengths; the header row is bold and frozen. Numbers stay numbers; NaN
and infinities are empty cells. Past Excel's 1,048,576 rows a table continues on
``objects (2)``, ``objects (3)``, ... each with its own header.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cellhub.exporters.base import copy_stream
from cellhub.exporters.tables import (
    Cell,
    RunTables,
    TableExporter,
    TableSpool,
    column_definition_rows,
    is_missing,
    metadata_rows,
)

WORKBOOK_PATH = "excel/measurements.xlsx"
EXCEL_MAX_ROWS = 1_048_576
_BOLD = Font(bold=True)


class ExcelExporter(TableExporter):
    """Spools rows while images arrive; builds the workbook at close."""

    format_name: ClassVar[str] = "excel"
    max_rows: ClassVar[int] = EXCEL_MAX_ROWS  # rows per sheet, header included

    def write_tables(self, tables: RunTables) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch) / "measurements.xlsx"
            self._build(target)
            with target.open("rb") as built, self.sink.open(WORKBOOK_PATH) as out:
                copy_stream(built, out)

    def _build(self, target: Path) -> None:
        workbook = Workbook(write_only=True)
        sheets = self._write_table(workbook, "objects", self._tables.objects)
        sheets += self._write_table(workbook, "images", self._tables.images)
        if sheets > 2:
            self.warnings.append(
                f"excel: a table passed Excel's {self.max_rows:,}-row limit and continues on "
                "numbered sheets"
            )
        metadata = self._sheet(workbook, "metadata", ["field", "value"], widths=[28, 40, 18, 70])
        for field, value in metadata_rows(self.context):
            metadata.append([field, _cell(value)])
        metadata.append([])
        metadata.append([_bold(metadata, h) for h in ("table", "column", "unit", "definition")])
        for row in column_definition_rows(self._tables):
            metadata.append(list(row))
        workbook.save(target)

    def _write_table(self, workbook: Workbook, title: str, table: TableSpool) -> int:
        """Writes ``table`` over as many sheets as the row limit needs; returns that count."""
        header = table.header
        widths = [max(10, len(h) + 2) for h in header]
        sheet = self._sheet(workbook, title, header, widths=widths)
        sheet_count, rows_here = 1, 1
        for row in table.rows():
            if rows_here >= self.max_rows:
                sheet_count += 1
                sheet = self._sheet(workbook, f"{title} ({sheet_count})", header, widths=widths)
                rows_here = 1
            sheet.append([_cell(v) for v in row])
            rows_here += 1
        return sheet_count

    def _sheet(
        self, workbook: Workbook, title: str, header: Sequence[str], *, widths: Iterable[int]
    ) -> WriteOnlyWorksheet:
        sheet: WriteOnlyWorksheet = workbook.create_sheet(title)
        # Write-only sheets take layout settings only before the first row is appended.
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        sheet.append([_bold(sheet, h) for h in header])
        return sheet


def _bold(sheet: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = _BOLD
    return cell


def _cell(value: Cell) -> Any:
    return None if is_missing(value) else value
