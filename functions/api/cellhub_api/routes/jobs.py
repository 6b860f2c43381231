"""Segmentation jobs of a project: start one, follow its counts, cancel it."""

from __future__ import annotations

from fastapi import APIRouter

from cellhub.errors import JobNotFound, ProjectNotFound
from cellhub_api.deps import EditorAccess, ProjectModels, Services, ViewerAccess
from cellhub_api.schemas.jobs import JobOut, SegmentationCreate

router = APIRouter(prefix="/projects/{project_id}", tags=["jobs"])


@router.post("/segmentations", status_code=202)
def create_segmentation(
    body: SegmentationCreate, access: EditorAccess, services: Services, models: ProjectModels
) -> JobOut:
    """Queue the images for segmentation and return the job at once.

    The model (the body's, else the project's default) must exist in the catalogue or the
    project: an unknown name is a 422 ``unknown_model`` here, before anything is queued.
    """
    project = services.projects.get(access.project_id)
    if project is None:  # deleted since the access check
        raise ProjectNotFound("no such project", project_id=access.project_id)
    defaults = project.settings
    job = services.segmentation_jobs.create(
        access.project_id,
        image_ids=body.image_ids,
        model=models.ensure_known(access.project_id, body.model or defaults.default_model),
        threshold=body.threshold if body.threshold is not None else defaults.threshold,
        options=body.options,
        created_by=access.user.id,
        force=body.force,
    )
    return JobOut.of(job)


@router.get("/jobs")
def list_active_jobs(access: ViewerAccess, services: Services) -> list[JobOut]:
    """The project's queued and running jobs, for a client re-syncing after a reconnect."""
    return [JobOut.of(job) for job in services.jobs.list_active_jobs(access.project_id)]


@router.get("/jobs/{job_id}")
def get_job(job_id: str, access: ViewerAccess, services: Services) -> JobOut:
    """The job with its image counts (total, done, failed)."""
    job = services.jobs.get_job(access.project_id, job_id)
    if job is None:
        raise JobNotFound("no such job", job_id=job_id)
    return JobOut.of(job)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, access: EditorAccess, services: Services) -> JobOut:
    """Cancel the job; its images not yet started go back to where they were."""
    return JobOut.of(services.segmentation_jobs.cancel(access.project_id, job_id))
