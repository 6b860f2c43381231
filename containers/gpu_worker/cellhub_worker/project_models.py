"""Loading a project's own model (fine-tuned or imported) as a segmenter.

The card and weights come from :class:`cellhub.services.project_models.ProjectModelStore`.
Weights are checked against the card's SHA-256 before anything is unpickled or run.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from cellhub.errors import InvalidParameter
from cellhub.segmenter import Segmenter
from cellhub.services.project_models import ProjectModelCard, ProjectModelStore


def load_project_segmenter(
    store: ProjectModelStore,
    project_id: str,
    card: ProjectModelCard,
    *,
    device: str | None = None,
) -> Segmenter:
    """The segmenter for the project's model ``card``; ``InvalidParameter`` if unusable."""
    weights = store.read_weights(project_id, card)
    if hashlib.sha256(weights).hexdigest() != card.sha256:
        raise InvalidParameter(
            f"project model {card.name!r} does not match the SHA-256 in its card",
            model=card.name,
        )
    if card.format != "checkpoint":
        raise InvalidParameter(f"cannot load {card.format} models yet", model=card.name)
    from cellhub_worker.learned import LearnedSegmenter

    with tempfile.TemporaryDirectory(prefix="cellhub-model-") as folder:
        path = Path(folder) / "weights.pt"
        path.write_bytes(weights)
        return LearnedSegmenter(path, device=device)
