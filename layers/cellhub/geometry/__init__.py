"""Polygons with holes: the Polygon type, tracing label images into polygons and back."""

from cellhub.geometry.polygon import Polygon
from cellhub.geometry.raster import labels_from_polygons, rasterize_polygon
from cellhub.geometry.tracing import DEFAULT_TOLERANCE, polygons_from_labels

__all__ = [
    "DEFAULT_TOLERANCE",
    "Polygon",
    "labels_from_polygons",
    "polygons_from_labels",
    "rasterize_polygon",
]
