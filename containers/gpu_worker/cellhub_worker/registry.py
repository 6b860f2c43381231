"""The catalogue of segmentation models a worker can load by name, and loading one.

Models: ``classical`` (no weights, always present) plus every learned checkpoint (``*.pt``)
found, in this order, in the folders of the ``CELLHUB_MODEL_PATH`` environment variable
(``os.pathsep``-separated) and in the package's bundled ``weights/`` folder. The first
checkpoint of a given name wins, so a lab can shadow a bundled model with its own.

Each checkpoint may have a sidecar model card ``<stem>.json`` beside it (the fields of
:class:`ModelCard` except ``kind`` and ``path``); listing then reads only JSON. Without one,
the card is taken from the checkpoint's own metadata, which imports torch. Loading the
``classical`` model never imports torch, so ``cellhub segment --model classical`` stays light.
When a card carries ``sha256``, the checkpoint is verified against it before loading.
"""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cellhub.errors import InvalidInput, InvalidParameter, UnknownModel
from cellhub.segmenter import Segmenter

log = logging.getLogger(__name__)

MODEL_PATH_ENV = "CELLHUB_MODEL_PATH"
BUNDLED_WEIGHTS = Path(__file__).parent / "weights"
CLASSICAL = "classical"
CLASSICAL_VERSION = "1"
CLASSICAL_DESCRIPTION = (
    "Threshold-and-watershed segmenter for fluorescence nuclei and brightfield spheroids."
)
# A default model must segment a typical image within this budget on the card's machine.
ACCEPTABLE_MS_PER_IMAGE = 1000.0
# The object classes whose learned models suit each sample type, best match first.
_SAMPLE_MODEL_CLASSES: dict[str, tuple[str, ...]] = {
    "nuclei": ("nucleus",),
    "cells": ("cell",),
    "spheroids": ("spheroid",),
    "organoids": ("organoid", "spheroid"),
}


class ModelCard(BaseModel):
    """What a user needs to pick a model: identity, kind, classes, scores and speed."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    name: str
    version: str
    architecture: str
    kind: Literal["classical", "learned"] = "learned"
    description: str = ""
    classes: tuple[str, ...] = ()
    scores: dict[str, float] = Field(default_factory=dict)
    speed: str = ""
    path: str | None = None
    sha256: str | None = None
    # Where the weights came from and which annotated folder ``scores`` were measured on.
    data: str = ""
    scored_on: str = ""


def list_models() -> list[ModelCard]:
    """``classical`` first, then the learned checkpoints in search-path order."""
    return [classical_card(), *_learned_cards().values()]


def default_model_for(sample: str) -> str:
    """The model a new ``sample`` project (see ``cellhub.domain.projects.SampleType``) starts with.

    The learned model for the sample's objects with the highest AP@0.5, among those whose
    scores were measured on real annotated images and that run within
    ``ACCEPTABLE_MS_PER_IMAGE``; ``classical`` when there is none. A model trained and scored
    only on synthetic images is offered, never made the default: its advantage is unproven on
    a lab's pictures.
    """
    wanted = _SAMPLE_MODEL_CLASSES.get(sample, ())
    best: tuple[float, str] | None = None
    for card in _learned_cards().values():
        if not set(card.classes) & set(wanted):
            continue
        if "synthetic" in f"{card.data} {card.scored_on}".lower() or not card.scored_on:
            continue
        ap50, speed = card.scores.get("ap50"), card.scores.get("ms_per_image")
        if ap50 is None or speed is None or speed > ACCEPTABLE_MS_PER_IMAGE:
            continue
        if best is None or (ap50, card.name) > best:
            best = (ap50, card.name)
    return CLASSICAL if best is None else best[1]


def load_segmenter(name: str, *, device: str | None = None) -> Segmenter:
    """Build the segmenter registered as ``name`` (once per process; it holds the weights).

    ``device`` (``"cpu"``, ``"cuda"``, ...) applies to learned models; ``None`` picks CUDA
    when available. Raises ``UnknownModel`` listing the known names for an unknown ``name``,
    and ``InvalidParameter`` when a checkpoint fails its checksum.
    """
    if name == CLASSICAL:
        from cellhub_worker.models.classical import ClassicalSegmenter

        return ClassicalSegmenter()
    cards = _learned_cards()
    card = cards.get(name)
    if card is None or card.path is None:
        known = [CLASSICAL, *cards]
        raise UnknownModel(
            f"no model named {name!r}; known: {', '.join(known)}", model=name, known=known
        )
    from cellhub_worker.checkpoint import sha256_of
    from cellhub_worker.learned import LearnedSegmenter

    # Only a sidecar's checksum is independent of the file; one read from it needs no check.
    sidecar = Path(card.path).with_suffix(".json")
    if card.sha256 is not None and sidecar.is_file() and sha256_of(card.path) != card.sha256:
        raise InvalidParameter(
            f"checkpoint {card.path} does not match the SHA-256 in its model card",
            model=name,
            path=card.path,
        )
    return LearnedSegmenter(card.path, device=device)


def classical_card() -> ModelCard:
    """The weight-free watershed model's card, without importing it (it needs OpenCV, which
    the API, which lists this card, does not ship)."""
    return ModelCard(
        name=CLASSICAL,
        version=CLASSICAL_VERSION,
        architecture="otsu+watershed",
        kind="classical",
        description=CLASSICAL_DESCRIPTION,
        speed="CPU only; no weights to load",
    )


def model_search_path() -> list[Path]:
    """Folders searched for checkpoints: ``CELLHUB_MODEL_PATH`` entries, then bundled."""
    entries = os.environ.get(MODEL_PATH_ENV, "").split(os.pathsep)
    return [*(Path(e).expanduser() for e in entries if e), BUNDLED_WEIGHTS]


def card_for_checkpoint(path: Path) -> ModelCard:
    """The card of the checkpoint at ``path``: its sidecar JSON if present, else its metadata.

    Raises ``InvalidParameter`` for an unreadable sidecar or checkpoint.
    """
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        try:
            fields = json.loads(sidecar.read_text(encoding="utf-8"))
            card = ModelCard.model_validate({**fields, "kind": "learned", "path": str(path)})
        except (OSError, ValueError, ValidationError) as exc:
            raise InvalidParameter(f"bad model card {sidecar}: {exc}", path=str(sidecar)) from exc
        return card
    return _card_from_checkpoint(str(path), *_stamp(path))


def write_model_card(checkpoint: Path) -> Path:
    """Write ``<stem>.json`` beside ``checkpoint`` from its metadata and checksum; return it."""
    card = _card_from_checkpoint(str(checkpoint), *_stamp(checkpoint))
    sidecar = checkpoint.with_suffix(".json")
    fields = card.model_dump(mode="json", exclude={"kind", "path"})
    sidecar.write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return sidecar


def _learned_cards() -> dict[str, ModelCard]:
    cards: dict[str, ModelCard] = {}
    for folder in model_search_path():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.pt")):
            try:
                card = card_for_checkpoint(path)
            except (InvalidInput, OSError) as exc:
                # One broken file must not hide every other model from the catalogue.
                log.warning("skipping checkpoint %s: %s", path, exc)
                continue
            if card.name == CLASSICAL or card.name in cards:
                log.warning("checkpoint %s: model name %r is already taken", path, card.name)
                continue
            cards[card.name] = card
    return cards


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=256)
def _card_from_checkpoint(path: str, mtime_ns: int, size: int) -> ModelCard:
    """Cached per file version (``mtime_ns``, ``size``): hashing and unpickling are not free."""
    from cellhub_worker.checkpoint import read_checkpoint_meta, sha256_of

    meta = read_checkpoint_meta(path)
    return ModelCard(
        name=meta.name,
        version=meta.version,
        architecture=meta.architecture,
        kind="learned",
        description=meta.description,
        classes=meta.classes,
        scores=meta.scores,
        speed=meta.speed_notes,
        path=path,
        sha256=sha256_of(path),
        data=meta.provenance.data,
        scored_on=str(getattr(meta.provenance, "scored_on", "") or ""),
    )
