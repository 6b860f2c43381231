"""SQS batches of S3 event notifications in, ``ThumbnailService.handle_object_created`` per object.

Each SQS record's body is one S3 notification: ``{"Records": [{"eventName":
"ObjectCreated:Put", "s3": {"object": {"key": "projects/p/originals/i", "eTag": "…"}}}]}``,
or the ``s3:TestEvent`` S3 sends once when the notification is configured (skipped). Keys
arrive URL-encoded (spaces as ``+``) and are decoded with ``unquote_plus``. Keys outside
``projects/<p>/originals/`` (thumbnails, documents, exports) are ignored.

Redelivery is harmless: the step only handles an image still ``uploading`` whose object has
the notified ETag, so a duplicate notification changes nothing. An undecodable image is
``rejected`` by the step and its record succeeds; only unexpected failures fail a record,
and only that record is retried (``batchItemFailures``), up to the queue's dead-letter limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from cellhub.adapters.aws import wiring
from cellhub.adapters.aws.wiring import AwsResources
from cellhub.domain.images import ImageStatus
from cellhub.services.thumbnails import ThumbnailService, parse_original_key

SERVICE = "cellhub-thumbnail"
TEST_EVENT = "s3:TestEvent"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="CellHub", service=SERVICE)
processor = BatchProcessor(event_type=EventType.SQS)


@dataclass(frozen=True, slots=True)
class CreatedObject:
    key: str
    etag: str | None


def created_objects(body: str) -> list[CreatedObject]:
    """The originals an S3 notification reports as created; [] for anything else."""
    try:
        notification = json.loads(body)
    except ValueError:
        logger.error("an SQS record that is not an S3 notification was dropped")
        return []
    if not isinstance(notification, dict) or notification.get("Event") == TEST_EVENT:
        return []
    found = []
    for record in notification.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        stored = record.get("s3", {}).get("object", {})
        key = unquote_plus(str(stored.get("key", "")))
        if parse_original_key(key) is None:
            continue
        found.append(CreatedObject(key=key, etag=stored.get("eTag")))
    return found


@lru_cache(maxsize=1)
def thumbnail_service() -> ThumbnailService:
    """The step over the AWS adapters, built once per container."""
    resources = AwsResources.from_env()
    table = wiring.hub_table(resources)
    stores = wiring.repositories(resources, table)
    notifier = wiring.notifier(resources, projects=stores.projects, table=table)
    return ThumbnailService(stores.images, wiring.blob_store(resources), notifier)


def record_handler(record: SQSRecord) -> None:
    created_now = created_objects(record.body)
    if not created_now:
        metrics.add_metric(name="NotificationsIgnored", unit=MetricUnit.Count, value=1)
    for created in created_now:
        image = thumbnail_service().handle_object_created(created.key, created.etag)
        outcome = "Skipped" if image is None else image.status.value.capitalize()
        metrics.add_metric(name=f"Images{outcome}", unit=MetricUnit.Count, value=1)
        if image is not None and image.status is ImageStatus.REJECTED:
            logger.info("image rejected", extra={"key": created.key, "reason": image.reason})


@logger.inject_lambda_context
@metrics.log_metrics
@wiring.traced(SERVICE)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
