"""The port between the pipeline and whatever turns pixels into instances.

Implementations live in the worker package (classical watershed, learned nets); the shared
core only depends on this protocol, so it never imports torch or cv2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray


@dataclass(slots=True)
class Instances:
    """``labels``: int32 ``(Y, X)``, 0 = background, 1..N one id per instance.
    ``scores``: per instance id, the model's confidence in ``[0, 1]`` (mean foreground
    probability over the instance)."""

    labels: NDArray[np.int32]
    scores: dict[int, float] = field(default_factory=dict)


class Segmenter(Protocol):
    """Loaded once per process; ``segment`` is called per image."""

    name: str
    version: str

    def segment(self, pixels: NDArray[Any], *, threshold: float | None = None) -> Instances:
        """``pixels``: ``(Y, X, C)`` native dtype, channels already chosen by the caller."""
        ...
