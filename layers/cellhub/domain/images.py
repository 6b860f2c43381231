"""Images and their segmentation versions, with the image status life cycle.

An image record holds facts and pointers, never pixels or polygons: the original, its
thumbnail and every segmentation document (gzip JSON, ``cellhub.segmentation/1``) live in
the blob store under the ``*_key`` fields. That keeps each record far below DynamoDB's
400 KB item limit however many objects an image holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from cellhub.domain.projects import new_id, utc_now

VersionSource = Literal["model", "manual"]


class ImageStatus(StrEnum):
    UPLOADING = "uploading"
    READY = "ready"
    REJECTED = "rejected"
    QUEUED = "queued"
    PROCESSING = "processing"
    SEGMENTED = "segmented"
    FAILED = "failed"


# The allowed status changes; repositories refuse any other.
#
#   uploading  → ready | rejected          thumbnail handler decoded (or refused) the bytes
#              → failed                    the upload never completed or could not be read
#   ready      → queued                    a segmentation job took the image
#              → segmented                 a first manual version was drawn by hand
#   queued     → processing                a worker claimed its message
#              → ready | segmented         the job was cancelled: back to where it was
#              → failed                    the message was dead-lettered
#   processing → segmented | failed        the worker finished (or gave up)
#              → queued                    the worker crashed; the message is redelivered
#              → ready                     the job was cancelled before any version existed
#   segmented  → queued                    segmented again, e.g. with another model
#   failed     → queued                    retried
#              → segmented                 drawn by hand after all
#   rejected   (final)                     the bytes are not a usable image; upload again
ALLOWED_TRANSITIONS: dict[ImageStatus, frozenset[ImageStatus]] = {
    ImageStatus.UPLOADING: frozenset({ImageStatus.READY, ImageStatus.REJECTED, ImageStatus.FAILED}),
    ImageStatus.READY: frozenset({ImageStatus.QUEUED, ImageStatus.SEGMENTED}),
    ImageStatus.QUEUED: frozenset(
        {ImageStatus.PROCESSING, ImageStatus.READY, ImageStatus.SEGMENTED, ImageStatus.FAILED}
    ),
    ImageStatus.PROCESSING: frozenset(
        {ImageStatus.SEGMENTED, ImageStatus.FAILED, ImageStatus.QUEUED, ImageStatus.READY}
    ),
    ImageStatus.SEGMENTED: frozenset({ImageStatus.QUEUED}),
    ImageStatus.FAILED: frozenset({ImageStatus.QUEUED, ImageStatus.SEGMENTED}),
    ImageStatus.REJECTED: frozenset(),
}


def can_transition(current: ImageStatus, target: ImageStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


# Facts the thumbnail handler (and re-uploads) may record alongside a status change.
IMAGE_FACTS = frozenset(
    {"width", "height", "channels", "dtype", "thumbnail_key", "blob_key", "size", "content_type"}
)


@dataclass(frozen=True, slots=True)
class Image:
    """One uploaded image. Decoded facts (width ... dtype) are None until it is ``ready``.

    ``latest_version`` is 0 while no segmentation exists; ``object_count`` is the object
    count of that latest version.
    """

    id: str
    project_id: str
    name: str
    size: int
    content_type: str
    blob_key: str
    status: ImageStatus = ImageStatus.UPLOADING
    reason: str | None = None
    width: int | None = None
    height: int | None = None
    channels: int | None = None
    dtype: str | None = None
    thumbnail_key: str | None = None
    created_at: datetime = field(default_factory=utc_now)
    latest_version: int = 0
    object_count: int = 0

    @classmethod
    def new(
        cls, project_id: str, name: str, *, size: int, content_type: str, blob_key: str
    ) -> Image:
        return cls(
            id=new_id(),
            project_id=project_id,
            name=name,
            size=size,
            content_type=content_type,
            blob_key=blob_key,
        )


# Limits of one segmentation document, checked when an edit is saved (and by the API's
# request schemas before that).
MAX_POLYGONS = 100_000
MAX_VERTICES = 5_000_000
MAX_CLASS_NAME = 100


@dataclass(frozen=True, slots=True)
class SegmentationVersion:
    """One saved segmentation of an image; versions count 1, 2, ... per image.

    ``job_id`` is set for model output (it makes the write idempotent per job and image)
    and None for manual edits.
    """

    image_id: str
    version: int
    blob_key: str
    object_count: int
    model: str
    threshold: float | None
    source: VersionSource
    job_id: str | None
    created_by: str
    created_at: datetime = field(default_factory=utc_now)
