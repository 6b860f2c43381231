"""The SQS wire format of the job queue, and SQS's errors in the port's terms.

Every message the adapter sends carries the message attribute ``cellhub-wire`` = ``"1"``,
the version of this format; the body is the port's body unchanged, so a Lambda reading the
queue through an event source mapping sees exactly what was sent. A message with no such
attribute (an S3 event notification, a message sent by hand) is read as version 1. A
message of another version was written by a newer or foreign producer: a queue with a
dead-letter queue moves it there unread instead of handing it out; a queue without one (a
dead-letter queue itself) hands it out, so that draining it can inspect every message.

A message the adapter moves to a dead-letter queue itself is a new SQS message, so it
carries the original's id and send time in ``cellhub-message-id`` and ``cellhub-sent-at``
(milliseconds, as ``SentTimestamp``), which the receiving side reports instead of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cellhub.errors import InvalidParameter, QueueError, StaleReceipt
from cellhub.ports.job_queue import MAX_BATCH, MAX_BODY_BYTES, ReceivedMessage

WIRE_ATTRIBUTE = "cellhub-wire"
WIRE_VERSION = "1"
ORIGINAL_ID_ATTRIBUTE = "cellhub-message-id"
ORIGINAL_SENT_ATTRIBUTE = "cellhub-sent-at"
REASON_ATTRIBUTE = "cellhub-dead-letter-reason"
# SendMessageBatch refuses a request whose bodies and attributes total more than this.
MAX_BATCH_BYTES = MAX_BODY_BYTES

_QUERY_PREFIX = "AWS.SimpleQueueService."
# A receipt handle that no longer holds the message: it ran out, or a newer receive replaced it.
_STALE = frozenset({"MessageNotInflight", "ReceiptHandleIsInvalid"})


def string_attribute(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def wire_attributes() -> dict[str, dict[str, str]]:
    return {WIRE_ATTRIBUTE: string_attribute(WIRE_VERSION)}


def wire_version(message: Mapping[str, Any]) -> str:
    attribute = message.get("MessageAttributes", {}).get(WIRE_ATTRIBUTE)
    return WIRE_VERSION if attribute is None else str(attribute.get("StringValue", ""))


def to_received(message: Mapping[str, Any]) -> ReceivedMessage:
    """The port's view of one ReceiveMessage entry (asked with all system attributes)."""
    system = message.get("Attributes", {})
    custom = message.get("MessageAttributes", {})
    original_id = custom.get(ORIGINAL_ID_ATTRIBUTE, {}).get("StringValue")
    sent_ms = custom.get(ORIGINAL_SENT_ATTRIBUTE, {}).get("StringValue") or system["SentTimestamp"]
    first_ms = system.get("ApproximateFirstReceiveTimestamp") or sent_ms
    return ReceivedMessage(
        message_id=str(original_id or message["MessageId"]),
        body=str(message["Body"]),
        receipt_handle=str(message["ReceiptHandle"]),
        receive_count=int(system.get("ApproximateReceiveCount", 1)),
        sent_at=int(sent_ms) / 1000.0,
        first_received_at=int(first_ms) / 1000.0,
    )


def dead_letter_attributes(message: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """The attributes a message keeps when the adapter moves it: its own, plus the original's
    id and send time (unless an earlier move set them) and why it was moved."""
    kept: dict[str, Any] = {}
    for name, attribute in message.get("MessageAttributes", {}).items():
        kept[name] = {
            field: attribute[field]
            for field in ("DataType", "StringValue", "BinaryValue")
            if field in attribute
        }
    kept.setdefault(ORIGINAL_ID_ATTRIBUTE, string_attribute(str(message["MessageId"])))
    sent_ms = str(message.get("Attributes", {})["SentTimestamp"])
    kept.setdefault(ORIGINAL_SENT_ATTRIBUTE, string_attribute(sent_ms))
    kept[REASON_ATTRIBUTE] = string_attribute(reason)
    return kept


def fifo_deduplication_id(deduplication_id: str) -> str:
    """SQS takes at most 128 characters of a restricted set; a digest always fits."""
    return hashlib.sha256(deduplication_id.encode("utf-8")).hexdigest()


def batches(bodies: Sequence[str], attribute_bytes: int) -> Iterator[list[tuple[int, str]]]:
    """(index, body) groups that one SendMessageBatch accepts: at most ``MAX_BATCH`` entries
    and ``MAX_BATCH_BYTES`` of bodies and attributes together."""
    batch: list[tuple[int, str]] = []
    size = 0
    for index, body in enumerate(bodies):
        entry = len(body.encode("utf-8")) + attribute_bytes
        if batch and (len(batch) == MAX_BATCH or size + entry > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((index, body))
        size += entry
    if batch:
        yield batch


def error_code(exc: ClientError) -> str:
    """SQS's error code without the ``AWS.SimpleQueueService.`` prefix of its query form."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code.removeprefix(_QUERY_PREFIX)


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def is_stale_receipt(exc: ClientError) -> bool:
    code = error_code(exc)
    expired = code == "InvalidParameterValue" and "receipt handle has expired" in (
        error_message(exc).lower()
    )
    return code in _STALE or expired


def queue_error(operation: str, exc: ClientError | BotoCoreError) -> Exception:
    """The port's error for a failed call: bad parameters are ``InvalidParameter``, anything
    else (throttling, a missing queue, the network) a retryable ``QueueError``."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in ("InvalidParameterValue", "InvalidAttributeValue", "MissingParameter"):
            return InvalidParameter(f"SQS refused {operation}", code=code)
        return QueueError(f"SQS refused {operation}", code=code)
    return QueueError(f"SQS could not be reached for {operation}", error=type(exc).__name__)


def stale(message_id_hint: str) -> StaleReceipt:
    return StaleReceipt("receipt no longer holds the message", receipt=message_id_hint[:16])
