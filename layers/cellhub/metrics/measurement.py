"""Per-object metric rows: the ``measure`` entry point of the morphometrics stage.

Rows are what exporters and the API consume: one plain dict per polygon, keys in export
order (``columns.metric_columns``), values Python scalars, lengths and areas already in the
unit their column name states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.geometry.polygon import Polygon
from cellhub.metrics.columns import (
    ID_COLUMNS,
    INTENSITY_STATS,
    SHAPE_METRICS,
    Kind,
    column_name,
    intensity_column,
    scale_factor,
)
from cellhub.metrics.intensity import intensity_stats
from cellhub.metrics.shape import shape_metrics


def measure(
    polygons: Sequence[Polygon],
    image: NDArray[Any] | None = None,
    pixel_size: float | None = None,
) -> list[dict[str, Any]]:
    """One metric row per polygon, in the order given.

    ``polygons`` are in original-image pixel coordinates ``(x, y)``, y down. ``image``, when
    given, is the original ``(Y, X)`` or ``(Y, X, C)`` array in its native dtype; it adds
    ``{mean,std,min,max,integrated}_intensity_c{k}`` for each channel ``k``, over the pixels
    whose centres lie inside the region net of holes (NaN when none lies inside the image).
    ``pixel_size`` (µm per pixel) switches lengths and areas to µm / µm² and their column
    suffixes from ``_px`` / ``_px2`` to ``_um`` / ``_um2``.

    Keys: ``object_id``, ``class``, every shape metric, then the intensity columns. Values are
    Python floats, except ``object_id`` and ``hole_count`` (int) and ``class`` (str).
    """
    metrics = shape_metrics(polygons)
    columns: dict[str, list[Any]] = {
        ID_COLUMNS[0]: [p.id for p in polygons],
        ID_COLUMNS[1]: [p.class_name for p in polygons],
    }
    for name, values in metrics.items():
        kind = SHAPE_METRICS[name]
        scaled = values * scale_factor(kind, pixel_size)
        as_list = scaled.astype(np.int64).tolist() if kind is Kind.COUNT else scaled.tolist()
        columns[column_name(name, pixel_size)] = as_list
    if image is not None:
        stats = intensity_stats(polygons, image)
        for channel in range(stats.shape[2]):
            for s, stat in enumerate(INTENSITY_STATS):
                columns[intensity_column(stat, channel)] = stats[:, s, channel].tolist()
    keys = list(columns)
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]
