"""The port between the model-job handler (shared core) and the code that trains and checks.

A model job is a ``Job`` of kind ``finetune`` or ``import_model``. The handler in the shared
core owns the job's life (state, progress counts, cancellation, the report, registering the
model); a ``ModelJobRunner`` from the worker package does the torch work and returns what it
found. The runner never writes the job or the project's models itself, so the handler alone
decides what a retried delivery repeats.

``Job`` fields as the runner reads them:

- ``finetune``: ``model`` is the starting model (global or project); ``options`` holds
  ``name`` (the new model's name), ``epochs``, ``holdout_fraction``, ``min_objects``, ``seed``.
- ``import_model``: ``model`` is the new model's name; ``options`` holds ``format``
  (``checkpoint`` | ``torchscript`` | ``onnx``), ``upload_key`` (the uploaded file's blob
  key), and optionally ``architecture``, ``classes``, ``description``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cellhub.domain.jobs import Job
from cellhub.services.project_models import ProjectModelCard


@dataclass(frozen=True, slots=True)
class ModelArtifact:
    """A model to register for the project: its card and its weights' bytes."""

    card: ProjectModelCard
    weights: bytes


@dataclass(frozen=True, slots=True)
class ModelJobOutcome:
    """What a runner found. ``artifact`` is registered only when ``accepted``.

    ``report`` is JSON-able and shown to the user as is: for fine-tuning the start model's and
    the new model's held-out scores, the images used, epochs and seconds; for an import the
    checks made on the sample image. ``reason`` says why a model was not accepted.
    """

    accepted: bool
    report: dict[str, Any] = field(default_factory=dict)
    artifact: ModelArtifact | None = None
    reason: str = ""


# Count one unit of progress (an epoch, the evaluation); the same unit twice counts once.
Progress = Callable[[str], None]


class ModelJobRunner(Protocol):
    def progress_units(self, job: Job) -> int:
        """How many progress units the job reports in all (its ``counts.total``)."""
        ...

    def finetune(
        self, job: Job, *, progress: Progress, heartbeat: Callable[[], None]
    ) -> ModelJobOutcome:
        """Train from the project's current segmentations and compare on a held-out slice.

        Raise ``InvalidInput`` (permanent) when the project cannot be trained on, e.g. fewer
        objects than ``min_objects``; any other error means "try again".
        """
        ...

    def validate_import(
        self, job: Job, *, progress: Progress, heartbeat: Callable[[], None]
    ) -> ModelJobOutcome:
        """Load the uploaded file, run it on a sample image and check shape, range, speed.

        A file that is not a usable model is an outcome with ``accepted=False`` and a reason,
        not an exception.
        """
        ...
