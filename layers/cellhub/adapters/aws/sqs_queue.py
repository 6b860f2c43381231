"""The job queue on SQS (see the port for the semantics both adapters keep).

Dead-lettering. With a ``dead_letter`` queue, a message received for the
``max_receives + 1``-th time is not handed out: the adapter sends it to the dead-letter queue
(keeping its id, body and send time; its receive count there starts again) and deletes it
here, as the SQLite queue does. The real queue should also carry a ``RedrivePolicy`` to the
same dead-letter queue with ``maxReceiveCount`` above ``max_receives`` (``max_receives + 1``
or more): it moves what no adapter reads, such as messages left on a queue that feeds a
Lambda. SQS's own move keeps the receive count, so such a message reads with its count from
the source queue. ``dead_letter`` is an ``SqsJobQueue`` like any other, so draining or
inspecting the dead letters is ``receive`` and ``delete`` on it.

Queue types. A standard queue takes ``delay_seconds`` but cannot deduplicate: a
``deduplication_id`` raises ``InvalidParameter`` instead of being dropped. A FIFO queue (its
URL ends in ``.fifo``) deduplicates for SQS's five minutes but takes no per-message delay;
each message is its own message group, so no message waits behind another's retries.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cellhub.adapters.aws import sqs_messages as wire
from cellhub.errors import InvalidParameter, QueueError
from cellhub.ports import job_queue as port
from cellhub.ports.job_queue import QueueDepth, ReceivedMessage

logger = logging.getLogger(__name__)


class SqsJobQueue:
    """A ``JobQueue`` on the SQS queue at ``queue_url`` through an injected boto3 SQS client.

    ``visibility_timeout`` None leaves the queue's own ``VisibilityTimeout`` as the default.
    """

    def __init__(
        self,
        queue_url: str,
        *,
        client: Any,
        dead_letter: SqsJobQueue | None = None,
        max_receives: int = 3,
        visibility_timeout: int | None = None,
    ) -> None:
        self.queue_url: str = queue_url
        if max_receives < 1:
            raise InvalidParameter("max_receives must be at least 1", max_receives=max_receives)
        if visibility_timeout is not None:
            port.check_visibility_timeout(visibility_timeout)
        if dead_letter is not None and dead_letter.queue_url == queue_url:
            raise InvalidParameter("a queue cannot be its own dead-letter queue")
        self.dead_letter = dead_letter
        self.max_receives = max_receives
        self.visibility_timeout = visibility_timeout
        self.fifo = queue_url.endswith(".fifo")
        self._client = client

    def send(
        self, body: str, *, delay_seconds: int = 0, deduplication_id: str | None = None
    ) -> str:
        port.check_body(body)
        port.check_delay(delay_seconds)
        params = self._message_params(delay_seconds, deduplication_id)
        response = self._call(
            "SendMessage",
            self._client.send_message,
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageAttributes=wire.wire_attributes(),
            **params,
        )
        return str(response["MessageId"])

    def send_batch(self, bodies: Sequence[str]) -> list[str]:
        for body in bodies:
            port.check_body(body)
        ids: list[str] = [""] * len(bodies)
        attribute_bytes = len(wire.WIRE_ATTRIBUTE) + len("String") + len(wire.WIRE_VERSION)
        # Each chunk is one request; a failure leaves the chunks before it sent.
        for chunk in wire.batches(bodies, attribute_bytes):
            entries = [
                {
                    "Id": str(index),
                    "MessageBody": body,
                    "MessageAttributes": wire.wire_attributes(),
                    **self._message_params(0, None),
                }
                for index, body in chunk
            ]
            response = self._call(
                "SendMessageBatch",
                self._client.send_message_batch,
                QueueUrl=self.queue_url,
                Entries=entries,
            )
            if response.get("Failed"):
                failed = response["Failed"][0]
                raise QueueError("SQS refused part of a batch", code=failed.get("Code"))
            for sent in response["Successful"]:
                ids[int(sent["Id"])] = str(sent["MessageId"])
        return ids

    def receive(
        self,
        *,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        wait_seconds: float = 0,
    ) -> list[ReceivedMessage]:
        port.check_receive(max_messages, wait_seconds)
        timeout = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        if timeout is not None:
            port.check_visibility_timeout(timeout)
        deadline = time.monotonic() + wait_seconds
        claimed: list[ReceivedMessage] = []
        while len(claimed) < max_messages:
            wait = max(0, math.ceil(deadline - time.monotonic()))
            params: dict[str, Any] = {} if timeout is None else {"VisibilityTimeout": timeout}
            response = self._call(
                "ReceiveMessage",
                self._client.receive_message,
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max_messages - len(claimed),
                WaitTimeSeconds=min(wait, port.MAX_WAIT_SECONDS),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                **params,
            )
            moved = 0
            for message in response.get("Messages", []):
                reason = self._dead_letter_reason(message)
                if reason is None:
                    claimed.append(wire.to_received(message))
                else:
                    self._move_to_dead_letter(message, reason)
                    moved += 1
            # Only a batch that lost messages to the dead-letter queue is worth topping up.
            if not moved:
                break
        return claimed

    def change_visibility(self, receipt_handle: str, timeout_seconds: int) -> None:
        port.check_visibility_timeout(timeout_seconds)
        try:
            self._client.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=timeout_seconds,
            )
        except ClientError as exc:
            if wire.is_stale_receipt(exc):
                raise wire.stale(receipt_handle) from exc
            raise wire.queue_error("ChangeMessageVisibility", exc) from exc
        except BotoCoreError as exc:
            raise wire.queue_error("ChangeMessageVisibility", exc) from exc

    def delete(self, receipt_handle: str) -> None:
        try:
            self._client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt_handle)
        except ClientError as exc:
            if wire.error_code(exc) == "ReceiptHandleIsInvalid":
                return  # the message is gone (acked, purged, dead-lettered): a retried ack
            if wire.is_stale_receipt(exc):
                raise wire.stale(receipt_handle) from exc
            raise wire.queue_error("DeleteMessage", exc) from exc
        except BotoCoreError as exc:
            raise wire.queue_error("DeleteMessage", exc) from exc

    def depth(self) -> QueueDepth:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        response = self._call(
            "GetQueueAttributes",
            self._client.get_queue_attributes,
            QueueUrl=self.queue_url,
            AttributeNames=names,
        )
        visible, in_flight, delayed = (int(response["Attributes"].get(n, 0)) for n in names)
        return QueueDepth(visible=visible, in_flight=in_flight, delayed=delayed)

    def purge(self) -> None:
        # SQS allows one purge a minute; a second within it raises a retryable QueueError.
        self._call("PurgeQueue", self._client.purge_queue, QueueUrl=self.queue_url)

    def _message_params(self, delay_seconds: int, deduplication_id: str | None) -> dict[str, Any]:
        if not self.fifo:
            if deduplication_id is not None:
                raise InvalidParameter("a standard SQS queue cannot deduplicate; use a FIFO one")
            return {"DelaySeconds": delay_seconds} if delay_seconds else {}
        if delay_seconds:
            raise InvalidParameter("a FIFO SQS queue takes no per-message delay")
        dedup = uuid.uuid4().hex if deduplication_id is None else deduplication_id
        return {
            "MessageGroupId": uuid.uuid4().hex,
            "MessageDeduplicationId": wire.fifo_deduplication_id(dedup),
        }

    def _dead_letter_reason(self, message: dict[str, Any]) -> str | None:
        version = wire.wire_version(message)
        if version != wire.WIRE_VERSION and self.dead_letter is not None:
            logger.warning(
                "dead-lettering message %s of unknown wire version %r",
                message["MessageId"],
                version,
            )
            return f"unknown wire version {version[:32]!r}"
        receive_count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        if self.dead_letter is not None and receive_count > self.max_receives:
            return f"received {self.max_receives} times"
        return None

    def _move_to_dead_letter(self, message: dict[str, Any], reason: str) -> None:
        target = self.dead_letter
        if target is None:
            return
        # Send first, then delete: a crash in between duplicates a message, never loses it.
        target._call(
            "SendMessage",
            target._client.send_message,
            QueueUrl=target.queue_url,
            MessageBody=message["Body"],
            MessageAttributes=wire.dead_letter_attributes(message, reason),
            **target._message_params(0, None),
        )
        self.delete(message["ReceiptHandle"])

    def _call(self, operation: str, method: Any, **params: Any) -> Any:
        try:
            return method(**params)
        except (ClientError, BotoCoreError) as exc:
            raise wire.queue_error(operation, exc) from exc
