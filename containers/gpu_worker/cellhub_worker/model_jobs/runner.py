"""The torch implementation of the model-job port (:mod:`cellhub.ports.model_jobs`).

Built once per worker process with the adapters it reads from; each call runs one job and
reports the port's progress units (``baseline``, ``epoch-NNNN``, ``final``; ``checked``)
through its ``progress`` callback, which may raise to cancel the job: that is let through.
"""

from __future__ import annotations

from collections.abc import Callable

from cellhub.domain.jobs import Job
from cellhub.ports.blob_store import BlobStore
from cellhub.ports.images_repository import ImagesRepository
from cellhub.ports.model_jobs import ModelJobOutcome, Progress
from cellhub.segmenter import Segmenter
from cellhub.services.project_models import ProjectModelStore


class TorchModelJobRunner:
    """Fine-tunes and checks project models.

    ``segmenter_for(project_id, model_name)`` gives a loaded segmenter of a global or project
    model (the start model's baseline is scored with it). ``device``: ``"cpu"``, ``"cuda"``
    or None for CUDA when present.
    """

    def __init__(
        self,
        *,
        images: ImagesRepository,
        blobs: BlobStore,
        store: ProjectModelStore,
        segmenter_for: Callable[[str, str], Segmenter],
        device: str | None = None,
    ) -> None:
        self.images = images
        self.blobs = blobs
        self.store = store
        self.segmenter_for = segmenter_for
        self._device = device

    def finetune(
        self, job: Job, *, progress: Progress, heartbeat: Callable[[], None]
    ) -> ModelJobOutcome:
        from cellhub_worker.model_jobs.finetune import finetune

        return finetune(
            job,
            images=self.images,
            blobs=self.blobs,
            store=self.store,
            segmenter_for=self.segmenter_for,
            progress=progress,
            heartbeat=heartbeat,
            device=self.device,
        )

    def validate_import(
        self, job: Job, *, progress: Progress, heartbeat: Callable[[], None]
    ) -> ModelJobOutcome:
        from cellhub_worker.model_jobs.model_import import validate_import

        return validate_import(
            job, images=self.images, store=self.store, progress=progress, heartbeat=heartbeat
        )

    @property
    def device(self) -> str:
        """The training device, resolved on first use (it sizes torch's thread pool)."""
        if self._device is None:
            from cellhub_worker.device import resolve_device

            self._device = str(resolve_device(None))
        return self._device
