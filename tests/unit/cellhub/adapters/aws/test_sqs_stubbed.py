"""The SQS queue's requests and its reading of SQS errors, checked with botocore's Stubber.

moto is not enough here: it accepts a visibility change with any handle a message ever had
(SQS answers ``MessageNotInflight`` or "receipt handle has expired"), never throttles, and
answers some refusals with other codes. These tests feed the adapter the error shapes SQS
returns, in both the JSON protocol's query-compatible form and the bare code.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cellhub.adapters.aws.sqs_messages import WIRE_ATTRIBUTE, fifo_deduplication_id
from cellhub.adapters.aws.sqs_queue import SqsJobQueue
from cellhub.errors import InvalidParameter, QueueError, StaleReceipt
from tests.contract.aws_fixtures import REGION, fake_credentials

URL = "https://sqs.us-east-1.amazonaws.com/123456789012/segment"
FIFO_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/exports.fifo"
EXPIRED = (
    "Value abc for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
)
WIRE = {WIRE_ATTRIBUTE: {"DataType": "String", "StringValue": "1"}}


@pytest.fixture
def stubber(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    fake_credentials(monkeypatch)
    client = boto3.client("sqs", region_name=REGION)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def queue_on(stubber: Stubber, url: str = URL) -> SqsJobQueue:
    return SqsJobQueue(url, client=stubber.client, max_receives=3)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AWS.SimpleQueueService.MessageNotInflight", "The message is not in flight."),
        ("MessageNotInflight", "The message is not in flight."),
        ("ReceiptHandleIsInvalid", "The input receipt handle is invalid."),
        ("InvalidParameterValue", EXPIRED),
    ],
)
def test_a_lost_claim_is_a_stale_receipt(stubber: Stubber, code: str, message: str) -> None:
    stubber.add_client_error(
        "change_message_visibility", service_error_code=code, service_message=message
    )
    with pytest.raises(StaleReceipt) as raised:
        queue_on(stubber).change_visibility("abc", 60)
    assert raised.value.permanent  # the worker must stop, not retry


def test_other_visibility_refusals(stubber: Stubber) -> None:
    stubber.add_client_error(
        "change_message_visibility",
        service_error_code="InvalidParameterValue",
        service_message="Total VisibilityTimeout for the message is beyond the limit",
    )
    stubber.add_client_error(
        "change_message_visibility",
        service_error_code="AWS.SimpleQueueService.RequestThrottled",
        http_status_code=403,
    )
    queue = queue_on(stubber)
    with pytest.raises(InvalidParameter):
        queue.change_visibility("abc", 60)
    with pytest.raises(QueueError) as raised:
        queue.change_visibility("abc", 60)
    assert not raised.value.permanent
    assert raised.value.details["code"] == "RequestThrottled"


def test_visibility_change_request(stubber: Stubber) -> None:
    stubber.add_response(
        "change_message_visibility",
        {},
        {"QueueUrl": URL, "ReceiptHandle": "abc", "VisibilityTimeout": 300},
    )
    queue_on(stubber).change_visibility("abc", 300)
    with pytest.raises(InvalidParameter):
        queue_on(stubber).change_visibility("abc", 12 * 3600 + 1)


def test_delete_of_a_gone_message_is_silent_and_of_an_expired_handle_stale(
    stubber: Stubber,
) -> None:
    stubber.add_client_error("delete_message", service_error_code="ReceiptHandleIsInvalid")
    stubber.add_client_error(
        "delete_message", service_error_code="InvalidParameterValue", service_message=EXPIRED
    )
    queue = queue_on(stubber)
    queue.delete("abc")
    with pytest.raises(StaleReceipt):
        queue.delete("abc")


def test_sends_carry_the_wire_version_and_delays(stubber: Stubber) -> None:
    stubber.add_response(
        "send_message",
        {"MessageId": "m-1"},
        {"QueueUrl": URL, "MessageBody": "job", "MessageAttributes": WIRE, "DelaySeconds": 60},
    )
    queue = queue_on(stubber)
    assert queue.send("job", delay_seconds=60) == "m-1"
    with pytest.raises(InvalidParameter):
        queue.send("job", deduplication_id="export-1")  # a standard queue cannot deduplicate


def test_fifo_sends_deduplicate_in_their_own_group(stubber: Stubber) -> None:
    stubber.add_response(
        "send_message",
        {"MessageId": "m-1"},
        {
            "QueueUrl": FIFO_URL,
            "MessageBody": "job",
            "MessageAttributes": WIRE,
            "MessageGroupId": ANY,
            "MessageDeduplicationId": fifo_deduplication_id("export/1"),
        },
    )
    queue = queue_on(stubber, FIFO_URL)
    assert queue.send("job", deduplication_id="export/1") == "m-1"
    with pytest.raises(InvalidParameter):
        queue.send("job", delay_seconds=5)  # SQS FIFO queues take no per-message delay


def test_receive_asks_for_long_polling_and_every_attribute(stubber: Stubber) -> None:
    stubber.add_response(
        "receive_message",
        {},
        {
            "QueueUrl": URL,
            "MaxNumberOfMessages": 10,
            "WaitTimeSeconds": 1,  # SQS takes whole seconds: a partial one rounds up
            "VisibilityTimeout": 120,
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        },
    )
    assert (
        queue_on(stubber).receive(max_messages=10, visibility_timeout=120, wait_seconds=0.2) == []
    )


def test_a_partly_failed_batch_raises(stubber: Stubber) -> None:
    stubber.add_response(
        "send_message_batch",
        {
            "Successful": [{"Id": "0", "MessageId": "m-0", "MD5OfMessageBody": "x"}],
            "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}],
        },
        {"QueueUrl": URL, "Entries": ANY},
    )
    with pytest.raises(QueueError):
        queue_on(stubber).send_batch(["a", "b"])


def test_a_missing_queue_is_a_queue_error(stubber: Stubber) -> None:
    stubber.add_client_error(
        "get_queue_attributes", service_error_code="AWS.SimpleQueueService.NonExistentQueue"
    )
    with pytest.raises(QueueError) as raised:
        queue_on(stubber).depth()
    assert raised.value.details["code"] == "NonExistentQueue"
