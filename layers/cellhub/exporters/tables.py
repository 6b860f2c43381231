"""The tabular view of a run shared by the CSV and Excel exporters.

Two tables: ``objects`` (one row per object: ``image`` then the metric row's columns, whose
names carry their units) and ``images`` (one row per image: name, width, height, then the
summary's keys), plus the run's metadata. Rows are spooled to disk as images arrive; the
header is the union of every key seen, in order of first appearance, so a run mixing 1- and
3-channel images still gets every intensity column (missing cells stay empty).
"""

from __future__ import annotations

import math
import numbers
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from cellhub.exporters.base import ExportContext, Exporter, ExportSink
from cellhub.exporters.column_docs import describe_column
from cellhub.exporters.spool import JsonLinesSpool
from cellhub.results import ImageResult

Cell = str | int | float | bool | None

OBJECT_LEADING_COLUMNS: tuple[str, ...] = ("image", "object_id", "class")
IMAGE_LEADING_COLUMNS: tuple[str, ...] = ("image", "width", "height")


class TableSpool:
    """Rows keyed by column name, stored on disk, replayed under the final header."""

    def __init__(self, leading: Sequence[str]) -> None:
        self._columns: dict[str, None] = dict.fromkeys(leading)
        self._spool = JsonLinesSpool()

    @property
    def header(self) -> list[str]:
        return list(self._columns)

    @property
    def row_count(self) -> int:
        return self._spool.count

    def append(self, row: Mapping[str, Any]) -> None:
        for key in row:
            self._columns.setdefault(key)
        # Stored in the column order known now; later columns only ever append to the end.
        self._spool.append([plain_cell(row.get(column)) for column in self._columns])

    def rows(self) -> Iterator[list[Cell]]:
        width = len(self._columns)
        for values in self._spool:
            yield values + [None] * (width - len(values))

    def close(self) -> None:
        self._spool.close()


class RunTables:
    """The objects and images tables of one run."""

    def __init__(self) -> None:
        self.objects = TableSpool(OBJECT_LEADING_COLUMNS)
        self.images = TableSpool(IMAGE_LEADING_COLUMNS)

    def add(self, result: ImageResult) -> None:
        name = result.image.name
        if result.metrics:
            for metric_row in result.metrics:
                self.objects.append({"image": name, **metric_row})
        else:
            # Without measurements the objects are still listed, so counts can be checked.
            for polygon in result.polygons:
                self.objects.append(
                    {"image": name, "object_id": polygon.id, "class": polygon.class_name}
                )
        info = result.image
        self.images.append(
            {"image": name, "width": info.width, "height": info.height, **result.summary}
        )

    def close(self) -> None:
        self.objects.close()
        self.images.close()


def plain_cell(value: Any) -> Cell:
    """A value as a spreadsheet cell: numbers stay numbers (NaN kept), the rest becomes text."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)


def is_missing(value: Cell) -> bool:
    """NaN, infinities and None have no spreadsheet number; they are written as empty cells."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def metadata_rows(context: ExportContext) -> list[tuple[str, Cell]]:
    """``(field, value)`` pairs describing how the run was produced."""
    return [
        ("model", context.model),
        ("model version", context.model_version),
        ("threshold", context.threshold),
        ("pixel size (µm per pixel)", context.pixel_size_um),
        ("length unit", "µm" if context.pixel_size_um else "px"),
        ("software", "Cell Segmentation Hub"),
        ("software version", context.software_version),
        ("created", context.created_at),
        ("formats", ", ".join(context.formats)),
    ]


def column_definition_rows(tables: RunTables) -> list[tuple[str, str, str, str]]:
    """``(table, column, unit, definition)`` for every column the run wrote."""
    rows = []
    for table_name, table in (("objects", tables.objects), ("images", tables.images)):
        for column in table.header:
            unit, definition = describe_column(column)
            rows.append((table_name, column, unit, definition))
    return rows


class TableExporter(Exporter):
    """Spools the run's tables while images arrive; ``write_tables`` writes them at close."""

    def __init__(self, sink: ExportSink, context: ExportContext) -> None:
        super().__init__(sink, context)
        self._tables = RunTables()

    def add(self, result: ImageResult) -> None:
        self._tables.add(result)

    def close(self) -> list[str]:
        try:
            self.write_tables(self._tables)
        finally:
            self._tables.close()
        return self.warnings

    @abstractmethod
    def write_tables(self, tables: RunTables) -> None:
        """Write the finished tables through ``self.sink``."""
