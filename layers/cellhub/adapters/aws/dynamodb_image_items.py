"""Image and segmentation-version items of the hub table, and the paged image listing.

An image's keys put it in four index views of its project (see ``dynamodb_table``): by
creation (gsi1) and by name (gsi2), and by status and creation (gsi3) or status and name
(gsi4). Every order and status filter the port offers is a key range of one of them, so a
listing never filters: a page is one query per asked status, merged by sort key, each query
stopping after ``limit + 1`` items. The cursor is the index sort key of the page's last image
(sort keys end in the image id, so they are unique), and the next page's queries start after
it with ``>`` (or ``<`` when descending) in their key condition.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from typing import Any

from boto3.dynamodb.conditions import Key

from cellhub.adapters.aws.dynamodb_records import (
    decode_cursor,
    encode_cursor,
    key_condition,
    time_from_text,
    time_to_text,
    to_decimal,
    to_float,
    without_none,
)
from cellhub.domain.images import Image, ImageStatus, SegmentationVersion
from cellhub.errors import InvalidParameter
from cellhub.ports.projects_repository import Page

_IMAGE_FIELDS = tuple(f.name for f in fields(Image))
_VERSION_FIELDS = tuple(f.name for f in fields(SegmentationVersion))
# An index sort key may take 1024 bytes; the name part is cut to leave room for the id.
_MAX_NAME_KEY_BYTES = 960
# (index without status filter, index with one) per sort field.
_INDEXES = {"created": ("gsi1", "gsi3"), "name": ("gsi2", "gsi4")}


def image_key(image_id: str) -> tuple[str, str]:
    return f"IMAGE#{image_id}", "IMAGE"


def version_key(image_id: str, version: int) -> tuple[str, str]:
    return f"IMAGE#{image_id}", f"VERSION#{version:010d}"


def model_mark_key(image_id: str, job_id: str) -> tuple[str, str]:
    return f"IMAGE#{image_id}", f"JOB#{job_id}"


def status_index(project_id: str, status: ImageStatus | str) -> str:
    return f"PROJECT#{project_id}#STATUS#{ImageStatus(status).value}"


def _name_key(name: str, image_id: str) -> str:
    # Stored names hold no control characters, so U+0001 sorts below all of their text
    # and a name that is a prefix of another sorts first, as (name, id) tuples do.
    cut = name.encode()[:_MAX_NAME_KEY_BYTES].decode(errors="ignore")
    return f"{cut}\x01{image_id}"


def image_to_item(image: Image) -> dict[str, Any]:
    pk, sk = image_key(image.id)
    created_key = f"{time_to_text(image.created_at)}#{image.id}"
    name_key = _name_key(image.name, image.id)
    item = {name: getattr(image, name) for name in _IMAGE_FIELDS}
    item.update(
        pk=pk,
        sk=sk,
        status=image.status.value,
        created_at=time_to_text(image.created_at),
        gsi1pk=f"PROJECT#{image.project_id}#IMAGES",
        gsi1sk=created_key,
        gsi2pk=f"PROJECT#{image.project_id}#IMAGES",
        gsi2sk=name_key,
        gsi3pk=status_index(image.project_id, image.status),
        gsi3sk=created_key,
        gsi4pk=status_index(image.project_id, image.status),
        gsi4sk=name_key,
    )
    return without_none(item)


def image_from_item(item: dict[str, Any]) -> Image:
    values: dict[str, Any] = {name: item.get(name) for name in _IMAGE_FIELDS}
    for name in ("size", "width", "height", "channels", "latest_version", "object_count"):
        if values[name] is not None:
            values[name] = int(values[name])
    values["status"] = ImageStatus(item["status"])
    values["created_at"] = time_from_text(item["created_at"])
    return Image(**values)


def version_to_item(record: SegmentationVersion) -> dict[str, Any]:
    pk, sk = version_key(record.image_id, record.version)
    item = {name: getattr(record, name) for name in _VERSION_FIELDS}
    item.update(
        pk=pk,
        sk=sk,
        threshold=to_decimal(record.threshold),
        created_at=time_to_text(record.created_at),
    )
    return without_none(item)


def version_from_item(item: dict[str, Any]) -> SegmentationVersion:
    values: dict[str, Any] = {name: item.get(name) for name in _VERSION_FIELDS}
    values["version"] = int(item["version"])
    values["object_count"] = int(item["object_count"])
    values["threshold"] = to_float(item.get("threshold"))
    values["created_at"] = time_from_text(item["created_at"])
    return SegmentationVersion(**values)


def list_images(
    query: Callable[..., dict[str, Any]],
    project_id: str,
    statuses: Sequence[ImageStatus] | None,
    cursor: str | None,
    limit: int,
    order: str,
) -> Page[Image]:
    """A page of ``project_id``'s images; ``query`` is the client's ``query`` with the table
    name bound."""
    descending = order.startswith("-")
    field = order.lstrip("-")
    if field not in _INDEXES:
        raise InvalidParameter("unknown image order", order=order)
    kind = f"images:{order}"
    after = None if cursor is None else decode_cursor(cursor, kind)
    plain, by_status = _INDEXES[field]
    if statuses is None:
        views = [(plain, f"PROJECT#{project_id}#IMAGES")]
    else:
        views = [(by_status, status_index(project_id, s)) for s in dict.fromkeys(statuses)]
    streams = [_index_range(query, index, pk, after, descending, limit + 1) for index, pk in views]
    sort_attribute = f"{views[0][0]}sk"
    merged = heapq.merge(*streams, key=lambda item: item[sort_attribute], reverse=descending)
    items = list(itertools.islice(merged, limit + 1))
    next_cursor = None
    if len(items) > limit:
        next_cursor = encode_cursor(kind, items[limit - 1][sort_attribute])
    return Page(items=[image_from_item(item) for item in items[:limit]], next_cursor=next_cursor)


def _index_range(
    query: Callable[..., dict[str, Any]],
    index: str,
    pk: str,
    after: str | None,
    descending: bool,
    page_size: int,
) -> Iterator[dict[str, Any]]:
    """The items of one index partition past ``after``, a query page at a time, on demand."""
    condition = Key(f"{index}pk").eq(pk)
    if after is not None:
        sort_key = Key(f"{index}sk")
        condition = condition & (sort_key.lt(after) if descending else sort_key.gt(after))
    request: dict[str, Any] = {
        **key_condition(condition),
        "IndexName": index,
        "ScanIndexForward": not descending,
        "Limit": page_size,
    }
    while True:
        reply = query(**request)
        yield from reply.get("Items", [])
        if "LastEvaluatedKey" not in reply:
            return
        request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
