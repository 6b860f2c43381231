"""Morphometrics stage: per-object shape and intensity metrics and per-image summaries.

``measure(polygons, image=None, pixel_size=None)`` gives one row per polygon and
``summarize(rows, image_width=..., image_height=..., pixel_size=None)`` the image's summary;
names, units and definitions are those of METRICS.md (see ``cellhub.metrics.columns``).
"""

from cellhub.metrics.measurement import measure
from cellhub.metrics.summary import summarize

__all__ = ["measure", "summarize"]
