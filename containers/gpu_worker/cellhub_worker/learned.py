"""A trained net behind the :class:`cellhub.segmenter.Segmenter` port.

``segment`` runs, per image: channel matching → percentile normalisation (the checkpoint's
``normalization``) → with ``normalization.polarity="bright_objects"``, inversion of an image
whose objects look dark on a bright field (:func:`cellhub_worker.preprocess.objects_look_dark`)
→ tiled prediction (:class:`cellhub_worker.inference.Predictor`),
averaged over the checkpoint's ``test_time_augmentation`` symmetries →
:func:`cellhub_worker.postprocess.instances_from_probabilities` on the ``foreground`` plane,
with the ``boundary`` plane to split touching objects when the net predicts one, under the
checkpoint's ``postprocess`` settings.

Channel matching, against the checkpoint's ``in_channels``:

* equal: used as given;
* the image has 1 channel and the net wants more: the channel is repeated (a greyscale
  image fed to an RGB-trained net);
* the image has more channels than the net wants: the first ``in_channels`` are used and a
  warning is logged, since the caller chose the channels and may have meant others;
* otherwise (e.g. 2 channels for a 3-channel net) the image is rejected with
  ``UnsupportedPixelType``: there is no faithful way to invent the missing channel.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.errors import InvalidParameter, UnsupportedPixelType
from cellhub.segmenter import Instances
from cellhub.settings import get_settings
from cellhub_worker.checkpoint import CheckpointMeta, load_checkpoint
from cellhub_worker.device import resolve_device
from cellhub_worker.inference import Predictor, predict_symmetric
from cellhub_worker.postprocess import instances_from_probabilities
from cellhub_worker.preprocess import normalize_percentile, oriented

log = logging.getLogger(__name__)

FOREGROUND = "foreground"
BOUNDARY = "boundary"


class LearnedSegmenter:
    """Loads a checkpoint once and segments images with it.

    ``device``: ``"cpu"``, ``"cuda"``, ... or ``None`` for CUDA when available.
    ``optimize``: run the device's fastest measured plan (see :mod:`cellhub_worker.inference`).
    """

    def __init__(
        self,
        checkpoint_path: str | os.PathLike[str],
        device: str | None = None,
        *,
        optimize: bool = True,
        batch_size: int | None = None,
    ) -> None:
        target = resolve_device(device)
        net, meta = load_checkpoint(checkpoint_path, map_location="cpu")
        if FOREGROUND not in meta.outputs:
            raise InvalidParameter(
                f"checkpoint {checkpoint_path} has outputs {list(meta.outputs)}; "
                f"a segmenter needs {FOREGROUND!r}",
                path=str(checkpoint_path),
            )
        self.meta: CheckpointMeta = meta
        self.name: str = meta.name
        self.version: str = meta.version
        self.predictor = Predictor(net, meta, target, optimize=optimize, batch_size=batch_size)

    def segment(self, pixels: NDArray[Any], *, threshold: float | None = None) -> Instances:
        """Segment ``(Y, X, C)`` (or ``(Y, X)``) pixels of any real dtype.

        ``threshold``: foreground probability cut in ``(0, 1)``; ``None`` for the checkpoint's
        ``postprocess.threshold``, else the settings' default. Returns labels int32
        ``(Y, X)``, 0 = background, 1..N = objects, and per object the mean foreground
        probability.
        """
        image = self.prepare(pixels)
        probabilities = predict_symmetric(self.predictor, image, self.meta.test_time_augmentation)
        outputs = list(self.meta.outputs)
        foreground = probabilities[outputs.index(FOREGROUND)]
        boundary = probabilities[outputs.index(BOUNDARY)] if BOUNDARY in outputs else None
        rules = self.meta.postprocess
        cut = threshold if threshold is not None else rules.threshold
        return instances_from_probabilities(
            foreground,
            boundary,
            threshold=get_settings().default_threshold if cut is None else cut,
            seed_threshold=rules.seed_threshold,
            min_relative_area=rules.min_relative_area,
            spare_border=rules.spare_border,
            relative_to=rules.relative_to,
        )

    def prepare(self, pixels: NDArray[Any]) -> NDArray[np.float32]:
        """Raw ``(Y, X[, C])`` pixels → ``(Y, X, in_channels)`` float32 net input in ``[0, 1]``."""
        if pixels.ndim == 2:
            pixels = pixels[:, :, np.newaxis]
        if pixels.ndim != 3 or pixels.shape[0] == 0 or pixels.shape[1] == 0:
            raise UnsupportedPixelType(f"expected (Y, X, C) pixels, got shape {pixels.shape}")
        if not (
            np.issubdtype(pixels.dtype, np.integer) or np.issubdtype(pixels.dtype, np.floating)
        ):
            raise UnsupportedPixelType(f"cannot segment pixels of dtype {pixels.dtype}")
        selected = self._match_channels(pixels)
        norm = self.meta.normalization
        normalized = normalize_percentile(selected, norm.low, norm.high)
        normalized = oriented(normalized, norm.polarity)
        if normalized.shape[2] != self.meta.in_channels:
            normalized = np.repeat(normalized, self.meta.in_channels, axis=2)
        return normalized

    def _match_channels(self, pixels: NDArray[Any]) -> NDArray[Any]:
        """Pick the channels to normalise; a single channel is repeated after normalising."""
        have, want = pixels.shape[2], self.meta.in_channels
        if have == want or have == 1:
            return pixels
        if have > want:
            log.warning(
                "model %s wants %d channel(s), image has %d: using the first %d",
                self.name,
                want,
                have,
                want,
            )
            return pixels[:, :, :want]
        raise UnsupportedPixelType(
            f"model {self.name} wants {want} channels; an image with {have} cannot be adapted",
            channels=have,
            expected=want,
        )
