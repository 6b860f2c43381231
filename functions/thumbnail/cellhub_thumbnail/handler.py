"""SQS batches of S3 event notifications in, ``ThumbnailService.handle_object_created`` per object.

Each SQS record's body is one S3 notification, read by
:func:`cellhub.services.storage_events.created_objects` (the embedded hub reads its own
storage events with it too): the ``s3:TestEvent`` is skipped, keys are URL-decoded, and keys
outside ``projects/<p>/originals/`` (thumbnails, documents, exports) are ignored.

Redelivery is harmless: the step only handles an image still ``uploading`` whose object has
the notified ETag, so a duplicate notification changes nothing. An undecodable image is
``rejected`` by the step and its record succeeds; only unexpected failures fail a record,
and only that record is retried (``batchItemFailures``). On its ``CELLHUB_MAX_RECEIVES``-th
delivery a record that fails again rejects its image with the reason and succeeds, so no
image waits in ``uploading`` behind a dead-lettered event.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

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
from cellhub.services.storage_events import handle_storage_event
from cellhub.services.thumbnails import ThumbnailService

SERVICE = "cellhub-thumbnail"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="CellHub", service=SERVICE)
processor = BatchProcessor(event_type=EventType.SQS)


@lru_cache(maxsize=1)
def thumbnail_service() -> ThumbnailService:
    """The step over the AWS adapters, built once per container."""
    resources = AwsResources.from_env()
    table = wiring.hub_table(resources)
    stores = wiring.repositories(resources, table)
    notifier = wiring.notifier(resources, projects=stores.projects, table=table)
    return ThumbnailService(stores.images, wiring.blob_store(resources), notifier)


def max_receives() -> int:
    """Deliveries before the dead-letter queue (the queue's redrive allows one more)."""
    return wiring.max_receives_from_env()


def record_handler(record: SQSRecord) -> None:
    last_attempt = int(record.attributes.approximate_receive_count) >= max_receives()
    handled = handle_storage_event(thumbnail_service(), record.body, last_attempt=last_attempt)
    if not handled:
        metrics.add_metric(name="NotificationsIgnored", unit=MetricUnit.Count, value=1)
    for created, image in handled:
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
