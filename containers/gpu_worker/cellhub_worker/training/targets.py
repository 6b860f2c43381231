"""Per-pixel training targets from instance labels, matching what post-processing reads.

:func:`cellhub_worker.postprocess.instances_from_probabilities` takes a ``foreground`` and a
``boundary`` probability plane: seeds are where ``foreground - boundary`` is high, and a
watershed grows them back over the foreground. So the targets are

* ``foreground``: 1 on every object pixel;
* ``boundary``: 1 on object pixels within :data:`BOUNDARY_WIDTH` px (chessboard distance)
  of a pixel with another label, background included. Two touching nuclei thus get a
  ``2 * BOUNDARY_WIDTH`` px band between their seeds, which keeps them apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

OUTPUTS: tuple[str, str] = ("foreground", "boundary")
BOUNDARY_WIDTH = 2


def targets_from_labels(labels: NDArray[np.integer[Any]]) -> NDArray[np.float32]:
    """int ``(Y, X)`` labels (0 = background) → float32 ``(2, Y, X)`` in {0, 1}, :data:`OUTPUTS`."""
    foreground = labels > 0
    size = 2 * BOUNDARY_WIDTH + 1
    # Border pixels compare against a mirrored frame, so the image edge is not a boundary.
    highest = ndimage.maximum_filter(labels, size=size, mode="mirror")
    lowest = ndimage.minimum_filter(labels, size=size, mode="mirror")
    boundary = foreground & (highest != lowest)
    return np.stack([foreground, boundary]).astype(np.float32)
