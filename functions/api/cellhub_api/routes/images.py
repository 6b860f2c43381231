"""Images of a project: upload plans, multipart completion, listing, detail and deletion."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.domain.images import Image, ImageStatus
from cellhub.domain.projects import utc_now
from cellhub.errors import ImageNotFound
from cellhub.ports.blob_store import CompletedPart
from cellhub.ports.images_repository import ImageOrder
from cellhub.ports.projects_repository import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT
from cellhub.services import deletion
from cellhub.services.uploads import FileSpec
from cellhub_api.container import HubServices
from cellhub_api.deps import EditorAccess, Services, ViewerAccess
from cellhub_api.routes.blobs import object_created
from cellhub_api.schemas.images import (
    ImageDetailOut,
    ImageOut,
    ImagePage,
    ImagesDelete,
    ImagesDeleted,
    MultipartComplete,
    UploadCreate,
    UploadPlanOut,
)

router = APIRouter(prefix="/projects/{project_id}", tags=["images"])

# Image URLs are for showing the image now; a client asks again rather than keeping them.
IMAGE_URL_TTL = 300


@router.post("/uploads", status_code=201)
def plan_uploads(body: UploadCreate, access: EditorAccess, services: Services) -> UploadPlanOut:
    """Create an ``uploading`` image per file and say where each file's bytes go."""
    specs = [FileSpec(f.name, f.size, f.content_type) for f in body.files]
    return UploadPlanOut.of(services.uploads.plan(access.project_id, specs))


@router.post("/uploads/{image_id}/complete")
async def complete_upload(
    image_id: str, body: MultipartComplete, access: EditorAccess, services: Services
) -> ImageOut:
    """Join a multipart upload's parts into the image's original."""
    parts = [CompletedPart(p.part_number, p.etag) for p in body.parts]
    info = await run_in_threadpool(
        services.uploads.complete_multipart, access.project_id, image_id, body.upload_id, parts
    )
    if isinstance(services.blobs, FilesystemBlobStore):
        # S3 raises ObjectCreated for a completed multipart upload; the local store does not.
        await run_in_threadpool(object_created, services, info.key, etag=info.etag, size=info.size)
    return ImageOut.of(_image(services, access.project_id, image_id))


@router.get("/images")
def list_images(
    access: ViewerAccess,
    services: Services,
    status: Annotated[list[ImageStatus] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT)] = DEFAULT_PAGE_LIMIT,
    order: ImageOrder = "created",
) -> ImagePage:
    """A page of the project's images, optionally only those in the given statuses."""
    page = services.images.list(
        access.project_id, status=status or None, cursor=cursor, limit=limit, order=order
    )
    return ImagePage(items=[ImageOut.of(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/images/{image_id}")
def get_image(image_id: str, access: ViewerAccess, services: Services) -> ImageDetailOut:
    """The image with download URLs for its original and thumbnail, valid for minutes."""
    image = _image(services, access.project_id, image_id)
    detail = ImageDetailOut(**ImageOut.of(image).model_dump())
    if image.status is ImageStatus.UPLOADING:
        return detail
    blobs = services.blobs
    detail.original_url = blobs.presign_download(
        image.blob_key, expires_in=IMAGE_URL_TTL, filename=_safe_filename(image.name)
    )
    if image.thumbnail_key is not None:
        detail.thumbnail_url = blobs.presign_download(image.thumbnail_key, expires_in=IMAGE_URL_TTL)
    detail.urls_expire_at = utc_now() + timedelta(seconds=IMAGE_URL_TTL)
    return detail


@router.delete("/images/{image_id}", status_code=204)
def delete_image(image_id: str, access: EditorAccess, services: Services) -> Response:
    """Delete the image, its versions and every blob they point at."""

    image = _image(services, access.project_id, image_id)
    deletion.delete_images(services.images, services.blobs, access.project_id, [image])
    return Response(status_code=204)


@router.post("/images/delete")
def delete_images(body: ImagesDelete, access: EditorAccess, services: Services) -> ImagesDeleted:
    """Delete those of the images that are in the project; other ids are skipped."""

    found = [services.images.get(access.project_id, i) for i in dict.fromkeys(body.image_ids)]
    images = [image for image in found if image is not None]
    return ImagesDeleted(
        deleted=deletion.delete_images(services.images, services.blobs, access.project_id, images)
    )


def _image(services: HubServices, project_id: str, image_id: str) -> Image:
    image = services.images.get(project_id, image_id)
    if image is None:
        raise ImageNotFound("no such image in this project", image_id=image_id)
    return image


def _safe_filename(name: str) -> str:
    # Display names may hold quotes or backslashes, which a signed filename may not.
    return name.replace('"', "_").replace("\\", "_")
