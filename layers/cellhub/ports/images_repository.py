"""The images repository port: image records, their status life cycle and segmentation versions.

Handlers run at least once, so every write a handler makes is conditional and safe to repeat.
How each maps onto DynamoDB (the item table is in ``cellhub.adapters.aws.dynamodb_table``):
each image is its own partition ``IMAGE#id`` holding the image item, its version items
(``VERSION#000004``) and the per-job marks of model results, so writes by image id are
single-partition and strongly consistent; a project's listings in every order and status are
key ranges of GSIs, never filters:

- ``add_many``: ``TransactWriteItems`` of 100 puts each with ``attribute_not_exists(PK)``
  (DynamoDB's transaction limit), so one batch is atomic per chunk of 100, not as a whole;
  a retried upload request writes the same ids and fails the condition instead of
  duplicating. SQLite commits the whole batch in one transaction.
- ``update_status``: ``UpdateItem`` with ``#status IN (:from1, ...)``; a failed condition
  (or a missing image) returns False rather than raising.
- ``add_version``: ``TransactWriteItems`` of the version item (``attribute_not_exists``) and
  the image update ``SET latest_version = :n, object_count = :c`` with
  ``latest_version = :expected``; on ``TransactionCanceled`` the adapter reads the image and
  raises ``SegmentationVersionConflict(current_version=...)``.
- ``add_model_version_once``: the same transaction plus an idempotency item
  [``IMAGE#id``/``JOB#job``] with ``attribute_not_exists``, holding the version number; when
  that item exists the stored version is returned; a conflict on ``latest_version`` with a
  concurrent manual edit is retried with the new number.

Versions are numbered 1, 2, ... per image with no gaps; ``Image.latest_version`` and
``object_count`` always describe the newest one.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from typing import Any, Literal, Protocol

from cellhub.domain.images import (
    IMAGE_FACTS,
    Image,
    ImageStatus,
    SegmentationVersion,
    can_transition,
)
from cellhub.errors import InvalidParameter
from cellhub.ports.projects_repository import DEFAULT_PAGE_LIMIT, Page

MAX_IMAGES_PER_BATCH = 10_000

# "created": oldest first; "name": by name. A leading "-" reverses. Ties go by image id.
ImageOrder = Literal["created", "-created", "name", "-name"]


class ImagesRepository(Protocol):
    """Image records and versions. Safe to call from several threads and processes at once."""

    def add_many(self, images: Sequence[Image]) -> None:
        """Store up to ``MAX_IMAGES_PER_BATCH`` new images of one project.

        All or none (in DynamoDB: per transaction of 100; ids are fresh, so a retry of a
        half-written batch fails on the first stored id and is resolved by the caller).

        Raise ``ProjectNotFound`` for a missing project, ``DuplicateRecord`` for an id that
        exists, ``InvalidParameter`` for an oversized or mixed-project batch.
        """
        ...

    def get(self, project_id: str, image_id: str) -> Image | None:
        """The image, or None when it does not exist *in this project*."""
        ...

    def list(
        self,
        project_id: str,
        *,
        status: ImageStatus | Collection[ImageStatus] | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE_LIMIT,
        order: ImageOrder = "created",
    ) -> Page[Image]:
        """A page of the project's images; pass ``next_cursor`` with the same filters."""
        ...

    def update_status(
        self,
        image_id: str,
        from_statuses: Collection[ImageStatus],
        to_status: ImageStatus,
        reason: str | None = None,
        **facts: Any,
    ) -> bool:
        """Move the image to ``to_status`` only if its status is one of ``from_statuses``.

        Return whether it moved. ``reason`` replaces the stored reason (None clears it);
        ``facts`` may set the fields in ``cellhub.domain.images.IMAGE_FACTS``. Raise
        ``InvalidParameter`` for a change ``ALLOWED_TRANSITIONS`` forbids.
        """
        ...

    def delete_many(self, project_id: str, image_ids: Collection[str]) -> int:
        """Delete those of the images that belong to the project, with their versions."""
        ...

    def add_version(
        self, image_id: str, expected_latest: int, record: SegmentationVersion
    ) -> SegmentationVersion:
        """Store ``record`` as version ``expected_latest + 1`` and point the image at it.

        Raise ``SegmentationVersionConflict`` (with ``current_version``) when the image's
        latest version is no longer ``expected_latest``, ``ImageNotFound`` when it is gone.
        ``record.version`` is ignored; the stored record is returned.
        """
        ...

    def add_model_version_once(
        self, image_id: str, job_id: str, record: SegmentationVersion
    ) -> SegmentationVersion:
        """Append the model's result of ``job_id`` unless that job already wrote one.

        A repeated call for the same job and image returns the version stored first.
        """
        ...

    def get_version(self, image_id: str, version: int | None = None) -> SegmentationVersion | None:
        """That version, or the latest when ``version`` is None; None if there is none."""
        ...

    def list_versions(self, image_id: str) -> builtins.list[SegmentationVersion]:
        """Every version of the image, oldest first."""
        ...


def check_batch(images: Sequence[Image]) -> str:
    """The one project a non-empty ``add_many`` batch belongs to; ``InvalidParameter`` for a
    batch over ``MAX_IMAGES_PER_BATCH`` or one that mixes projects."""
    if len(images) > MAX_IMAGES_PER_BATCH:
        raise InvalidParameter(
            f"at most {MAX_IMAGES_PER_BATCH} images per batch", count=len(images)
        )
    project_id = images[0].project_id
    if any(image.project_id != project_id for image in images):
        raise InvalidParameter("a batch of images belongs to one project")
    return project_id


def check_status_change(
    from_statuses: Collection[ImageStatus], to_status: ImageStatus, facts: Collection[str]
) -> None:
    """``InvalidParameter`` unless every ``from`` status may move to ``to_status`` and every
    fact is one of ``IMAGE_FACTS`` (the only fields ``update_status`` may set)."""
    forbidden = [s.value for s in from_statuses if not can_transition(s, to_status)]
    if forbidden or not from_statuses:
        raise InvalidParameter(
            "image status change not allowed", from_statuses=forbidden, to_status=to_status
        )
    unknown = set(facts) - IMAGE_FACTS
    if unknown:
        raise InvalidParameter("unknown image facts", facts=sorted(unknown))
