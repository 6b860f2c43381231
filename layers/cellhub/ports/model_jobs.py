"""The port between the model-job handler (shared core) and the code that trains and checks.

A model job is a ``Job`` of kind ``finetune`` or ``import_model``. The handler in the shared
core owns the job's life (state, progress counts, cancellation, the report, registering the
model); a ``ModelJobRunner`` from the worker package does the torch work and returns what it
found. The runner never writes the job or the project's models itself, so the handler alone
decides what a retried delivery repeats.

``Job`` fields as the runner reads them:

- ``finetune``: ``model`` is the starting model (global or project); ``options`` holds
  ``name`` (the new model's name), ``epochs``, ``holdout_fraction``, ``min_objects``, ``seed``,
  ``max_images`` (the most segmented images read; a larger project uses a seeded subset).
- ``import_model``: ``model`` is the new model's name; ``options`` holds ``format``
  (``checkpoint`` | ``torchscript`` | ``onnx``), ``upload_key`` (the uploaded file's blob
  key), and optionally ``architecture``, ``classes``, ``description``.

Progress is counted in named units, each once (``JobsRepository.record_outcome(job, unit)``),
and ``counts.total`` is fixed when the job is created, by ``progress_units`` below rather than
by the runner, because the API that creates the job has no torch. The rule:

- ``finetune``: ``baseline`` (the start model scored on the held-out slice), then
  ``epoch-0001`` ... ``epoch-<epochs, 4 digits>``, then ``final`` (the new model scored),
  then ``report``: ``epochs + 3`` units.
- ``import_model``: ``checked`` (loaded and run on a sample image), then ``report``: 2 units.

The runner counts every unit but ``report`` through its ``progress`` callback (in any order;
an unknown or repeated unit changes nothing). The handler counts ``report`` itself once the
report is written, so ``counts.finished`` means the report can be read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cellhub.domain.jobs import Job, JobKind
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

BASE_EVALUATION, NEW_EVALUATION, VALIDATION, REPORT = "baseline", "final", "checked", "report"


def progress_units(kind: JobKind, options: dict[str, Any]) -> tuple[str, ...]:
    """Every progress unit of a model job of ``kind``, in order; ``report`` last."""
    if kind == "finetune":
        epochs = tuple(f"epoch-{n:04d}" for n in range(1, int(options["epochs"]) + 1))
        return (BASE_EVALUATION, *epochs, NEW_EVALUATION, REPORT)
    if kind == "import_model":
        return (VALIDATION, REPORT)
    raise ValueError(f"{kind!r} is not a model job kind")


def new_model_name(job: Job) -> str:
    """The name the job's model is registered under, whatever the job's kind."""
    return str(job.options["name"]) if job.kind == "finetune" else job.model


class ModelJobRunner(Protocol):
    """The torch side of model jobs; one instance per worker process, models loaded once.

    ``progress(unit)`` may raise a ``BaseException`` subclass when the job was cancelled:
    let it through (no ``except BaseException``), the handler catches it. The handler
    registers the artifact under ``new_model_name(job)`` with ``job_id = job.id`` whatever
    the card says, so a card's ``name`` and ``job_id`` need not be right.
    """

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
