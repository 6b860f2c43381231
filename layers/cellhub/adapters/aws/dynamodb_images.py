"""The images repository on DynamoDB: image, version and model-result items (see the port).

An image lives in its own partition ``IMAGE#<id>`` with its versions and the marks of the
jobs that wrote them, so the writes handlers make by image id alone (status changes, new
versions) are single-partition conditional writes on strongly consistent keys, and the
project's listings are index views (``dynamodb_image_items``).

- ``add_many``: transactions of 99 puts (``attribute_not_exists``) plus a check that the
  project exists, so a batch is all-or-nothing per transaction of 100 actions.
- ``add_version``: the version put and ``latest_version = :expected`` on the image in one
  transaction; a cancelled one is read back as ``ImageNotFound`` or a version conflict.
- ``add_model_version_once``: the same, plus a put of the ``JOB#<job>`` mark; whoever finds
  the mark returns the version it names.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from cellhub.adapters.aws.dynamodb_expressions import Expression, only_if_new
from cellhub.adapters.aws.dynamodb_image_items import (
    image_from_item,
    image_key,
    image_to_item,
    list_images,
    model_mark_key,
    status_index,
    version_from_item,
    version_key,
    version_to_item,
)
from cellhub.adapters.aws.dynamodb_records import (
    TRANSACTION_LIMIT,
    DynamoRepository,
    check_action,
    failed,
    is_conditional_failure,
    key_condition,
    put_action,
    update_action,
)
from cellhub.domain.images import (
    Image,
    ImageStatus,
    SegmentationVersion,
)
from cellhub.errors import (
    DuplicateRecord,
    ImageNotFound,
    ProjectNotFound,
    SegmentationVersionConflict,
    WriteContention,
)
from cellhub.ports.images_repository import ImageOrder, check_batch, check_status_change
from cellhub.ports.projects_repository import DEFAULT_PAGE_LIMIT, Page, check_limit

# One action of each transaction checks the project, the rest put images.
_IMAGES_PER_TRANSACTION = TRANSACTION_LIMIT - 1
# Racing model writes each try again after losing; one of them wins every round.
_MODEL_WRITE_ATTEMPTS = 32


class DynamoImagesRepository(DynamoRepository):
    """An ``ImagesRepository`` in the hub table (a boto3 ``Table`` resource)."""

    def add_many(self, images: Sequence[Image]) -> None:
        if not images:
            return
        project_id = check_batch(images)
        if len({image.id for image in images}) != len(images):
            raise DuplicateRecord("a batch names one image id twice")
        project, absent = Expression(), only_if_new()
        project.exists()
        project_check = check_action(f"PROJECT#{project_id}", "PROJECT", project)
        for start in range(0, len(images), _IMAGES_PER_TRANSACTION):
            chunk = images[start : start + _IMAGES_PER_TRANSACTION]
            puts = [put_action(image_to_item(image), absent) for image in chunk]
            codes = self._transact([project_check, *puts])
            if codes is None:
                continue
            if failed(codes, 0):
                raise ProjectNotFound("no such project", project_id=project_id)
            raise DuplicateRecord("an image with one of these ids exists")

    def get(self, project_id: str, image_id: str) -> Image | None:
        item = self._get(*image_key(image_id))
        if item is None or item["project_id"] != project_id:
            return None
        return image_from_item(item)

    def list(
        self,
        project_id: str,
        *,
        status: ImageStatus | Collection[ImageStatus] | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE_LIMIT,
        order: ImageOrder = "created",
    ) -> Page[Image]:
        check_limit(limit)
        statuses = None
        if status is not None:
            statuses = [status] if isinstance(status, ImageStatus) else builtins.list(status)
        query = functools.partial(self._client.query, TableName=self._table_name)
        return list_images(query, project_id, statuses, cursor, limit, order)

    def update_status(
        self,
        image_id: str,
        from_statuses: Collection[ImageStatus],
        to_status: ImageStatus,
        reason: str | None = None,
        **facts: Any,
    ) -> bool:
        check_status_change(from_statuses, to_status, facts)
        # The project id (part of the status index keys) never changes, so reading it
        # before the conditional write is safe.
        item = self._get(*image_key(image_id))
        if item is None or item["status"] not in {s.value for s in from_statuses}:
            return False
        change = Expression()
        change.set("status", to_status.value)
        change.set("reason", reason)
        for name, value in facts.items():
            change.set(name, value)
        change.set("gsi3pk", status_index(item["project_id"], to_status))
        change.set("gsi4pk", status_index(item["project_id"], to_status))
        change.exists()
        change.where(Attr("status").is_in([s.value for s in from_statuses]))
        return self._update(*image_key(image_id), change) is not None

    def delete_many(self, project_id: str, image_ids: Collection[str]) -> int:
        deleted = 0
        in_project = Expression()
        in_project.where(Attr("project_id").eq(project_id))
        for image_id in dict.fromkeys(image_ids):
            try:
                reply = self._client.delete_item(
                    TableName=self._table_name,
                    Key=dict(zip(("pk", "sk"), image_key(image_id), strict=True)),
                    **in_project.parts(),
                    ReturnValues="ALL_OLD",
                )
            except ClientError as error:
                if is_conditional_failure(error):
                    continue  # missing, or another project's image
                raise
            deleted += 1
            self.purge([reply["Attributes"]])
        return deleted

    def purge(self, items: Sequence[dict[str, Any]]) -> None:
        """Delete these image items with their versions and model marks (unconditionally)."""
        keys = [image_key(item["id"]) for item in items]
        for item in items:
            if int(item.get("latest_version", 0)) > 0:
                keys += [(i["pk"], i["sk"]) for i in self._partition(f"IMAGE#{item['id']}")]
        self._delete_keys(keys)

    def add_version(
        self, image_id: str, expected_latest: int, record: SegmentationVersion
    ) -> SegmentationVersion:
        stored = replace(record, image_id=image_id, version=expected_latest + 1)
        codes = self._transact(self._append(stored, expected_latest))
        if codes is None:
            return stored
        image = self._get(*image_key(image_id))
        if image is None:
            raise ImageNotFound("no such image", image_id=image_id)
        raise SegmentationVersionConflict(
            "the image was saved since this version was loaded",
            current_version=int(image["latest_version"]),
            image_id=image_id,
        )

    def add_model_version_once(
        self, image_id: str, job_id: str, record: SegmentationVersion
    ) -> SegmentationVersion:
        mark_pk, mark_sk = model_mark_key(image_id, job_id)
        for _ in range(_MODEL_WRITE_ATTEMPTS):
            mark = self._get(mark_pk, mark_sk)
            if mark is not None:
                written = self.get_version(image_id, int(mark["version"]))
                if written is None:
                    raise ImageNotFound("the image was deleted", image_id=image_id)
                return written
            image = self._get(*image_key(image_id))
            if image is None:
                raise ImageNotFound("no such image", image_id=image_id)
            latest = int(image["latest_version"])
            stored = replace(record, image_id=image_id, job_id=job_id, version=latest + 1)
            mark_item = {"pk": mark_pk, "sk": mark_sk, "version": stored.version}
            actions = [*self._append(stored, latest), put_action(mark_item, only_if_new())]
            if self._transact(actions) is None:
                return stored
            # Another write of this job (or a manual edit) got in first: look again.
        raise WriteContention("model version kept conflicting with concurrent writes")

    @staticmethod
    def _append(record: SegmentationVersion, expected_latest: int) -> builtins.list[dict[str, Any]]:
        """The transaction actions that store ``record`` and point the image at it."""
        image = Expression()
        image.set("latest_version", record.version)
        image.set("object_count", record.object_count)
        image.exists()
        image.where(Attr("latest_version").eq(expected_latest))
        return [
            update_action(*image_key(record.image_id), image),
            put_action(version_to_item(record), only_if_new()),
        ]

    def get_version(self, image_id: str, version: int | None = None) -> SegmentationVersion | None:
        if version is not None:
            item = self._get(*version_key(image_id, version))
            return None if item is None else version_from_item(item)
        newest_first = Key("pk").eq(f"IMAGE#{image_id}") & Key("sk").begins_with("VERSION#")
        reply = self._client.query(
            TableName=self._table_name,
            **key_condition(newest_first),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = reply.get("Items", [])
        return version_from_item(items[0]) if items else None

    def list_versions(self, image_id: str) -> builtins.list[SegmentationVersion]:
        return [
            version_from_item(item) for item in self._partition(f"IMAGE#{image_id}", "VERSION#")
        ]
