"""The job-queue contract: every ``JobQueue`` adapter passes these SQS semantics.

To add an adapter, write a harness factory beside ``sqlite_harness`` and list it in
``HARNESSES``; every test then runs against it too. The SQS harness runs standard queues
under moto's ``mock_aws`` (see ``aws_fixtures``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from cellhub.adapters.aws.sqs_queue import SqsJobQueue
from cellhub.adapters.local.sqlite_queue import SqliteJobQueue
from cellhub.errors import InvalidParameter, StaleReceipt
from cellhub.ports.job_queue import DEDUPLICATION_WINDOW_SECONDS, JobQueue, QueueDepth
from tests.contract.aws_fixtures import create_queue, moto_sqs


class QueueMaker(Protocol):
    """``make(name, visibility_timeout=, max_receives=, dead_letter=)`` for one adapter."""

    def __call__(
        self,
        name: str,
        *,
        visibility_timeout: int = 30,
        max_receives: int = 5,
        dead_letter: JobQueue | None = None,
    ) -> JobQueue: ...


@dataclass
class QueueHarness:
    make: QueueMaker
    # Moves the queues' notion of "now" forward, so visibility runs out without sleeping.
    advance: Callable[[float], None]
    # SQS accepts a delete with an outdated receipt handle, so not every adapter can report it.
    reports_stale_delete: bool
    # Standard SQS queues cannot deduplicate; their adapter refuses a deduplication id.
    deduplicates: bool = True


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sqlite_harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueueHarness]:
    clock = FakeClock()
    made: list[SqliteJobQueue] = []

    def make(
        name: str,
        *,
        visibility_timeout: int = 30,
        max_receives: int = 5,
        dead_letter: JobQueue | None = None,
    ) -> JobQueue:
        assert dead_letter is None or isinstance(dead_letter, SqliteJobQueue)
        queue = SqliteJobQueue(
            tmp_path / "queues.sqlite3",
            name,
            visibility_timeout=visibility_timeout,
            max_receives=max_receives,
            dead_letter=dead_letter,
            clock=clock,
        )
        made.append(queue)
        return queue

    yield QueueHarness(make=make, advance=clock.advance, reports_stale_delete=True)
    for queue in made:
        queue.close()


def sqs_harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueueHarness]:
    with moto_sqs(request) as (client, clock):

        def make(
            name: str,
            *,
            visibility_timeout: int = 30,
            max_receives: int = 5,
            dead_letter: JobQueue | None = None,
        ) -> JobQueue:
            assert dead_letter is None or isinstance(dead_letter, SqsJobQueue)
            # The redrive policy sits above max_receives, as the adapter's docs ask: the
            # adapter moves the message first, SQS only what no adapter reads.
            url = create_queue(
                client,
                name,
                visibility_timeout=visibility_timeout,
                redrive_to=None if dead_letter is None else dead_letter.queue_url,
                max_receive_count=max_receives + 1,
            )
            return SqsJobQueue(
                url, client=client, dead_letter=dead_letter, max_receives=max_receives
            )

        yield QueueHarness(
            make=make, advance=clock.advance, reports_stale_delete=False, deduplicates=False
        )


Factory = Callable[[pytest.FixtureRequest, Path], Iterator[QueueHarness]]
HARNESSES: dict[str, Factory] = {"sqlite": sqlite_harness, "sqs": sqs_harness}


@pytest.fixture(params=sorted(HARNESSES))
def queue_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueueHarness]:
    yield from HARNESSES[request.param](request, tmp_path)


@pytest.fixture
def queue(queue_factory: QueueHarness) -> JobQueue:
    return queue_factory.make("jobs")


def test_send_receive_delete(queue_factory: QueueHarness, queue: JobQueue) -> None:
    message_id = queue.send('{"schema": "cellhub.segment/1"}')
    [message] = queue.receive()
    assert (message.message_id, message.body) == (message_id, '{"schema": "cellhub.segment/1"}')
    assert message.receive_count == 1
    assert message.sent_at <= message.first_received_at
    queue.delete(message.receipt_handle)
    queue_factory.advance(31)
    assert queue.receive() == []
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, delayed=0)


def test_received_message_is_hidden_until_its_timeout(
    queue_factory: QueueHarness, queue: JobQueue
) -> None:
    queue.send("job")
    [first] = queue.receive(visibility_timeout=20)
    queue_factory.advance(19)
    assert queue.receive() == []
    queue_factory.advance(2)
    [second] = queue.receive()
    assert second.message_id == first.message_id
    assert second.receive_count == 2
    assert second.receipt_handle != first.receipt_handle
    assert second.first_received_at == first.first_received_at


def test_queue_default_visibility_timeout(queue_factory: QueueHarness) -> None:
    queue = queue_factory.make("short", visibility_timeout=5)
    queue.send("job")
    assert len(queue.receive()) == 1
    queue_factory.advance(4)
    assert queue.receive() == []
    queue_factory.advance(2)
    assert len(queue.receive()) == 1


def test_change_visibility_extends_the_claim(queue_factory: QueueHarness, queue: JobQueue) -> None:
    queue.send("job")
    [message] = queue.receive(visibility_timeout=10)
    queue_factory.advance(8)
    queue.change_visibility(message.receipt_handle, 30)  # a worker's heartbeat
    queue_factory.advance(20)
    assert queue.receive() == []
    queue_factory.advance(11)
    assert [m.receive_count for m in queue.receive()] == [2]


def test_change_visibility_zero_releases_at_once(queue: JobQueue) -> None:
    queue.send("job")
    [message] = queue.receive(visibility_timeout=60)
    queue.change_visibility(message.receipt_handle, 0)
    assert [m.message_id for m in queue.receive()] == [message.message_id]


def test_outdated_receipt_cannot_extend(queue_factory: QueueHarness, queue: JobQueue) -> None:
    queue.send("job")
    [old] = queue.receive(visibility_timeout=10)
    queue_factory.advance(11)
    with pytest.raises(StaleReceipt):
        queue.change_visibility(old.receipt_handle, 30)  # expired: the claim is lost
    [new] = queue.receive(visibility_timeout=10)
    with pytest.raises(StaleReceipt):
        queue.change_visibility(old.receipt_handle, 30)
    queue.change_visibility(new.receipt_handle, 30)


def test_outdated_receipt_cannot_delete(queue_factory: QueueHarness, queue: JobQueue) -> None:
    if not queue_factory.reports_stale_delete:
        pytest.skip("this adapter's service accepts a delete with an outdated handle")
    queue.send("job")
    [old] = queue.receive(visibility_timeout=10)
    queue_factory.advance(11)
    [new] = queue.receive(visibility_timeout=10)
    with pytest.raises(StaleReceipt) as raised:
        queue.delete(old.receipt_handle)
    assert raised.value.as_dict()["code"] == "stale_receipt"
    assert queue.depth().in_flight == 1
    queue.delete(new.receipt_handle)
    assert queue.depth().total == 0


def test_deleting_a_gone_message_is_silent(queue: JobQueue) -> None:
    queue.send("job")
    [message] = queue.receive()
    queue.delete(message.receipt_handle)
    queue.delete(message.receipt_handle)  # a retried ack


def test_dead_letter_after_max_receives(queue_factory: QueueHarness) -> None:
    dead = queue_factory.make("jobs-dead")
    queue = queue_factory.make("jobs", max_receives=3, dead_letter=dead)
    message_id = queue.send("poison")
    for attempt in range(1, 4):
        [message] = queue.receive(visibility_timeout=10)
        assert message.receive_count == attempt
        queue_factory.advance(11)
    assert queue.receive() == []
    assert queue.depth().total == 0
    [dead_message] = dead.receive()
    assert (dead_message.message_id, dead_message.body) == (message_id, "poison")
    assert dead_message.sent_at == message.sent_at
    assert dead_message.receive_count == 1


def test_dead_lettering_does_not_starve_healthy_messages(queue_factory: QueueHarness) -> None:
    dead = queue_factory.make("jobs-dead")
    queue = queue_factory.make("jobs", max_receives=1, dead_letter=dead)
    queue.send("poison")
    queue.receive(visibility_timeout=10)
    queue.send("healthy")
    queue_factory.advance(11)
    assert [m.body for m in queue.receive(max_messages=2)] == ["healthy"]
    assert [m.body for m in dead.receive()] == ["poison"]


def test_without_dead_letter_queue_redelivery_is_unlimited(queue_factory: QueueHarness) -> None:
    queue = queue_factory.make("jobs", max_receives=2)
    queue.send("job")
    for _ in range(5):
        assert len(queue.receive(visibility_timeout=1)) == 1
        queue_factory.advance(2)


def test_delay_seconds(queue_factory: QueueHarness, queue: JobQueue) -> None:
    queue.send("later", delay_seconds=60)
    assert queue.receive() == []
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, delayed=1)
    queue_factory.advance(61)
    assert [m.body for m in queue.receive()] == ["later"]


def test_deduplication_within_the_window(queue_factory: QueueHarness, queue: JobQueue) -> None:
    if not queue_factory.deduplicates:
        with pytest.raises(InvalidParameter):
            queue.send("job A", deduplication_id="job-1/chunk-0")
        assert queue.depth().total == 0
        return
    first = queue.send("job A", deduplication_id="job-1/chunk-0")
    assert queue.send("job A", deduplication_id="job-1/chunk-0") == first
    assert queue.depth().visible == 1
    queue_factory.advance(DEDUPLICATION_WINDOW_SECONDS + 1)
    assert queue.send("job A", deduplication_id="job-1/chunk-0") != first
    assert queue.depth().visible == 2


def test_deduplication_outlives_delete(queue_factory: QueueHarness, queue: JobQueue) -> None:
    if not queue_factory.deduplicates:
        pytest.skip("a standard SQS queue refuses deduplication ids (see the test above)")
    queue.send("job", deduplication_id="d")
    [message] = queue.receive()
    queue.delete(message.receipt_handle)
    queue.send("job", deduplication_id="d")
    assert queue.depth().total == 0


def test_max_messages_and_batches(queue: JobQueue) -> None:
    ids = queue.send_batch([f"job {i}" for i in range(25)])
    assert len(set(ids)) == 25
    assert queue.send_batch([]) == []
    sizes = [len(queue.receive(max_messages=10)) for _ in range(4)]
    assert sizes == [10, 10, 5, 0]
    for bad in (0, 11):
        with pytest.raises(InvalidParameter):
            queue.receive(max_messages=bad)


def test_depth(queue: JobQueue) -> None:
    queue.send_batch(["a", "b", "c"])
    queue.send("d", delay_seconds=30)
    queue.receive()
    assert queue.depth() == QueueDepth(visible=2, in_flight=1, delayed=1)


def test_purge_removes_in_flight_messages_too(queue: JobQueue) -> None:
    queue.send_batch(["a", "b"])
    [message] = queue.receive()
    queue.purge()
    assert queue.depth().total == 0
    queue.delete(message.receipt_handle)


def test_limits_match_sqs(queue: JobQueue) -> None:
    for call in (
        lambda: queue.send(""),
        lambda: queue.send("x" * (256 * 1024 + 1)),
        lambda: queue.send("x", delay_seconds=901),
        lambda: queue.receive(visibility_timeout=12 * 3600 + 1),
        lambda: queue.receive(wait_seconds=21),
    ):
        with pytest.raises(InvalidParameter):
            call()


def test_crashed_consumer_work_is_finished_exactly_once(
    queue_factory: QueueHarness, queue: JobQueue
) -> None:
    sent = set(queue.send_batch([f"image-{i}" for i in range(6)]))
    crashed = queue.receive(max_messages=3, visibility_timeout=30)  # never deleted
    done: list[str] = []
    for _ in range(3):
        for message in queue.receive(max_messages=10, visibility_timeout=30):
            done.append(message.message_id)
            queue.delete(message.receipt_handle)
        queue_factory.advance(31)
    assert sorted(done) == sorted(sent)
    assert queue.depth().total == 0
    for message in crashed:  # a late ack from the crashed consumer changes nothing
        queue.delete(message.receipt_handle)
    assert queue.receive() == []
