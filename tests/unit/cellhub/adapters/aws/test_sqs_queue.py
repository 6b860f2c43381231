"""The SQS queue on moto beyond the contract: wire versions, long polling, SQS's own redrive,
FIFO queues and batch sizes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cellhub.adapters.aws.sqs_messages import REASON_ATTRIBUTE, WIRE_ATTRIBUTE
from cellhub.adapters.aws.sqs_queue import SqsJobQueue
from tests.contract.aws_fixtures import MotoClock, create_queue, moto_sqs


@pytest.fixture
def sqs(request: pytest.FixtureRequest) -> Iterator[tuple[Any, MotoClock]]:
    with moto_sqs(request) as client_and_clock:
        yield client_and_clock


def pair(client: Any) -> tuple[SqsJobQueue, SqsJobQueue]:
    dead = SqsJobQueue(create_queue(client, "segment-dead"), client=client)
    url = create_queue(client, "segment", redrive_to=dead.queue_url, max_receive_count=4)
    return SqsJobQueue(url, client=client, dead_letter=dead, max_receives=3), dead


def test_an_unknown_wire_version_is_dead_lettered_unread(sqs: tuple[Any, MotoClock]) -> None:
    client, _ = sqs
    queue, dead = pair(client)
    future = {WIRE_ATTRIBUTE: {"DataType": "String", "StringValue": "2"}}
    sent = client.send_message(QueueUrl=queue.queue_url, MessageBody="v2", MessageAttributes=future)
    queue.send("v1 job")
    assert [m.body for m in queue.receive(max_messages=10)] == ["v1 job"]
    assert queue.depth().visible == 0
    # The dead-letter queue hands it out for inspection, under its original id.
    [moved] = dead.receive()
    assert (moved.message_id, moved.body, moved.receive_count) == (sent["MessageId"], "v2", 1)
    dead.change_visibility(moved.receipt_handle, 0)
    raw = client.receive_message(QueueUrl=dead.queue_url, MessageAttributeNames=["All"])[
        "Messages"
    ][0]
    assert raw["MessageAttributes"][WIRE_ATTRIBUTE]["StringValue"] == "2"
    assert "wire version" in raw["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"]


def test_a_message_without_the_attribute_is_read_as_version_one(
    sqs: tuple[Any, MotoClock],
) -> None:
    client, _ = sqs
    queue, _ = pair(client)
    event = json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Post"}]})
    client.send_message(QueueUrl=queue.queue_url, MessageBody=event)
    [message] = queue.receive()
    assert json.loads(message.body)["Records"][0]["eventSource"] == "aws:s3"


def test_long_polling_returns_a_message_sent_while_waiting(sqs: tuple[Any, MotoClock]) -> None:
    client, _ = sqs
    queue = SqsJobQueue(create_queue(client, "wait"), client=client)
    sender = threading.Timer(0.3, queue.send, args=("late",))
    started = time.monotonic()
    sender.start()
    try:
        messages = queue.receive(wait_seconds=3)
    finally:
        sender.join()
    assert [m.body for m in messages] == ["late"]
    assert time.monotonic() - started < 2.5


def test_long_polling_an_empty_queue_waits_then_returns_nothing(
    sqs: tuple[Any, MotoClock],
) -> None:
    client, _ = sqs
    queue = SqsJobQueue(create_queue(client, "idle"), client=client)
    started = time.monotonic()
    assert queue.receive(wait_seconds=1) == []
    assert time.monotonic() - started >= 0.9


def test_sqs_redrive_alone_keeps_id_body_and_send_time(sqs: tuple[Any, MotoClock]) -> None:
    # What a queue read by a Lambda gets: no adapter moves anything, the redrive policy does.
    client, clock = sqs
    dead = SqsJobQueue(create_queue(client, "export-dead"), client=client)
    url = create_queue(client, "export", redrive_to=dead.queue_url, max_receive_count=2)
    queue = SqsJobQueue(url, client=client)
    message_id = queue.send("job")
    for _ in range(2):
        [first] = queue.receive(visibility_timeout=5)
        clock.advance(6)
    assert queue.receive() == []
    [moved] = dead.receive()
    assert (moved.message_id, moved.body, moved.sent_at) == (message_id, "job", first.sent_at)
    # SQS carries the receive count over, unlike the adapter's own move.
    assert moved.receive_count > 1


def test_fifo_queue_deduplicates_and_never_blocks_on_a_group(sqs: tuple[Any, MotoClock]) -> None:
    client, _ = sqs
    url = client.create_queue(QueueName="exports.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    queue = SqsJobQueue(url, client=client)
    queue.send("export A", deduplication_id="export-1")
    queue.send("export A", deduplication_id="export-1")
    queue.send("export B", deduplication_id="export-2")
    queue.send_batch(["c", "d"])
    assert queue.depth().visible == 4
    # Each message is its own group, so all are handed out at once.
    assert len(queue.receive(max_messages=10)) == 4


def test_batches_are_split_to_fit_the_request_size_limit(sqs: tuple[Any, MotoClock]) -> None:
    client, _ = sqs
    queue = SqsJobQueue(create_queue(client, "big"), client=client)
    bodies = [str(i) * (100 * 1024) for i in range(5)]
    ids = queue.send_batch(bodies)
    assert len(set(ids)) == 5
    received = {m.message_id: m.body for m in queue.receive(max_messages=10)}
    while more := queue.receive(max_messages=10):
        received.update((m.message_id, m.body) for m in more)
    assert [received[i] for i in ids] == bodies
