"""The ``classical`` model: smoothing, Otsu threshold and distance watershed, no learned weights.

It needs nothing but the image, so it is the hub's default and the fallback wherever no net
has been trained for a sample type. Its steps:

1. Each channel of the ``(Y, X, C)`` pixels is scaled to ``[0, 1]`` by its 1st and 99.8th
   percentiles (:func:`normalize_percentile`); the channels are averaged into one grey image.
2. Gaussian smoothing with ``sigma = max(1, min(Y, X) / 2048)`` px. One pixel suppresses
   camera noise without filling the necks between touching nuclei (on 2048² synthetic nuclei
   sigma 2 lost 5-6 % of them to merges, sigma 1 under 2 %), so only frames larger than
   2048 px a side get proportionally more.
3. Otsu's threshold ``t`` on the smoothed grey image splits it into a bright and a dark class.
4. **Polarity rule.** The background is whichever class holds most of the image's outer
   frame (a band of ``ceil(2 * sigma)`` px): objects rarely fill the border of a field,
   while the background almost always does. If more than half of the frame is brighter
   than ``t`` (brightfield: dark spheroids on a lit background) the image is inverted, so
   objects are bright from here on (fluorescence needs no inversion).
5. **Threshold rule.** The smoothed, polarity-corrected intensity ``s`` becomes a
   pseudo-probability ``p`` by the piecewise-linear map sending 0 -> 0, ``t`` -> 0.5 and
   1 -> 1. Pixels with ``p > threshold`` are foreground, so ``threshold=None`` (read as
   0.5) is exactly Otsu's cut, and any other value in ``(0, 1)`` moves the cut from Otsu's
   level towards the darkest (``threshold`` -> 0) or brightest (-> 1) intensity. This keeps
   the meaning shared with the nets: 0.5 is the neutral choice, higher is stricter.
6. :func:`instances_from_probabilities` on ``p`` separates touching objects by the distance
   map, drops objects under the settings' minimum area, fills enclosed holes smaller than a
   disc of radius ``4 * sigma`` (texture, not biology) and keeps larger ones (lumina).
   Scores are the mean ``p`` over each object.

A blank or constant image has no contrast after normalisation and yields zero instances.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from cellhub.errors import InvalidParameter, UnsupportedPixelType
from cellhub.segmenter import Instances
from cellhub_worker.postprocess import instances_from_probabilities
from cellhub_worker.preprocess import (
    normalize_percentile,
    objects_are_dark,
    otsu_level,
    smoothing_sigma,
)
from cellhub_worker.registry import CLASSICAL, CLASSICAL_VERSION

# Below this spread of the normalised grey image there is nothing to segment: percentile
# normalisation maps a constant (or all-black) image to exactly 0.
_MIN_CONTRAST = 1e-3
_OTSU_LEVEL = 0.5


class ClassicalSegmenter:
    """Threshold-and-watershed segmenter for fluorescence nuclei and brightfield spheroids.

    Stateless and cheap to build; see the module docstring for the exact polarity and
    threshold rules.
    """

    name = CLASSICAL
    version = CLASSICAL_VERSION

    def segment(self, pixels: NDArray[Any], *, threshold: float | None = None) -> Instances:
        """Segment ``(Y, X, C)`` (or ``(Y, X)``) pixels of any real dtype.

        ``threshold``: ``None`` for Otsu's level, else a value in ``(0, 1)`` on the
        pseudo-probability scale where 0.5 is Otsu's level.
        Returns labels int32 ``(Y, X)``, 0 = background, 1..N = objects, and a score per id.
        """
        cut = _OTSU_LEVEL if threshold is None else threshold
        if not 0.0 < cut < 1.0:
            raise InvalidParameter(f"threshold must lie in (0, 1), got {threshold}")
        grey = grey_image(pixels)
        sigma = smoothing_sigma(grey.shape)
        smooth = np.asarray(cv2.GaussianBlur(grey, (0, 0), sigma), dtype=np.float32)
        if float(smooth.max()) - float(smooth.min()) < _MIN_CONTRAST:
            return Instances(labels=np.zeros(grey.shape, dtype=np.int32))
        otsu = otsu_level(smooth)
        if objects_are_dark(smooth, otsu, frame=math.ceil(2 * sigma)):
            smooth = np.float32(1.0) - smooth
            otsu = 1.0 - otsu
        return instances_from_probabilities(
            pseudo_probability(smooth, otsu),
            threshold=cut,
            fill_holes_below=round(math.pi * (4 * sigma) ** 2),
        )


def grey_image(pixels: NDArray[Any]) -> NDArray[np.float32]:
    """Percentile-normalise each channel and average them: float32 ``(Y, X)`` in ``[0, 1]``."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.ndim != 3 or 0 in pixels.shape:
        raise UnsupportedPixelType(f"expected (Y, X, C) pixels, got shape {pixels.shape}")
    if pixels.dtype == np.bool_:
        pixels = pixels.view(np.uint8)
    if not (np.issubdtype(pixels.dtype, np.integer) or np.issubdtype(pixels.dtype, np.floating)):
        raise UnsupportedPixelType(f"cannot segment pixels of dtype {pixels.dtype}")
    normalised = normalize_percentile(pixels)
    if normalised.shape[2] == 1:
        return np.ascontiguousarray(normalised[:, :, 0])
    return normalised.mean(axis=2, dtype=np.float32)


def pseudo_probability(image: NDArray[np.float32], level: float) -> NDArray[np.float32]:
    """Map float ``(Y, X)`` ``image`` in ``[0, 1]`` piecewise-linearly: 0->0, level->0.5, 1->1."""
    below = image * np.float32(0.5 / level)
    above = np.float32(0.5) + (image - np.float32(level)) * np.float32(0.5 / (1.0 - level))
    return np.where(image <= level, below, above).astype(np.float32)
