"""CSV export: ``csv/objects.csv``, ``csv/images.csv`` and ``csv/metadata.csv``.

UTF-8 with a header row, comma-separated, ``\\r\\n`` line ends (RFC 4180, what spreadsheet
programs expect). Numbers are written with full precision (``repr``); NaN and infinities
are empty cells, so every reader sees "no value" rather than a string it cannot parse.
``metadata.csv`` lists the run's settings, then one row per column with its unit and
definition.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import ClassVar

from cellhub.exporters.tables import (
    Cell,
    RunTables,
    TableExporter,
    column_definition_rows,
    is_missing,
    metadata_rows,
)

_FLUSH_BYTES = 1 << 20


class CsvExporter(TableExporter):
    """Spools rows while images arrive; writes the three files at close."""

    format_name: ClassVar[str] = "csv"

    def write_tables(self, tables: RunTables) -> None:
        self._write("csv/objects.csv", tables.objects.header, tables.objects.rows())
        self._write("csv/images.csv", tables.images.header, tables.images.rows())
        settings: list[Sequence[Cell]] = [
            [field, value] for field, value in metadata_rows(self.context)
        ]
        columns: list[Sequence[Cell]] = [["table", "column", "unit", "definition"]]
        columns += [list(row) for row in column_definition_rows(tables)]
        self._write("csv/metadata.csv", ["field", "value"], [*settings, [], *columns])

    def _write(self, path: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
        with self.sink.open(path) as out:
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(header)
            for row in rows:
                writer.writerow(["" if is_missing(v) else v for v in row])
                if text.tell() >= _FLUSH_BYTES:
                    out.write(text.getvalue().encode("utf-8"))
                    text.seek(0)
                    text.truncate()
            out.write(text.getvalue().encode("utf-8"))
