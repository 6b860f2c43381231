"""The emulated event-source mapping: genuine SQS events, partial batch failures honoured."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from moto import mock_aws

from cellhub_local.emulated_cloud.lambda_runtime import LocalFunction
from cellhub_local.emulated_cloud.pumps import SqsEventPump

REGION = "us-east-1"


class BatchFunction:
    """Keeps each event; fails the records whose body is in ``failing``."""

    def __init__(self, failing: frozenset[str] = frozenset(), *, crash: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.failing = failing
        self.crash = crash

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        if self.crash:
            raise RuntimeError("the whole batch fails")
        return {
            "batchItemFailures": [
                {"itemIdentifier": record["messageId"]}
                for record in event["Records"]
                if record["body"] in self.failing
            ]
        }


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def pump_once(sqs: Any, queue_url: str, function: BatchFunction) -> tuple[int, SqsEventPump]:
    local = LocalFunction("cellhub-thumbnail", function, region=REGION)
    pump = SqsEventPump(local, queue_url, sqs=sqs, region=REGION, wait_seconds=0)
    try:
        return pump.poll_once(), pump
    finally:
        local.shutdown()


def in_flight(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_records_have_the_lambda_shape_and_failures_stay(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="thumbnails")["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "s3"}},
        )
    function = BatchFunction(failing=frozenset({"b"}))
    deleted, pump = pump_once(sqs, url, function)
    assert deleted == 2
    assert in_flight(sqs, url) == 1
    (event,) = function.events
    records = list(SQSEvent(event).records)
    assert sorted(r.body for r in records) == ["a", "b", "c"]
    record = records[0]
    assert record.event_source == "aws:sqs"
    assert record.event_source_arn == pump.queue_arn
    assert record.aws_region == REGION
    assert record.attributes.approximate_receive_count == "1"
    assert record.attributes.sent_timestamp
    kind = record.message_attributes["kind"]
    assert kind is not None and kind.string_value == "s3"
    assert record.raw_event["messageAttributes"]["kind"]["dataType"] == "String"
    assert record.md5_of_body and record.receipt_handle and record.message_id


def test_a_function_that_raises_keeps_the_whole_batch(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="exports")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.send_message(QueueUrl=url, MessageBody="y")
    with pytest.raises(RuntimeError):
        pump_once(sqs, url, BatchFunction(crash=True))
    assert in_flight(sqs, url) == 2


def test_fifo_records_carry_their_group(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="exports.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
    )["QueueUrl"]
    sqs.send_message(
        QueueUrl=url, MessageBody="e1", MessageGroupId="g1", MessageDeduplicationId="d1"
    )
    function = BatchFunction()
    deleted, _ = pump_once(sqs, url, function)
    assert deleted == 1
    (record,) = SQSEvent(function.events[0]).records
    assert record.attributes.message_group_id == "g1"
    assert record.attributes.message_deduplication_id == "d1"
