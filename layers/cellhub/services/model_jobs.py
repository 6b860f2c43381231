"""Starting fine-tuning and import jobs, and the uploads an import starts from: the API side.

A model job is one ``Job`` record (``counts.total`` from ``ports.model_jobs.progress_units``)
and one ``cellhub.model-job/1`` message on the segment queue, which a GPU worker hands to
``model_job_worker``. Only one model job per project may be active: they are long, they
compete with the project's own segmentation for the workers, and a name is checked free
only when its job starts. (Two requests racing past the check both run; the second to
finish finds the name taken and reports its model rejected, so nothing is overwritten.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

from cellhub.domain.jobs import Job, JobKind, JobState
from cellhub.domain.projects import new_id
from cellhub.errors import (
    InputNotFound,
    InvalidParameter,
    JobNotFound,
    ModelJobActive,
    ModelNameTaken,
    ModelNotFound,
    UnknownModel,
)
from cellhub.ports.blob_store import UploadTarget
from cellhub.ports.job_queue import JobQueue
from cellhub.ports.jobs_repository import JobsRepository
from cellhub.ports.model_jobs import progress_units
from cellhub.services.model_job_messages import ModelJobKind, ModelJobMessage
from cellhub.services.project_models import (
    ModelFormat,
    ProjectModelStore,
    check_model_name,
    upload_key,
)

MAX_MODEL_BYTES = 200 * 1024 * 1024
MAX_EPOCHS = 500
# One image to train on and one held out, at the least; the worker decodes every used image
# into memory at once, so the default stays modest.
MIN_IMAGES = 2
DEFAULT_MAX_IMAGES = 400
MAX_IMAGES_LIMIT = 100_000
UPLOAD_TTL_SECONDS = 3600
MODEL_JOB_KINDS: tuple[JobKind, ...] = ("finetune", "import_model")
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


class ModelJobs:
    """Creates a project's fine-tuning and import jobs and its model uploads.

    ``global_models()`` names the catalogue models (read lazily: the catalogue lives with
    the worker and the API imports it only when asked).
    """

    def __init__(
        self,
        jobs: JobsRepository,
        queue: JobQueue,
        store: ProjectModelStore,
        global_models: Callable[[], Collection[str]],
    ) -> None:
        self._jobs = jobs
        self._queue = queue
        self._store = store
        self._global_models = global_models

    def start_finetune(
        self,
        project_id: str,
        *,
        base_model: str,
        name: str,
        epochs: int,
        holdout_fraction: float,
        min_objects: int,
        seed: int,
        created_by: str,
        max_images: int = DEFAULT_MAX_IMAGES,
    ) -> Job:
        """Queue training ``name`` from ``base_model`` on the project's segmentations.

        ``max_images`` caps the segmented images read; a larger project uses a seeded subset.
        """
        if not 1 <= epochs <= MAX_EPOCHS:
            raise InvalidParameter(f"epochs must be 1..{MAX_EPOCHS}", epochs=epochs)
        if not 0.0 < holdout_fraction < 1.0:
            raise InvalidParameter("holdout_fraction must be between 0 and 1 (exclusive)")
        if min_objects < 1:
            raise InvalidParameter("min_objects must be at least 1", min_objects=min_objects)
        if not MIN_IMAGES <= max_images <= MAX_IMAGES_LIMIT:
            raise InvalidParameter(
                f"max_images must be {MIN_IMAGES}..{MAX_IMAGES_LIMIT}", max_images=max_images
            )
        self.ensure_known(project_id, base_model)
        options = {
            "name": name,
            "epochs": epochs,
            "holdout_fraction": holdout_fraction,
            "min_objects": min_objects,
            "seed": seed,
            "max_images": max_images,
        }
        return self._start(project_id, "finetune", base_model, options, created_by)

    def ensure_known(self, project_id: str | None, name: str) -> str:
        """``name`` when the catalogue (or, given ``project_id``, the project) has such a model.

        Otherwise ``UnknownModel`` (422 ``unknown_model``), so a typo fails the request that
        made it rather than every image of a queued job.
        """
        if name in self._global_models():
            return name
        if project_id is not None and self._store.get(project_id, name) is not None:
            return name
        raise UnknownModel(
            f"no model named {name!r} in the catalogue or the project",
            model=name,
            known=sorted(self._global_models()),
        )

    def start_import(
        self,
        project_id: str,
        *,
        name: str,
        model_format: ModelFormat,
        upload_id: str,
        created_by: str,
        classes: tuple[str, ...] = (),
        description: str = "",
    ) -> Job:
        """Queue checking the uploaded file ``upload_id`` and registering it as ``name``."""
        key = upload_key(project_id, upload_id) if _UPLOAD_ID.fullmatch(upload_id) else None
        if key is None or not self._store.blobs.exists(key):
            raise InputNotFound("no such model upload in the project", upload_id=upload_id)
        options: dict[str, Any] = {
            "format": model_format,
            "upload_key": key,
            "classes": list(classes),
            "description": description,
        }
        return self._start(project_id, "import_model", name, options, created_by)

    def model_upload_target(
        self, project_id: str, filename: str, size: int
    ) -> tuple[str, UploadTarget]:
        """The upload id an import names, and a presigned POST for a file of ``size`` bytes."""
        if not filename or len(filename) > 255:
            raise InvalidParameter("a file name is 1-255 characters", filename=filename)
        if not 0 < size <= MAX_MODEL_BYTES:
            raise InvalidParameter(
                f"a model file is 1 byte to {MAX_MODEL_BYTES // 2**20} MiB", size=size
            )
        upload_id = new_id()
        target = self._store.blobs.presign_upload(
            upload_key(project_id, upload_id),
            max_bytes=size,
            content_type="application/octet-stream",
            expires_in=UPLOAD_TTL_SECONDS,
        )
        return upload_id, target

    def report(self, project_id: str, job_id: str) -> dict[str, Any] | None:
        """The model job's report, None while unfinished; ``JobNotFound`` for other jobs."""
        job = self._jobs.get_job(project_id, job_id)
        if job is None or job.kind not in MODEL_JOB_KINDS:
            raise JobNotFound("no such fine-tuning or import job", job_id=job_id)
        return self._store.read_report(project_id, job_id)

    def delete_model(self, project_id: str, name: str) -> None:
        """Remove the project's model ``name``; ``ModelNotFound`` when it has none."""
        if self._store.get(project_id, name) is None:
            raise ModelNotFound("no such model in the project", name=name)
        self._store.delete(project_id, name)

    def _start(
        self,
        project_id: str,
        kind: ModelJobKind,
        model: str,
        options: dict[str, Any],
        created_by: str,
    ) -> Job:
        name = check_model_name(str(options.get("name", model)))
        if name in self._global_models() or self._store.get(project_id, name) is not None:
            raise ModelNameTaken(f"a model named {name!r} exists already", name=name)
        if any(job.kind in MODEL_JOB_KINDS for job in self._jobs.list_active_jobs(project_id)):
            raise ModelJobActive("the project has a fine-tuning or import job running already")
        total = len(progress_units(kind, options))
        job = Job.new(
            project_id,
            model=model,
            threshold=0.0,
            total=total,
            created_by=created_by,
            options=options,
            kind=kind,
        )
        self._jobs.create_job(job)
        message = ModelJobMessage(job_id=job.id, project_id=project_id, kind=kind)
        try:
            self._queue.send(message.to_json())
        except BaseException:
            # No worker will ever see the job: do not let it block the next one.
            self._jobs.set_job_state(job.id, [JobState.QUEUED], JobState.CANCELLED)
            raise
        return job
