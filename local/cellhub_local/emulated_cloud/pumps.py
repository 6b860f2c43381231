"""Lambda's SQS event-source mappings, played by threads, and the GPU worker's loop.

An ``SqsEventPump`` long-polls one queue, wraps what it received in the event Lambda builds
(``Records`` of ``messageId``, ``receiptHandle``, ``body``, ``attributes`` with
``ApproximateReceiveCount``/``SentTimestamp``…, ``messageAttributes`` in Lambda's
``stringValue``/``dataType`` form, ``md5OfBody``, ``eventSource`` ``aws:sqs``,
``eventSourceARN``, ``awsRegion``), invokes the function and, with ``ReportBatchItemFailures``
on, deletes every record not named in ``batchItemFailures``. A function that raises fails
the whole batch: nothing is deleted and SQS redelivers after the visibility timeout, then
dead-letters by the redrive policy. The worker's ``SqsWorkerLoop`` runs as it does on ECS,
in a thread of its own, with a short long-poll so that stopping takes a second or two.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

from cellhub_local.emulated_cloud.lambda_runtime import LocalFunction

log = logging.getLogger(__name__)

BATCH_SIZE = 10
WAIT_SECONDS = 1


def lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS's ``MessageAttributes`` as Lambda spells them (camelCase keys)."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType", "String"),
        }
        for name, value in attributes.items()
    }


def sqs_event(messages: list[dict[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda event of a batch received from the queue ``queue_arn``."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": lambda_message_attributes(
                    message.get("MessageAttributes", {})
                ),
                "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def succeeded(messages: list[dict[str, Any]], result: Any) -> list[dict[str, Any]]:
    """The messages a ``ReportBatchItemFailures`` reply did not name as failed."""
    failures = (result or {}).get("batchItemFailures") or []
    failed = {str(item.get("itemIdentifier")) for item in failures}
    return [message for message in messages if message["MessageId"] not in failed]


class SqsEventPump(threading.Thread):
    """Feeds ``function`` from the queue at ``queue_url`` until ``stop()``."""

    def __init__(
        self,
        function: LocalFunction,
        queue_url: str,
        *,
        sqs: Any,
        region: str,
        batch_size: int = BATCH_SIZE,
        wait_seconds: int = WAIT_SECONDS,
    ) -> None:
        super().__init__(name=f"sqs-{function.name}", daemon=True)
        self._function = function
        self._queue_url = queue_url
        self._sqs = sqs
        self._region = region
        self._batch_size = batch_size
        self._wait = wait_seconds
        self._stopping = threading.Event()

    @functools.cached_property
    def queue_arn(self) -> str:
        reply = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url, AttributeNames=["QueueArn"]
        )
        return str(reply["Attributes"]["QueueArn"])

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:  # a failed poll or batch: back off, what was held reappears
                log.exception("event-source mapping of %s failed a poll", self._function.name)
                self._stopping.wait(self._wait)

    def poll_once(self) -> int:
        """One long poll and its invocation; returns the number of records deleted."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, queue_arn=self.queue_arn, region=self._region)
        done = succeeded(messages, self._function.invoke(event))
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
                    for n, message in enumerate(done)
                ],
            )
        return len(done)

    def stop(self) -> None:
        self._stopping.set()


def worker_loop(*, wait_seconds: int = WAIT_SECONDS) -> Any:
    """The GPU worker's ``SqsWorkerLoop`` built from the environment, as its ``main`` does."""
    from cellhub_worker.worker_wiring import loop_from_environment

    return loop_from_environment(wait_seconds=wait_seconds)
