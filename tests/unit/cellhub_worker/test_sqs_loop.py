"""The ECS worker loop over the queue port (SQLite queue with SQS semantics, local adapters)."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from aws_lambda_powertools import Metrics
from PIL import Image as PilImage

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_jobs import SqliteJobsRepository
from cellhub.adapters.local.sqlite_queue import SqliteJobQueue
from cellhub.domain.images import Image, ImageStatus
from cellhub.domain.jobs import Job
from cellhub.domain.projects import Project
from cellhub.errors import QueueError, StaleReceipt
from cellhub.ports.notifier import RecordingNotifier
from cellhub.segmenter import Instances
from cellhub.services.segmentation_jobs import SegmentationJobs
from cellhub.services.segmentation_worker import SegmentationWorker
from cellhub_worker import sqs_loop
from cellhub_worker.sqs_loop import SqsWorkerLoop, TaskProtection, install_drain_on_signals
from tests.unit.local_queue_world import local_queue_world

MAX_RECEIVES = 2


class SquareSegmenter:
    """One square per image; ``on_call`` runs before call number ``at``."""

    name = "fixed"
    version = "test"

    def __init__(self, *, at: int | None = None, on_call: Any = None, seconds: float = 0.0):
        self.calls = 0
        self.at, self.on_call, self.seconds = at, on_call, seconds

    def segment(self, pixels: Any, *, threshold: float | None = None) -> Instances:
        self.calls += 1
        if self.calls == self.at:
            self.on_call()
        time.sleep(self.seconds)
        labels = np.zeros(pixels.shape[:2], np.int32)
        labels[4:12, 4:12] = 1
        return Instances(labels, {1: 0.9})


class Crashing:
    name = "fixed"
    version = "test"

    def segment(self, pixels: Any, *, threshold: float | None = None) -> Instances:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")


@dataclass
class World:
    images: SqliteImagesRepository
    jobs: SqliteJobsRepository
    blobs: FilesystemBlobStore
    queue: SqliteJobQueue
    dead: SqliteJobQueue
    project: Project
    clock: list[float]
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)

    def loop(self, segmenter: Any, **options: Any) -> SqsWorkerLoop:
        worker = SegmentationWorker(
            self.images, self.jobs, self.blobs, self.notifier, lambda project, model: segmenter
        )
        options.setdefault("wait_seconds", 0)
        return SqsWorkerLoop(
            worker, self.queue, dead_letter=self.dead, max_receives=MAX_RECEIVES,
            metrics=Metrics(namespace="CellHubTest"), **options,
        )  # fmt: skip

    def start(self, count: int) -> tuple[Job, list[Image]]:
        added = []
        for n in range(count):
            image = Image.new(
                self.project.id, f"i{n}.png", size=1, content_type="image/png", blob_key=f"o/{n}"
            )
            self.blobs.put(image.blob_key, png())
            added.append(image)
        self.images.add_many(added)
        for image in added:
            self.images.update_status(image.id, [ImageStatus.UPLOADING], ImageStatus.READY)
        service = SegmentationJobs(self.images, self.jobs, self.queue, self.notifier)
        return service.create(self.project.id, model="fixed", threshold=0.5, created_by="a"), added

    def statuses(self, images: list[Image]) -> list[ImageStatus]:
        return [self.image(image).status for image in images]

    def image(self, image: Image) -> Image:
        stored = self.images.get(self.project.id, image.id)
        assert stored is not None
        return stored


def png() -> bytes:
    buffer = io.BytesIO()
    PilImage.fromarray(np.full((24, 24), 30, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def quiet_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with local_queue_world(tmp_path, max_receives=MAX_RECEIVES) as parts:
        yield World(
            SqliteImagesRepository(parts.database),
            SqliteJobsRepository(parts.database),
            parts.blobs,
            parts.queue,
            parts.dead,
            parts.project,
            parts.clock,
        )


def test_messages_are_handled_and_acknowledged(world: World) -> None:
    _, added = world.start(20)  # two chunks
    loop = world.loop(SquareSegmenter())
    assert loop.run_once() == 1
    assert loop.run_once() == 1
    assert loop.run_once() == 0
    assert set(world.statuses(added)) == {ImageStatus.SEGMENTED}
    assert world.queue.depth().total == 0


def test_sigterm_drains_without_losing_a_message(world: World) -> None:
    _, added = world.start(20)
    segmenter = SquareSegmenter(at=3, on_call=lambda: os.kill(os.getpid(), signal.SIGTERM))
    loop = world.loop(segmenter)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    install_drain_on_signals(loop)
    try:
        loop.run()  # returns once drained, instead of the process dying
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    # The image in progress was finished; the held message went back at once, the other
    # was never taken.
    assert segmenter.calls == 3
    assert world.statuses(added).count(ImageStatus.SEGMENTED) == 3
    depth = world.queue.depth()
    assert (depth.visible, depth.in_flight) == (2, 0)

    rest = SquareSegmenter()
    after = world.loop(rest)
    while after.run_once():
        pass
    assert rest.calls == 17  # nothing done twice
    assert set(world.statuses(added)) == {ImageStatus.SEGMENTED}
    assert {world.image(image).latest_version for image in added} == {1}
    assert world.queue.depth().total == 0


def test_a_message_that_keeps_failing_is_dead_lettered_and_its_images_failed(
    world: World,
) -> None:
    _, added = world.start(2)
    loop = world.loop(Crashing(), visibility_timeout=30)
    for _ in range(MAX_RECEIVES):
        assert loop.run_once() == 0
        world.clock[0] += 31  # the failed delivery's visibility runs out
    assert loop.run_once() == 0  # the third receive dead-letters it; idle: fail its images
    assert set(world.statuses(added)) == {ImageStatus.FAILED}
    assert world.queue.depth().total == 0 and world.dead.depth().total == 0


class RecordingQueue:
    """The queue, with the visibility changes the loop made."""

    def __init__(self, queue: SqliteJobQueue) -> None:
        self._queue = queue
        self.extensions: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)

    def change_visibility(self, receipt_handle: str, timeout_seconds: int) -> None:
        self.extensions.append(timeout_seconds)
        self._queue.change_visibility(receipt_handle, timeout_seconds)


def test_a_heartbeat_extends_the_visibility_while_an_image_runs(world: World) -> None:
    world.start(1)
    recording = RecordingQueue(world.queue)
    loop = world.loop(SquareSegmenter(seconds=1.2), visibility_timeout=1)
    loop._queue = recording  # type: ignore[assignment]
    assert loop.run_once() == 1
    assert recording.extensions and set(recording.extensions) == {1}


class FlakyQueue(RecordingQueue):
    """Raises ``error`` from the first ``failures`` visibility changes."""

    def __init__(self, queue: SqliteJobQueue, error: Exception, failures: int) -> None:
        super().__init__(queue)
        self.error, self.failures, self.attempts = error, failures, 0

    def change_visibility(self, receipt_handle: str, timeout_seconds: int) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error
        super().change_visibility(receipt_handle, timeout_seconds)


def test_a_heartbeat_keeps_beating_after_a_failed_extension(world: World) -> None:
    world.start(1)
    flaky = FlakyQueue(world.queue, QueueError("Throttling: rate exceeded"), failures=1)
    loop = world.loop(SquareSegmenter(seconds=1.2), visibility_timeout=1)
    loop._queue = flaky  # type: ignore[assignment]
    assert loop.run_once() == 1
    assert flaky.attempts > 1 and flaky.extensions and set(flaky.extensions) == {1}


def test_a_heartbeat_stops_once_the_claim_is_lost(world: World) -> None:
    world.start(1)
    flaky = FlakyQueue(world.queue, StaleReceipt("received again"), failures=100)
    loop = world.loop(SquareSegmenter(seconds=1.2), visibility_timeout=1)
    loop._queue = flaky  # type: ignore[assignment]
    loop.run_once()
    assert flaky.attempts == 1 and flaky.extensions == []


class AgentHandler(BaseHTTPRequestHandler):
    states: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.states.append((self.path, json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def ecs_agent() -> Iterator[str]:
    AgentHandler.states = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), AgentHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/task-id"
    server.shutdown()
    thread.join()


def test_a_busy_task_is_protected_from_scale_in_and_released_when_idle(
    world: World, ecs_agent: str
) -> None:
    world.start(1)
    loop = world.loop(SquareSegmenter(), protection=TaskProtection(ecs_agent))
    loop.run_once()
    loop.run_once()
    assert AgentHandler.states == [
        ("/api/task-id/task-protection/v1/state",
         {"ProtectionEnabled": True, "ExpiresInMinutes": 60}),
        ("/api/task-id/task-protection/v1/state", {"ProtectionEnabled": False}),
    ]  # fmt: skip


def test_without_an_ecs_agent_protection_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(sqs_loop.urllib.request, "urlopen", lambda *a, **k: calls.append(a))
    protection = TaskProtection(None)
    protection.hold()
    protection.release()
    assert calls == []
