"""The upload-completed step: decode a new original, store its thumbnail, mark it ready or rejected.

``handle_object_created`` is the body of the storage's ObjectCreated handler (the S3 event
Lambda in the cloud, the upload-completed hook of the local hub). Delivery is at least once
and may be concurrent, so the step is idempotent: only an image still ``uploading`` is
handled, the thumbnail key is fixed per image (a repeated write stores the same bytes), and
the conditional status change decides which delivery publishes the event.
"""

from __future__ import annotations

import logging

from cellhub.domain.events import ImageRejected, ThumbnailReady
from cellhub.domain.images import Image, ImageStatus
from cellhub.errors import (
    BlobNotFound,
    CellhubError,
    ImageError,
    ImageTooLarge,
    ProcessingError,
)
from cellhub.imageio import read_image
from cellhub.ports.blob_store import BlobStore, normalise_etag
from cellhub.ports.images_repository import ImagesRepository
from cellhub.ports.notifier import Notifier
from cellhub.settings import get_settings
from cellhub.thumbnail import DEFAULT_MAX_SIDE, thumbnail_for

THUMBNAIL_TYPE = "image/jpeg"


log = logging.getLogger(__name__)


def thumbnail_key(project_id: str, image_id: str) -> str:
    return f"projects/{project_id}/thumbnails/{image_id}.jpg"


def parse_original_key(key: str) -> tuple[str, str] | None:
    """``(project_id, image_id)`` of an original's key, or None for any other key.

    Only ``projects/<p>/originals/<image_id>`` matches, so the thumbnails this step writes
    (and every other object) can never set it off again.
    """
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "projects" or parts[2] != "originals":
        return None
    project_id, image_id = parts[1], parts[3]
    if not project_id or not image_id:
        return None
    return project_id, image_id


class ThumbnailService:
    """Turns a freshly stored original into a ``ready`` image with a thumbnail."""

    def __init__(
        self,
        images: ImagesRepository,
        blobs: BlobStore,
        notifier: Notifier,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
    ) -> None:
        self._images = images
        self._blobs = blobs
        self._notifier = notifier
        self._max_side = max_side

    def handle_object_created(self, key: str, etag: str | None = None) -> Image | None:
        """Handle the creation of the object at ``key``; return the image as it now stands.

        None when the key is not an original, its image is unknown, or the object is gone or
        is not the one ``etag`` names (a later event covers the object that replaced it).
        An image no longer ``uploading`` is returned unchanged: duplicate notifications
        write and publish nothing. Bytes that do not decode reject the image with
        ``"<code>: <reason>"``; any other failure propagates so that the event is retried.
        """
        parsed = parse_original_key(key)
        if parsed is None:
            return None
        project_id, image_id = parsed
        image = self._images.get(project_id, image_id)
        if image is None or image.status is not ImageStatus.UPLOADING:
            return image
        try:
            info = self._blobs.head(key)
        except BlobNotFound:
            return None
        if etag is not None and normalise_etag(etag) != info.etag:
            return None
        limit = get_settings().max_image_bytes
        if info.size > limit:
            # Refused from the size alone, before the bytes are held in memory.
            too_large = ImageTooLarge(f"{image.name}: file is over {limit} bytes", name=image.name)
            return self._reject(image, too_large)
        try:
            data = self._blobs.get(key)
        except BlobNotFound:
            return None
        try:
            decoded = read_image(data, name=image.name)
        except ImageError as error:
            return self._reject(image, error)
        thumb_key = thumbnail_key(project_id, image_id)
        self._blobs.put(
            thumb_key,
            thumbnail_for(decoded.pixels, max_side=self._max_side),
            content_type=THUMBNAIL_TYPE,
        )
        moved = self._images.update_status(
            image_id,
            [ImageStatus.UPLOADING],
            ImageStatus.READY,
            width=decoded.width,
            height=decoded.height,
            channels=decoded.channels,
            dtype=decoded.pixels.dtype.name,
            thumbnail_key=thumb_key,
        )
        if moved:
            self._notifier.publish(
                ThumbnailReady(
                    project_id=project_id,
                    image_id=image_id,
                    width=decoded.width,
                    height=decoded.height,
                )
            )
        return self._images.get(project_id, image_id)

    def give_up(self, key: str, error: Exception) -> Image | None:
        """The event for ``key`` failed on its last delivery: reject its image, still
        ``uploading``, so that it does not wait for ever. The error itself (which may name
        tables or buckets) goes to the log, not to the user. Idempotent."""
        parsed = parse_original_key(key)
        if parsed is None:
            return None
        image = self._images.get(*parsed)
        if image is None or image.status is not ImageStatus.UPLOADING:
            return image
        log.error("giving up on %s after repeated failures: %r", key, error)
        failure = ProcessingError("the image could not be processed; the hub's log has details")
        return self._reject(image, failure)

    def _reject(self, image: Image, error: CellhubError) -> Image | None:
        moved = self._images.update_status(
            image.id,
            [ImageStatus.UPLOADING],
            ImageStatus.REJECTED,
            reason=f"{error.code}: {error.reason}",
        )
        if moved:
            self._notifier.publish(
                ImageRejected(
                    project_id=image.project_id,
                    image_id=image.id,
                    code=error.code,
                    reason=error.reason,
                )
            )
        return self._images.get(image.project_id, image.id)
