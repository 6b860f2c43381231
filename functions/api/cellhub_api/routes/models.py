"""``/models``: the segmentation models a worker can run, as model cards.

The catalogue module is imported inside the route: it lives with the worker, and listing
reads sidecar JSON cards, so the API process never loads torch or any weights.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from cellhub_api.deps import CurrentUser

router = APIRouter(tags=["models"])


class ModelOut(BaseModel):
    """A model card without its server-side checkpoint path."""

    name: str
    version: str
    architecture: str
    kind: Literal["classical", "learned"]
    description: str
    classes: list[str]
    scores: dict[str, float]
    speed: str
    sha256: str | None


class ModelsOut(BaseModel):
    """The models, ``classical`` first."""

    models: list[ModelOut]


@router.get("/models")
def list_models(user: CurrentUser) -> ModelsOut:
    from cellhub_worker.registry import list_models as model_cards

    cards = model_cards()
    return ModelsOut(
        models=[ModelOut.model_validate(card.model_dump(exclude={"path"})) for card in cards]
    )
