"""Export formats: the registry of exporters by format name, and opening them for a run.

Every exporter streams (one image at a time, see ``base``) and writes under its own folder of
the sink:

    coco      coco/annotations.json
    yolo      yolo/labels/<stem>.txt, yolo/data.yaml
    excel     excel/measurements.xlsx
    csv       csv/objects.csv, csv/images.csv, csv/metadata.csv
    geojson   geojson/<stem>.geojson
    masks     masks/<stem>.png (or .tif past 65,535 objects)
    imagej    imagej/<stem>.zip
    overlay   overlay/<stem>.png
    json      segmentations/<stem>.json.gz

``<stem>`` is the image name with its sub-folders and without its extension.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cellhub.errors import InvalidParameter
from cellhub.exporters.base import ExportContext, Exporter, ExportSink
from cellhub.exporters.coco import CocoExporter
from cellhub.exporters.csv_tables import CsvExporter
from cellhub.exporters.excel import ExcelExporter
from cellhub.exporters.geojson import GeoJsonExporter
from cellhub.exporters.imagej import ImageJExporter
from cellhub.exporters.manifest import SegmentationDocumentExporter
from cellhub.exporters.masks import LabelMaskExporter
from cellhub.exporters.overlay import OverlayExporter
from cellhub.exporters.yolo import YoloExporter

EXPORTERS: dict[str, type[Exporter]] = {
    exporter.format_name: exporter
    for exporter in (
        CocoExporter,
        YoloExporter,
        ExcelExporter,
        CsvExporter,
        GeoJsonExporter,
        LabelMaskExporter,
        ImageJExporter,
        OverlayExporter,
        SegmentationDocumentExporter,
    )
}


def open_exporters(
    formats: Sequence[str], sink: ExportSink, context: ExportContext
) -> list[Exporter]:
    """One exporter per requested format (duplicates ignored, order kept), sharing ``sink``.

    Raises ``InvalidParameter`` naming the known formats when a format is unknown; nothing is
    opened then, so a typo never leaves a half-started export behind.
    """
    wanted = list(dict.fromkeys(f.strip().lower() for f in formats))
    unknown = [f for f in wanted if f not in EXPORTERS]
    if unknown:
        raise InvalidParameter(
            f"unknown export format(s): {', '.join(unknown)}; "
            f"known formats: {', '.join(EXPORTERS)}",
            parameter="formats",
            unknown=unknown,
            known=list(EXPORTERS),
        )
    run_context = dataclasses.replace(context, formats=tuple(wanted))
    return [EXPORTERS[name](sink, run_context) for name in wanted]


__all__ = ["EXPORTERS", "ExportContext", "ExportSink", "Exporter", "open_exporters"]
