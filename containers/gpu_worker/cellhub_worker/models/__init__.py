"""Segmenters the worker can load by name; each implements :class:`cellhub.segmenter.Segmenter`.

Only the light, weight-free models are imported here, so importing this package never pulls
in torch.
"""

from cellhub_worker.models.classical import ClassicalSegmenter

__all__ = ["ClassicalSegmenter"]
