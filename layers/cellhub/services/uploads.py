"""Upload planning: validate a batch of files, create their records and hand out upload targets.

The bytes never pass through this service. ``plan`` answers each file with a presigned POST
(small files) or a multipart plan of presigned part URLs (large files); the storage's
ObjectCreated event then reaches ``ThumbnailService``. A user's file name is display data
only: every blob key is built from ids (``original_key``), so no name can choose where its
bytes land.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cellhub.domain.events import UploadAccepted
from cellhub.domain.images import Image, ImageStatus
from cellhub.domain.projects import utc_now
from cellhub.errors import Conflict, ImageNotFound, InvalidParameter, UploadTooLarge
from cellhub.ports.blob_store import (
    MAX_PART_BYTES,
    MAX_PARTS,
    MIN_PART_BYTES,
    BlobInfo,
    BlobStore,
    CompletedPart,
    UploadTarget,
)
from cellhub.ports.images_repository import MAX_IMAGES_PER_BATCH, ImagesRepository
from cellhub.ports.notifier import Notifier
from cellhub.settings import get_settings

MAX_DISPLAY_NAME_CHARS = 255
FALLBACK_NAME = "image"
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/bmp", "image/tiff"})
# Browsers send no image type for OME-TIFF and often none for TIFF; the decoder goes by
# magic bytes anyway, so a generic type is accepted for these names only.
GENERIC_TYPE = "application/octet-stream"
GENERIC_TYPE_SUFFIXES = (".ome.tif", ".ome.tiff", ".tif", ".tiff")


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One file the client is about to upload, as it declares it."""

    name: str
    size: int
    content_type: str


@dataclass(frozen=True, slots=True)
class MultipartPlan:
    """PUT part N (1-based) of ``part_size`` bytes (the last may be shorter) to
    ``part_urls[N - 1]``, then call ``complete_multipart`` with the etags the PUTs returned."""

    upload_id: str
    part_size: int
    part_urls: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PlannedUpload:
    """Where one file goes: exactly one of ``post`` and ``multipart`` is set."""

    image_id: str
    display_name: str
    key: str
    post: UploadTarget | None = None
    multipart: MultipartPlan | None = None


@dataclass(frozen=True, slots=True)
class UploadPlan:
    project_id: str
    # In the order of the files asked for.
    uploads: tuple[PlannedUpload, ...]


def original_key(project_id: str, image_id: str) -> str:
    return f"projects/{project_id}/originals/{image_id}"


def display_name(name: str) -> str:
    """``name`` fit to show: no folders, control or format characters, at most 255 chars.

    Format characters go too because a right-to-left override can disguise an extension.
    A name cut for length keeps its extension.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    text = unicodedata.normalize("NFC", base)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf")).strip()
    if text in ("", ".", ".."):
        return FALLBACK_NAME
    if len(text) > MAX_DISPLAY_NAME_CHARS:
        stem, dot, suffix = text.rpartition(".")
        if dot and stem and len(suffix) < 16:
            text = stem[: MAX_DISPLAY_NAME_CHARS - len(suffix) - 1] + "." + suffix
        else:
            text = text[:MAX_DISPLAY_NAME_CHARS]
    return text


class UploadService:
    """Plans uploads into a project and completes multipart uploads."""

    def __init__(
        self,
        images: ImagesRepository,
        blobs: BlobStore,
        notifier: Notifier,
        *,
        max_file_bytes: int | None = None,
        multipart_threshold: int = 64 * 1024**2,
        part_size: int = 16 * 1024**2,
        url_ttl: int = 3600,
        allowed_types: frozenset[str] = IMAGE_TYPES | {GENERIC_TYPE},
    ) -> None:
        self._images = images
        self._blobs = blobs
        self._notifier = notifier
        limit = get_settings().max_upload_bytes if max_file_bytes is None else max_file_bytes
        if not MIN_PART_BYTES <= part_size <= MAX_PART_BYTES:
            raise InvalidParameter("part_size is outside S3's part limits", part_size=part_size)
        if math.ceil(limit / part_size) > MAX_PARTS:
            raise InvalidParameter("the file limit needs more than 10,000 parts", limit=limit)
        if not 0 < multipart_threshold <= MAX_PART_BYTES:
            raise InvalidParameter("multipart_threshold must be 1 B..5 GiB")
        self._max_file_bytes = limit
        self._multipart_threshold = multipart_threshold
        self._part_size = part_size
        self._url_ttl = url_ttl
        self._allowed_types = frozenset(t.lower() for t in allowed_types)

    def plan(self, project_id: str, files: Sequence[FileSpec]) -> UploadPlan:
        """Create an ``uploading`` record per file and return where each one goes.

        The whole request is refused, before anything is written, if any file is invalid:
        ``InvalidParameter`` for the count, an empty file or a type not allowed,
        ``UploadTooLarge`` for a file over the limit; each names the file. ``ProjectNotFound``
        if the project does not exist.
        """
        if not 1 <= len(files) <= MAX_IMAGES_PER_BATCH:
            raise InvalidParameter(
                f"an upload holds 1..{MAX_IMAGES_PER_BATCH} files", count=len(files)
            )
        images = [self._new_image(project_id, index, spec) for index, spec in enumerate(files)]
        self._images.add_many(images)
        uploads = tuple(self._target(image) for image in images)
        self._notifier.publish(
            UploadAccepted(project_id=project_id, image_ids=tuple(i.id for i in images))
        )
        return UploadPlan(project_id=project_id, uploads=uploads)

    def complete_multipart(
        self, project_id: str, image_id: str, upload_id: str, parts: Sequence[CompletedPart]
    ) -> BlobInfo:
        """Join the uploaded parts of the image's original; return the stored object.

        ``ImageNotFound`` unless the image is in the project, ``Conflict`` once it has left
        ``uploading``; the store raises ``BlobNotFound`` for an upload id of another key and
        ``InvalidParameter`` for missing parts or wrong etags. An object larger than the
        size declared in ``plan`` is deleted and the image marked ``failed``, since parts
        cannot carry a signed size limit as a POST does.
        """
        image = self._images.get(project_id, image_id)
        if image is None:
            raise ImageNotFound("no such image in this project", image_id=image_id)
        if image.status is not ImageStatus.UPLOADING:
            raise Conflict("the image is no longer uploading", status=image.status.value)
        info = self._blobs.complete_multipart(image.blob_key, upload_id, list(parts))
        if info.size > image.size:
            self._blobs.delete(image.blob_key)
            reason = f"uploaded {info.size} bytes, declared {image.size}"
            self._images.update_status(
                image_id, [ImageStatus.UPLOADING], ImageStatus.FAILED, reason=reason
            )
            raise UploadTooLarge(reason, name=image.name, max_bytes=image.size)
        return info

    def _new_image(self, project_id: str, index: int, spec: FileSpec) -> Image:
        name = display_name(spec.name)
        if spec.size <= 0:
            raise InvalidParameter("file is empty", name=name, index=index, size=spec.size)
        if spec.size > self._max_file_bytes:
            raise UploadTooLarge(
                f"{name} is over the {self._max_file_bytes}-byte upload limit",
                name=name,
                index=index,
                size=spec.size,
                max_bytes=self._max_file_bytes,
            )
        content_type = spec.content_type.split(";", 1)[0].strip().lower()
        allowed = content_type in self._allowed_types and (
            content_type != GENERIC_TYPE or name.lower().endswith(GENERIC_TYPE_SUFFIXES)
        )
        if not allowed:
            raise InvalidParameter(
                f"{name}: content type not accepted", name=name, index=index, type=content_type
            )
        image = Image.new(project_id, name, size=spec.size, content_type=content_type, blob_key="")
        # The key is built from the fresh id alone.
        return replace(image, blob_key=original_key(project_id, image.id))

    def _target(self, image: Image) -> PlannedUpload:
        if image.size <= self._multipart_threshold:
            # The exact declared size as the cap: a client cannot store more than it announced.
            post = self._blobs.presign_upload(
                image.blob_key,
                max_bytes=image.size,
                content_type=image.content_type,
                expires_in=self._url_ttl,
            )
            return PlannedUpload(image.id, image.name, image.blob_key, post=post)
        upload_id = self._blobs.start_multipart(image.blob_key, content_type=image.content_type)
        count = math.ceil(image.size / self._part_size)
        urls = tuple(
            self._blobs.presign_part(image.blob_key, upload_id, n, expires_in=self._url_ttl)
            for n in range(1, count + 1)
        )
        plan = MultipartPlan(
            upload_id=upload_id,
            part_size=self._part_size,
            part_urls=urls,
            expires_at=utc_now() + timedelta(seconds=self._url_ttl),
        )
        return PlannedUpload(image.id, image.name, image.blob_key, multipart=plan)
