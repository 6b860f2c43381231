"""Models that belong to one project: fine-tuned on its images or brought by its members.

They live in the blob store under ``models/<project>/``, apart from ``projects/`` so that the
upload notifications (prefix ``projects/``) never see them:

- ``models/<p>/<name>/weights.<pt|ts|onnx>``: the weights, written first;
- ``models/<p>/<name>/card.json``: the card, written last. A model is registered exactly when
  its card exists, so a crash between the two writes leaves an unlisted orphan that the retry
  overwrites, never a listed model without weights;
- ``models/<p>/reports/<job>.json``: what a fine-tuning or import job found (scores, checks,
  why a model was rejected), written once its work is done; a retry finding it skips the work;
- ``models/<p>/uploads/<upload>``: a model file a member uploaded, waiting to be validated.

Project model names share the segmentation ``model`` field with the global catalogue, so a
project name may not repeat a global one; a job's ``model`` is resolved in the project first.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cellhub.errors import BlobNotFound, InvalidParameter
from cellhub.ports.blob_store import BlobStore

ModelFormat = Literal["checkpoint", "torchscript", "onnx"]
WEIGHT_SUFFIXES: dict[ModelFormat, str] = {"checkpoint": "pt", "torchscript": "ts", "onnx": "onnx"}
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,47}$")


class ProjectModelCard(BaseModel):
    """A project model's card: what the catalogue shows and what loading it needs."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    name: str
    version: str = "1"
    architecture: str
    format: ModelFormat
    origin: Literal["fine-tuned", "imported"]
    base_model: str | None = None
    description: str = ""
    classes: tuple[str, ...] = ()
    scores: dict[str, float] = Field(default_factory=dict)
    speed: str = ""
    data: str = ""
    sha256: str
    job_id: str
    created_at: datetime
    # Facts checked before the model was offered (input shape, output range, ms per image).
    validation: dict[str, Any] = Field(default_factory=dict)


def models_prefix(project_id: str) -> str:
    """The folder of every project model, report and model upload of the project."""
    return f"models/{project_id}/"


def check_model_name(name: str) -> str:
    """``name`` if it is a valid project model name, else ``InvalidParameter``."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidParameter(
            "a model name is 1-48 characters of a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit",
            name=name,
        )
    return name


def weights_key(project_id: str, name: str, model_format: ModelFormat) -> str:
    return f"{models_prefix(project_id)}{name}/weights.{WEIGHT_SUFFIXES[model_format]}"


def card_key(project_id: str, name: str) -> str:
    return f"{models_prefix(project_id)}{name}/card.json"


def report_key(project_id: str, job_id: str) -> str:
    return f"{models_prefix(project_id)}reports/{job_id}.json"


def upload_key(project_id: str, upload_id: str) -> str:
    return f"{models_prefix(project_id)}uploads/{upload_id}"


class ProjectModelStore:
    """Register, list and read a project's models and model-job reports (idempotently)."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs

    @property
    def blobs(self) -> BlobStore:
        return self._blobs

    def register(self, project_id: str, card: ProjectModelCard, weights: bytes) -> None:
        """Store ``weights`` then ``card``; running it again with the same input is harmless."""
        check_model_name(card.name)
        self._blobs.put(
            weights_key(project_id, card.name, card.format),
            weights,
            content_type="application/octet-stream",
        )
        self._blobs.put(
            card_key(project_id, card.name),
            card.model_dump_json(indent=2).encode(),
            content_type="application/json",
        )

    def get(self, project_id: str, name: str) -> ProjectModelCard | None:
        """The card of the project's model ``name``, or None when it is not registered."""
        if not NAME_PATTERN.fullmatch(name):
            return None
        try:
            raw = self._blobs.get(card_key(project_id, name))
        except BlobNotFound:
            return None
        try:
            return ProjectModelCard.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidParameter(f"bad card for project model {name!r}", name=name) from exc

    def list(self, project_id: str) -> list[ProjectModelCard]:
        """Every registered model of the project, by name."""
        cards: list[ProjectModelCard] = []
        start_after: str | None = None
        prefix = models_prefix(project_id)
        while True:
            page = self._blobs.list(prefix, start_after=start_after)
            for blob in page:
                rest = blob.key[len(prefix) :]
                name, _, leaf = rest.partition("/")
                if leaf == "card.json" and name not in ("reports", "uploads"):
                    card = self.get(project_id, name)
                    if card is not None:
                        cards.append(card)
            if not page:
                return cards
            start_after = page[-1].key

    def read_weights(self, project_id: str, card: ProjectModelCard) -> bytes:
        """The model's weights; ``BlobNotFound`` when they are gone."""
        return self._blobs.get(weights_key(project_id, card.name, card.format))

    def delete(self, project_id: str, name: str) -> None:
        """Unregister (card first) and remove the model; a missing model is not an error."""
        self._blobs.delete(card_key(project_id, name))
        for model_format in WEIGHT_SUFFIXES:
            self._blobs.delete(weights_key(project_id, name, model_format))

    def write_report(self, project_id: str, job_id: str, report: dict[str, Any]) -> None:
        body = json.dumps(report, indent=2, sort_keys=True, default=str).encode()
        self._blobs.put(report_key(project_id, job_id), body, content_type="application/json")

    def read_report(self, project_id: str, job_id: str) -> dict[str, Any] | None:
        """The job's report, or None while the job has not finished its work."""
        try:
            raw = self._blobs.get(report_key(project_id, job_id))
        except BlobNotFound:
            return None
        report: dict[str, Any] = json.loads(raw)
        return report
