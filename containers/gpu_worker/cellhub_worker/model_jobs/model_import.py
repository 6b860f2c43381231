"""Checking a model file a project member uploaded before it is offered as a project model.

The file (``options["upload_key"]``, under the project's ``models/<p>/uploads/``) is loaded
per ``options["format"]`` and run on a sample image: the project's first decoded image, else
a synthetic nuclei image. Checks, in order, each failure a rejection with its reason:

1. the file loads (``checkpoint``: our format; ``torchscript``: ``torch.jit.load``;
   ``onnx``: an ``onnxruntime`` CPU session);
2. it accepts a float32 ``(1, C, 512, 512)`` input (C from the file where it declares one,
   else the sample's channel count, else 1 or 3);
3. its output is ``(1, K >= 1, 512, 512)`` and finite; values in ``[0, 1]`` are read as
   probabilities, anything else as logits (a sigmoid is applied): recorded as ``output``;
4. a 512² image takes under :data:`MAX_MS_PER_IMAGE` on the CPU (second of two runs);
5. the sample segments end to end through the normal post-processing.

A file that fails is an outcome with ``accepted=False``, never an exception: the member
learns why. Only a job that names an upload outside its own project raises.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.domain.images import ImageStatus
from cellhub.domain.jobs import Job
from cellhub.errors import BlobNotFound, CellhubError, InvalidParameter
from cellhub.imageio import read_image
from cellhub.ports.images_repository import ImagesRepository
from cellhub.ports.model_jobs import ModelArtifact, ModelJobOutcome, Progress
from cellhub.services.project_models import (
    ProjectModelCard,
    ProjectModelStore,
    check_model_name,
    upload_key,
)
from cellhub_worker.model_jobs.import_checks import (
    MAX_MS_PER_IMAGE,
    ModelRejected,
    check_checkpoint,
    check_exported,
)

__all__ = ["MAX_MS_PER_IMAGE", "validate_import"]

FORMATS = ("checkpoint", "torchscript", "onnx")


def validate_import(
    job: Job,
    *,
    images: ImagesRepository,
    store: ProjectModelStore,
    progress: Progress,
    heartbeat: Callable[[], None],
) -> ModelJobOutcome:
    """Run the checks of the module docstring on the job's upload."""
    began = time.monotonic()
    name = check_model_name(job.model)
    key = str(job.options.get("upload_key", ""))
    if not key.startswith(upload_key(job.project_id, "")):
        raise InvalidParameter("upload_key must name an upload of this project", upload_key=key)
    model_format = str(job.options.get("format", ""))
    sample, sample_name = _sample_image(images, store, job.project_id)
    report: dict[str, Any] = {
        "kind": "import_model",
        "model": name,
        "format": model_format,
        "sample_image": sample_name,
    }
    try:
        if model_format not in FORMATS:
            raise ModelRejected(
                f"unknown model format {model_format!r}; use one of {', '.join(FORMATS)}"
            )
        try:
            data = store.blobs.get(key)
        except BlobNotFound as exc:
            raise ModelRejected("the uploaded model file is gone; upload it again") from exc
        report["bytes"] = len(data)
        heartbeat()
        with tempfile.TemporaryDirectory(prefix="cellhub-import-") as folder:
            if model_format == "checkpoint":
                found = check_checkpoint(data, Path(folder), sample, name=name)
            else:
                found = check_exported(data, model_format, sample, name=name)
    except ModelRejected as rejection:
        report["seconds"] = round(time.monotonic() - began, 1)
        report["accepted"] = False
        report["checks"] = rejection.checks
        progress("checked")
        return ModelJobOutcome(accepted=False, report=report, reason=str(rejection))
    heartbeat()
    progress("checked")
    report.update(accepted=True, checks=found.checks, seconds=round(time.monotonic() - began, 1))
    options = job.options
    classes = options.get("classes") or found.classes
    card = ProjectModelCard(
        name=name,
        architecture=str(options.get("architecture") or found.architecture),
        format=model_format,  # type: ignore[arg-type]  # checked against FORMATS above
        origin="imported",
        description=str(options.get("description") or found.description),
        classes=tuple(str(c) for c in classes),
        scores=found.scores,
        speed=f"{found.checks['ms_per_512']:.0f} ms per 512² image on CPU",
        data=found.data,
        sha256=hashlib.sha256(data).hexdigest(),
        job_id=job.id,
        created_at=dt.datetime.now(dt.UTC),
        validation=found.checks,
    )
    return ModelJobOutcome(accepted=True, report=report, artifact=ModelArtifact(card, data))


def _sample_image(
    images: ImagesRepository, store: ProjectModelStore, project_id: str
) -> tuple[NDArray[Any], str]:
    """The project's first decodable image, else a synthetic 512² nuclei image."""
    page = images.list(
        project_id, status=[ImageStatus.READY, ImageStatus.SEGMENTED], limit=5, order="created"
    )
    for image in page.items:
        try:
            pixels = read_image(store.blobs.get(image.blob_key), name=image.name).pixels
        except CellhubError:
            continue
        return pixels, image.name
    from cellhub_worker.synthetic import synthetic_nuclei

    pixels, _ = synthetic_nuclei((512, 512), seed=0)
    return pixels[:, :, np.newaxis], "synthetic nuclei 512x512 (seed 0)"
