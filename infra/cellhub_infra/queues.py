"""The hub's queues: storage events for thumbnails, segmentation jobs, export jobs; each with a DLQ.

Redrive sits one receive above ``max_receives`` because the SQS adapter dead-letters a
message itself when it sees that count (recording the reason on the image or job); SQS's
own redrive is the backstop for a consumer that dies before it can.

Only originals should make thumbnails, and their keys are ``projects/<p>/originals/<i>``:
the project id sits before ``originals/`` and S3 notification filters take only a literal
prefix and suffix, so the notification filters on ``projects/`` and the thumbnail handler
drops every other key (thumbnails, segmentations, exports) after parsing the event. Those
extra events cost one SQS message and a share of a batched no-op invocation each.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cellhub_infra.nag import acknowledge

UPLOAD_EVENT_PREFIX = "projects/"
# Lambda's recommendation for an SQS event source: visibility >= 6 x the function timeout.
LAMBDA_VISIBILITY_FACTOR = 6
RETENTION = Duration.days(14)


class HubQueues(Construct):
    """Attributes: ``uploads``, ``segment``, ``export`` and each one's ``<name>_dlq``.

    ``export`` is FIFO: the API sends a deduplication id so a retried request cannot queue
    the same export twice.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        bucket: s3.IBucket,
        max_receives: int,
        thumbnail_timeout_s: int,
        export_timeout_s: int,
        longest_batch_s: int,
    ) -> None:
        super().__init__(scope, construct_id)
        redrive_count = max_receives + 1
        self.uploads, self.uploads_dlq = self._pair(
            "Uploads",
            name=f"{prefix}-uploads",
            visibility_s=thumbnail_timeout_s * LAMBDA_VISIBILITY_FACTOR,
            redrive_count=redrive_count,
        )
        self.segment, self.segment_dlq = self._pair(
            "Segment",
            name=f"{prefix}-segment",
            # The worker extends visibility while it works; this bounds a silent crash.
            visibility_s=longest_batch_s,
            redrive_count=redrive_count,
        )
        self.export, self.export_dlq = self._pair(
            "Export",
            name=f"{prefix}-export",
            visibility_s=min(export_timeout_s * LAMBDA_VISIBILITY_FACTOR, 12 * 3600),
            redrive_count=redrive_count,
            fifo=True,
        )
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.uploads),
            s3.NotificationKeyFilter(prefix=UPLOAD_EVENT_PREFIX),
        )

    def _pair(
        self,
        construct_id: str,
        *,
        name: str,
        visibility_s: int,
        redrive_count: int,
        fifo: bool = False,
    ) -> tuple[sqs.Queue, sqs.Queue]:
        suffix = ".fifo" if fifo else ""
        dead_letters = sqs.Queue(
            self,
            f"{construct_id}Dlq",
            queue_name=f"{name}-dlq{suffix}",
            fifo=fifo or None,
            retention_period=RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        acknowledge(
            dead_letters,
            "This is a dead-letter queue; its depth alarms page the operators instead.",
            "AwsSolutions-SQS3",
        )
        queue = sqs.Queue(
            self,
            construct_id,
            queue_name=f"{name}{suffix}",
            fifo=fifo or None,
            visibility_timeout=Duration.seconds(visibility_s),
            retention_period=RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letters, max_receive_count=redrive_count
            ),
        )
        return queue, dead_letters
