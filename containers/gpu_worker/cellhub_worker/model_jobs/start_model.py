"""Finding the checkpoint a fine-tuning starts from: the project's own model, else a global one.

A job's ``model`` is resolved in the project first (project names never repeat global ones).
Only our checkpoint format carries what training needs (architecture, config, normalisation),
so a TorchScript or ONNX model, or the weight-free ``classical`` model, cannot be a start.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cellhub.errors import InvalidParameter, UnknownModel
from cellhub.services.project_models import ProjectModelStore
from cellhub_worker.checkpoint import sha256_of
from cellhub_worker.registry import CLASSICAL, list_models


def start_checkpoint(
    store: ProjectModelStore, project_id: str, model: str, folder: Path
) -> tuple[Path, str]:
    """The start model's checkpoint file (copied into ``folder`` for a project model) and
    its SHA-256. Raises ``InvalidParameter`` for a model that cannot be fine-tuned and
    ``UnknownModel`` for a name that is neither a project nor a global model."""
    card = store.get(project_id, model)
    if card is not None:
        if card.format != "checkpoint":
            raise InvalidParameter(
                f"model {model!r} is a {card.format} model; only checkpoint models "
                "(fine-tuned here, or imported in the cellhub checkpoint format) can be "
                "fine-tuned",
                model=model,
            )
        weights = store.read_weights(project_id, card)
        digest = hashlib.sha256(weights).hexdigest()
        if digest != card.sha256:
            raise InvalidParameter(
                f"project model {model!r} does not match the SHA-256 in its card", model=model
            )
        path = folder / "start.pt"
        path.write_bytes(weights)
        return path, digest
    if model == CLASSICAL:
        raise InvalidParameter(
            "the classical model has no weights to fine-tune; start from a learned model",
            model=model,
        )
    cards = {c.name: c for c in list_models() if c.kind == "learned" and c.path}
    found = cards.get(model)
    if found is None or found.path is None:
        known = sorted(cards)
        raise UnknownModel(
            f"no learned model named {model!r}; known: {', '.join(known)}", model=model, known=known
        )
    digest = sha256_of(found.path)
    if found.sha256 is not None and digest != found.sha256:
        raise InvalidParameter(
            f"checkpoint {found.path} does not match the SHA-256 in its model card", model=model
        )
    return Path(found.path), digest
