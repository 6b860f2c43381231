"""Polygons with holes: the Polygon type, tracing label images into polygons and back."""

from cellhub.geometry.polygon import Polygon

__all__ = ["Polygon"]
