"""SQS batches of export requests in, ``handle_export_message`` per record.

The step is the one the embedded hub's export pump calls. It spools the ZIP to a temporary
file (bounded memory whatever the image count) and stores it with ``blobs.put`` from that
stream, which the S3 blob store uploads in parts; it writes progress, publishes it, and
stops when the export is cancelled. Its retry rules hold here too: a redelivered message
(receive count above 1) resumes an export left ``running`` by a run that died or failed,
and a transient failure is recorded on the export only on the last delivery (receive count
at ``CELLHUB_MAX_RECEIVES``, the queue's redrive limit), so a dead-lettered export ends
``failed`` rather than ``running``.

A permanent error (an unreadable message, a failure the step already recorded on the
export) succeeds its record, since retrying cannot help; any other failure fails only that
record (``batchItemFailures``), which SQS redelivers up to the queue's dead-letter limit.
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
from cellhub.errors import CellhubError
from cellhub.ports.job_queue import ReceivedMessage
from cellhub.services.export_messages import handle_export_message
from cellhub.services.exports import ExportService

SERVICE = "cellhub-export"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="CellHub", service=SERVICE)
processor = BatchProcessor(event_type=EventType.SQS)


@lru_cache(maxsize=1)
def export_service() -> ExportService:
    """The export step's service over the AWS adapters, built once per container."""
    resources = AwsResources.from_env()
    table = wiring.hub_table(resources)
    stores = wiring.repositories(resources, table)
    notifier = wiring.notifier(resources, projects=stores.projects, table=table)
    return ExportService(stores.images, stores.jobs, wiring.blob_store(resources), notifier)


def received_message(record: SQSRecord) -> ReceivedMessage:
    """The SQS record as the job-queue port's message (times in epoch seconds)."""
    attributes = record.attributes
    return ReceivedMessage(
        message_id=record.message_id,
        body=record.body,
        receipt_handle=record.receipt_handle,
        receive_count=int(attributes.approximate_receive_count or 1),
        sent_at=int(attributes.sent_timestamp or 0) / 1000,
        first_received_at=int(attributes.approximate_first_receive_timestamp or 0) / 1000,
    )


def max_receives() -> int:
    """Deliveries of a message before SQS dead-letters it (the queue's maxReceiveCount)."""
    return wiring.max_receives_from_env()


def record_handler(record: SQSRecord) -> None:
    message = received_message(record)
    try:
        export = handle_export_message(export_service(), message, max_receives=max_receives())
    except CellhubError as error:
        if not error.permanent:
            raise
        logger.warning(
            "export message dropped", extra={"message_id": message.message_id, "code": error.code}
        )
        metrics.add_metric(name="ExportMessagesDropped", unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(
        name=f"Exports{export.state.value.capitalize()}", unit=MetricUnit.Count, value=1
    )


@logger.inject_lambda_context
@metrics.log_metrics
@wiring.traced(SERVICE)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
