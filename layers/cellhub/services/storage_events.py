"""Storage events in the shape S3 gives them: one notification per SQS message body.

In the cloud, S3 sends an ``ObjectCreated`` notification for every upload to a queue that the
thumbnail function reads. The embedded hub raises the very same notification itself (its blob
store is a folder) into a local queue with the same semantics, and both sides read it back
with :func:`created_objects`, so one thumbnail step serves both deployments.

A body looks like ``{"Records": [{"eventName": "ObjectCreated:Post", "s3": {"object":
{"key": "projects/p/originals/i", "eTag": "…", "size": 123}}}]}``, or is the
``s3:TestEvent`` S3 sends once when the notification is configured. Keys arrive URL-encoded
(spaces as ``+``); only originals (``projects/<p>/originals/<i>``) are reported.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import quote_plus, unquote_plus

from cellhub.domain.images import Image
from cellhub.services.thumbnails import ThumbnailService, parse_original_key

TEST_EVENT = "s3:TestEvent"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CreatedObject:
    key: str
    etag: str | None


def object_created_notification(key: str, *, etag: str, size: int, event: str = "Post") -> str:
    """The S3 notification body for an object just stored at ``key``."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": f"ObjectCreated:{event}",
        "s3": {"object": {"key": quote_plus(key, safe="/"), "eTag": etag, "size": size}},
    }
    return json.dumps({"Records": [record]})


def created_objects(body: str) -> list[CreatedObject]:
    """The originals a notification reports as created; [] for anything else."""
    try:
        notification = json.loads(body)
    except ValueError:
        log.error("a queued storage event that is not an S3 notification was dropped")
        return []
    if not isinstance(notification, dict) or notification.get("Event") == TEST_EVENT:
        return []
    found = []
    for record in notification.get("Records", []):
        if not isinstance(record, dict):
            continue
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        stored = record.get("s3", {}).get("object", {})
        key = unquote_plus(str(stored.get("key", "")))
        if parse_original_key(key) is None:
            continue
        etag = stored.get("eTag")
        found.append(CreatedObject(key=key, etag=str(etag) if etag is not None else None))
    return found


def handle_storage_event(
    thumbnails: ThumbnailService, body: str, *, last_attempt: bool
) -> list[tuple[CreatedObject, Image | None]]:
    """The thumbnail step for every original one notification reports, with each image as it
    now stands. A failure propagates, so the message is delivered again, except on its last
    delivery (``last_attempt``), where the image is rejected instead of waiting for ever
    behind a dead-lettered message."""
    handled = []
    for created in created_objects(body):
        try:
            image = thumbnails.handle_object_created(created.key, created.etag)
        except Exception as error:
            if not last_attempt:
                raise
            image = thumbnails.give_up(created.key, error)
        handled.append((created, image))
    return handled
