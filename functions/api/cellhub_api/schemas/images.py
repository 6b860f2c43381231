"""Request and response bodies for images and direct uploads (``/uploads``, ``/images``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cellhub.domain.images import Image, ImageStatus
from cellhub.ports.blob_store import MAX_PARTS
from cellhub.ports.images_repository import MAX_IMAGES_PER_BATCH
from cellhub.ports.projects_repository import MAX_PAGE_LIMIT
from cellhub.services.uploads import MultipartPlan, PlannedUpload, UploadPlan


class FileIn(BaseModel):
    """One file the client is about to upload, as it declares it."""

    model_config = ConfigDict(extra="forbid")

    # Display data only: the blob key is built from ids, never from this.
    name: str = Field(min_length=1, max_length=4096)
    size: int = Field(gt=0)
    content_type: str = Field(default="application/octet-stream", max_length=255)


class UploadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: list[FileIn] = Field(min_length=1, max_length=MAX_IMAGES_PER_BATCH)


class PostTargetOut(BaseModel):
    """A presigned POST: send every field, unchanged, then the bytes as the ``file`` field."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


class MultipartPlanOut(BaseModel):
    """PUT part N (1-based) of ``part_size`` bytes to ``part_urls[N - 1]``, then complete."""

    upload_id: str
    part_size: int
    part_urls: list[str]
    expires_at: datetime

    @classmethod
    def of(cls, plan: MultipartPlan) -> MultipartPlanOut:
        return cls(
            upload_id=plan.upload_id,
            part_size=plan.part_size,
            part_urls=list(plan.part_urls),
            expires_at=plan.expires_at,
        )


class PlannedUploadOut(BaseModel):
    """Where one file goes: exactly one of ``post`` and ``multipart`` is set."""

    image_id: str
    name: str
    post: PostTargetOut | None = None
    multipart: MultipartPlanOut | None = None

    @classmethod
    def of(cls, planned: PlannedUpload) -> PlannedUploadOut:
        post = planned.post
        return cls(
            image_id=planned.image_id,
            name=planned.display_name,
            post=PostTargetOut(url=post.url, fields=post.fields, expires_at=post.expires_at)
            if post is not None
            else None,
            multipart=MultipartPlanOut.of(planned.multipart) if planned.multipart else None,
        )


class UploadPlanOut(BaseModel):
    project_id: str
    # In the order of the files asked for.
    uploads: list[PlannedUploadOut]

    @classmethod
    def of(cls, plan: UploadPlan) -> UploadPlanOut:
        return cls(
            project_id=plan.project_id, uploads=[PlannedUploadOut.of(u) for u in plan.uploads]
        )


class PartIn(BaseModel):
    part_number: int = Field(ge=1, le=MAX_PARTS)
    # The ETag header the part's PUT answered with; quotes are ignored.
    etag: str = Field(min_length=1, max_length=128)


class MultipartComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upload_id: str = Field(min_length=1, max_length=128)
    parts: list[PartIn] = Field(min_length=1, max_length=MAX_PARTS)


class ImageOut(BaseModel):
    """An image record; decoded facts (width ... dtype) are null until it is ``ready``."""

    id: str
    project_id: str
    name: str
    size: int
    content_type: str
    status: ImageStatus
    reason: str | None
    width: int | None
    height: int | None
    channels: int | None
    dtype: str | None
    has_thumbnail: bool
    latest_version: int
    object_count: int
    created_at: datetime

    @classmethod
    def of(cls, image: Image) -> ImageOut:
        return cls(
            id=image.id,
            project_id=image.project_id,
            name=image.name,
            size=image.size,
            content_type=image.content_type,
            status=image.status,
            reason=image.reason,
            width=image.width,
            height=image.height,
            channels=image.channels,
            dtype=image.dtype,
            has_thumbnail=image.thumbnail_key is not None,
            latest_version=image.latest_version,
            object_count=image.object_count,
            created_at=image.created_at,
        )


class ImageDetailOut(ImageOut):
    """An image with short-lived download URLs for its original and thumbnail."""

    original_url: str | None = None
    thumbnail_url: str | None = None
    urls_expire_at: datetime | None = None


class ImagePage(BaseModel):
    items: list[ImageOut]
    # Pass back as ``cursor`` with the same filters; null on the last page.
    next_cursor: str | None


class ImagesDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image_ids: list[str] = Field(min_length=1, max_length=MAX_PAGE_LIMIT)


class ImagesDeleted(BaseModel):
    deleted: int
