"""What the SQLite queue promises beyond the port contract: durability and real concurrency."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from cellhub.adapters.local.sqlite_queue import SqliteJobQueue
from cellhub.errors import InvalidParameter

REPOSITORY_ROOT = Path(__file__).resolve().parents[4]


def drain(queue: SqliteJobQueue, consumers: int) -> list[str]:
    """Receive (and ack) until the queue is empty; the ids this consumer got.

    Consumers first meet at a barrier (a second queue in the same file), so that slow
    process start-up cannot let one consumer drain everything before the others begin.
    """
    barrier = SqliteJobQueue(queue.path, f"{queue.name}-started")
    got: list[str] = []
    try:
        barrier.send("started")
        deadline = time.monotonic() + 10
        while barrier.depth().visible < consumers and time.monotonic() < deadline:
            time.sleep(0.005)
        while messages := queue.receive(max_messages=3, visibility_timeout=300):
            for message in messages:
                got.append(message.message_id)
                queue.delete(message.receipt_handle)
            time.sleep(0.001)  # let the other consumers interleave
    finally:
        barrier.close()
    return got


def drain_in_own_process(path: Path, name: str, consumers: int) -> list[str]:
    queue = SqliteJobQueue(path, name)
    try:
        return drain(queue, consumers)
    finally:
        queue.close()


def assert_disjoint_and_complete(per_consumer: list[list[str]], sent: list[str]) -> None:
    assert all(per_consumer), "a consumer got nothing: the run proved no concurrency"
    received = [message_id for ids in per_consumer for message_id in ids]
    assert len(received) == len(set(received)), "a message was delivered to two consumers"
    assert sorted(received) == sorted(sent)


def test_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "queues.sqlite3"
    queue = SqliteJobQueue(path, "jobs")
    sent = queue.send_batch(["a", "b", "c"])
    [claimed] = queue.receive(visibility_timeout=300)
    queue.close()

    reopened = SqliteJobQueue(path, "jobs")
    try:
        depth = reopened.depth()
        assert (depth.visible, depth.in_flight) == (2, 1)
        reopened.delete(claimed.receipt_handle)  # a handle issued before the restart still acks
        bodies = [m.body for m in reopened.receive(max_messages=10)]
        assert sorted(bodies) == sorted({"a", "b", "c"} - {claimed.body})
        assert claimed.message_id in sent
    finally:
        reopened.close()


def test_queues_in_one_file_are_independent(tmp_path: Path) -> None:
    path = tmp_path / "queues.sqlite3"
    segment, export = SqliteJobQueue(path, "segment"), SqliteJobQueue(path, "export")
    try:
        segment.send("s", deduplication_id="same")
        export.send("e", deduplication_id="same")
        export.purge()
        assert [m.body for m in segment.receive()] == ["s"]
        assert export.depth().total == 0
    finally:
        segment.close()
        export.close()


def test_dead_letter_queue_in_another_file(tmp_path: Path) -> None:
    dead = SqliteJobQueue(tmp_path / "dead.sqlite3", "jobs-dead")
    queue = SqliteJobQueue(tmp_path / "queues.sqlite3", "jobs", max_receives=1, dead_letter=dead)
    try:
        queue.send("poison")
        queue.receive(visibility_timeout=0)
        assert queue.receive() == []
        assert [m.body for m in dead.receive()] == ["poison"]
    finally:
        queue.close()
        dead.close()


def test_rejects_bad_configuration_and_handles(tmp_path: Path) -> None:
    queue = SqliteJobQueue(tmp_path / "q.sqlite3", "jobs")
    try:
        with pytest.raises(InvalidParameter):
            SqliteJobQueue(tmp_path / "q.sqlite3", "jobs", dead_letter=queue)
        with pytest.raises(InvalidParameter):
            SqliteJobQueue(tmp_path / "q.sqlite3", "other", max_receives=0)
        with pytest.raises(InvalidParameter):
            queue.delete("not-a-receipt")
    finally:
        queue.close()


def test_threads_never_share_a_message(tmp_path: Path) -> None:
    path = tmp_path / "queues.sqlite3"
    shared = SqliteJobQueue(path, "jobs")  # one object: each thread opens its own connection
    sent = shared.send_batch([f"image-{i}" for i in range(200)])
    try:
        with ThreadPoolExecutor(4) as pool:
            per_thread = list(pool.map(drain, [shared] * 4, [4] * 4))
    finally:
        shared.close()
    assert_disjoint_and_complete(per_thread, sent)


@pytest.mark.slow
def test_processes_never_share_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "queues.sqlite3"
    producer = SqliteJobQueue(path, "jobs")
    sent = producer.send_batch([f"image-{i}" for i in range(200)])
    producer.close()
    # A spawned child re-imports ``drain`` by this module's name, so it needs the repository
    # root on the ``sys.path`` it inherits from here.
    monkeypatch.syspath_prepend(REPOSITORY_ROOT)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        per_process = list(pool.map(drain_in_own_process, [path] * 2, ["jobs"] * 2, [2] * 2))
    assert_disjoint_and_complete(per_process, sent)


def test_long_poll_returns_when_a_message_arrives(tmp_path: Path) -> None:
    path = tmp_path / "queues.sqlite3"
    consumer = SqliteJobQueue(path, "jobs")
    # A separate object stands in for another process: no in-memory wake-up can reach it.
    producer = SqliteJobQueue(path, "jobs")
    try:
        started = time.monotonic()
        assert consumer.receive(wait_seconds=0.2) == []
        assert time.monotonic() - started >= 0.2

        sender = threading.Timer(0.2, producer.send, args=("late",))
        sender.start()
        started = time.monotonic()
        [message] = consumer.receive(wait_seconds=10)
        waited = time.monotonic() - started
        sender.join()
        assert message.body == "late"
        assert 0.1 < waited < 2.0
    finally:
        consumer.close()
        producer.close()
