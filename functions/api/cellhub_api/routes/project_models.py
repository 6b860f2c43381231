"""``/projects/{id}/models``: the models a project can use, fine-tuning and bring-your-own.

Starting a job only writes it and queues one message; a GPU worker trains or checks the model
(``cellhub.services.model_job_worker``), and the report says what it found. The global
catalogue is imported inside the call, as ``/models`` does: it lives with the worker and
lists sidecar JSON cards, so the API never loads torch.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from cellhub.errors import JobNotFound
from cellhub.services.model_jobs import MAX_MODEL_BYTES
from cellhub.services.project_models import ProjectModelStore
from cellhub_api.deps import EditorAccess, ProjectModels, Services, ViewerAccess
from cellhub_api.schemas.images import PostTargetOut
from cellhub_api.schemas.jobs import JobOut
from cellhub_api.schemas.project_models import (
    CatalogueModelOut,
    CatalogueOut,
    FinetuneCreate,
    ModelImportCreate,
    ModelJobReportOut,
    ModelUploadCreate,
    ModelUploadOut,
)

router = APIRouter(prefix="/projects/{project_id}/models", tags=["project models"])


def _global_cards() -> list[CatalogueModelOut]:
    from cellhub_worker.registry import list_models

    return [
        CatalogueModelOut(scope="global", **card.model_dump(exclude={"path", "data", "scored_on"}))
        for card in list_models()
    ]


ModelName = Annotated[str, Path(max_length=64)]


@router.get("")
def list_project_models(access: ViewerAccess, services: Services) -> CatalogueOut:
    """Every model a segmentation job of this project may name: global, then the project's."""
    own = ProjectModelStore(services.blobs).list(access.project_id)
    return CatalogueOut(models=[*_global_cards(), *map(CatalogueModelOut.of_project, own)])


@router.post("/finetune", status_code=202)
def start_finetune(body: FinetuneCreate, access: EditorAccess, models: ProjectModels) -> JobOut:
    """Queue fine-tuning ``base_model`` on the project's segmentations as a new model."""
    job = models.start_finetune(
        access.project_id,
        base_model=body.base_model,
        name=body.name,
        epochs=body.epochs,
        holdout_fraction=body.holdout_fraction,
        min_objects=body.min_objects,
        seed=body.seed,
        max_images=body.max_images,
        created_by=access.user.id,
    )
    return JobOut.of(job)


@router.post("/uploads")
def plan_model_upload(
    body: ModelUploadCreate, access: EditorAccess, models: ProjectModels
) -> ModelUploadOut:
    """Where to send a model file (TorchScript, ONNX or a cellhub checkpoint) for an import."""
    upload_id, post = models.model_upload_target(access.project_id, body.filename, body.size)
    return ModelUploadOut(
        upload_id=upload_id,
        post=PostTargetOut(url=post.url, fields=post.fields, expires_at=post.expires_at),
        max_bytes=MAX_MODEL_BYTES,
    )


@router.post("/import", status_code=202)
def start_import(body: ModelImportCreate, access: EditorAccess, models: ProjectModels) -> JobOut:
    """Queue checking an uploaded model on a sample image and registering it if usable."""
    job = models.start_import(
        access.project_id,
        name=body.name,
        model_format=body.format,
        upload_id=body.upload_id,
        created_by=access.user.id,
        classes=tuple(body.classes or ()),
        description=body.description,
    )
    return JobOut.of(job)


@router.get("/jobs/{job_id}/report")
def model_job_report(job_id: str, access: ViewerAccess, models: ProjectModels) -> ModelJobReportOut:
    """The finished job's report; 404 ``not_found`` while the job is still running."""
    report = models.report(access.project_id, job_id)
    if report is None:
        raise JobNotFound("the job has no report yet", job_id=job_id, finished=False)
    return ModelJobReportOut.model_validate(report)


@router.delete("/{name}", status_code=204)
def delete_project_model(name: ModelName, access: EditorAccess, models: ProjectModels) -> Response:
    """Remove the project's model; jobs that name it afterwards fail as an unknown model."""
    models.delete_model(access.project_id, name)
    return Response(status_code=204)
