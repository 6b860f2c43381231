"""The options of a ``finetune`` job, read from ``Job.options`` and checked once.

The port fixes ``name``, ``epochs``, ``holdout_fraction``, ``min_objects`` and ``seed``; the
rest are optional knobs with defaults chosen for fine-tuning (a lower learning rate than
training from scratch, so the start model's knowledge is adjusted rather than overwritten).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cellhub.errors import InvalidParameter
from cellhub.services.model_jobs import (
    DEFAULT_MAX_IMAGES,
    MAX_EPOCHS,
    MAX_IMAGES_LIMIT,
    MIN_IMAGES,
)
from cellhub.services.project_models import check_model_name

DEFAULT_EPOCHS = 10


@dataclass(frozen=True, slots=True)
class FinetuneOptions:
    """``steps_per_epoch`` None: one epoch draws about as many pixels as the training images
    hold (see :func:`steps_per_epoch_for`). ``max_images``: the most segmented images read
    (training and held-out together); a larger project uses a seeded subset."""

    name: str
    epochs: int = DEFAULT_EPOCHS
    holdout_fraction: float = 0.2
    min_objects: int = 20
    seed: int = 0
    learning_rate: float = 5e-4
    batch_size: int = 4
    crop: int = 256
    steps_per_epoch: int | None = None
    max_images: int = DEFAULT_MAX_IMAGES

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> FinetuneOptions:
        """Raises ``InvalidParameter`` naming the first option out of range."""
        name = check_model_name(str(options.get("name", "")))
        parsed = cls(
            name=name,
            epochs=_integer(options, "epochs", DEFAULT_EPOCHS, 1, MAX_EPOCHS),
            holdout_fraction=_number(options, "holdout_fraction", 0.2),
            min_objects=_integer(options, "min_objects", 20, 1, 10_000_000),
            seed=_integer(options, "seed", 0, 0, 2**31 - 1),
            learning_rate=_number(options, "learning_rate", 5e-4),
            batch_size=_integer(options, "batch_size", 4, 1, 64),
            crop=_integer(options, "crop", 256, 16, 1024),
            steps_per_epoch=(
                None
                if options.get("steps_per_epoch") is None
                else _integer(options, "steps_per_epoch", 1, 1, 10_000)
            ),
            max_images=_integer(
                options, "max_images", DEFAULT_MAX_IMAGES, MIN_IMAGES, MAX_IMAGES_LIMIT
            ),
        )
        if not 0.0 < parsed.holdout_fraction < 1.0:
            raise _bad("holdout_fraction", "must lie strictly between 0 and 1")
        if not 0.0 < parsed.learning_rate <= 1.0:
            raise _bad("learning_rate", "must lie in (0, 1]")
        return parsed


def _integer(options: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = options.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise _bad(key, f"must be a whole number, got {value!r}")
    if not low <= int(value) <= high:
        raise _bad(key, f"must lie in {low}..{high}, got {value}")
    return int(value)


def _number(options: dict[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(key, f"must be a number, got {value!r}")
    return float(value)


def _bad(key: str, why: str) -> InvalidParameter:
    return InvalidParameter(f"fine-tuning option {key} {why}", parameter=key)
