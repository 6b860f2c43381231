"""Loading a project's own model (fine-tuned or imported) as a segmenter.

The card and weights come from :class:`cellhub.services.project_models.ProjectModelStore`.
Weights are checked against the card's SHA-256 before anything is unpickled or run. Per the
card's ``format``: ``checkpoint`` is our format (``LearnedSegmenter``); ``torchscript`` and
``onnx`` run through :class:`cellhub_worker.exported_models.ExportedNetSegmenter` with the
input and output facts the import recorded in the card's ``validation``. ONNX models run on
the CPU (``onnxruntime``); the others on ``device``.
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
    """The segmenter for the project's model ``card``; ``InvalidParameter`` if unusable.

    The segmenter's ``name`` and ``version`` are the card's, so segmentations record the
    project model's name rather than whatever name the file carries inside.
    """
    weights = store.read_weights(project_id, card)
    if hashlib.sha256(weights).hexdigest() != card.sha256:
        raise InvalidParameter(
            f"project model {card.name!r} does not match the SHA-256 in its card",
            model=card.name,
        )
    if card.format == "checkpoint":
        return _checkpoint_segmenter(weights, card, device)
    return _exported_segmenter(weights, card, device)


def _checkpoint_segmenter(weights: bytes, card: ProjectModelCard, device: str | None) -> Segmenter:
    from cellhub_worker.learned import LearnedSegmenter

    with tempfile.TemporaryDirectory(prefix="cellhub-model-") as folder:
        path = Path(folder) / "weights.pt"
        path.write_bytes(weights)
        segmenter = LearnedSegmenter(path, device=device)
    segmenter.name, segmenter.version = card.name, card.version
    return segmenter


def _exported_segmenter(weights: bytes, card: ProjectModelCard, device: str | None) -> Segmenter:
    from cellhub_worker.exported_models import (
        ExportedNetSegmenter,
        ExportedNetSpec,
        NetRunner,
        OnnxRunner,
        TorchScriptRunner,
    )

    spec = ExportedNetSpec.from_dict(card.validation)
    runner: NetRunner
    try:
        if card.format == "torchscript":
            from cellhub_worker.device import resolve_device

            runner = TorchScriptRunner.from_bytes(weights, str(resolve_device(device)))
        else:
            runner = OnnxRunner.from_bytes(weights)
    # The loaders fail in many ways on bad bytes; each means the same here.
    except Exception as exc:
        raise InvalidParameter(
            f"project model {card.name!r} cannot be loaded as {card.format}: {exc}",
            model=card.name,
        ) from exc
    return ExportedNetSegmenter(runner, spec, name=card.name, version=card.version)
