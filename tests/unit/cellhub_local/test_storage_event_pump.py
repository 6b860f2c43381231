"""The embedded hub's storage-event pump: what the thumbnail function does with S3
notifications, including the last delivery of an event that keeps failing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cellhub.adapters.local.sqlite_queue import SqliteJobQueue
from cellhub.domain.images import Image
from cellhub.services.storage_events import object_created_notification
from cellhub_local.queue_pumps import _storage_event_step

KEY = "projects/p1/originals/i1"
MAX_RECEIVES = 3


@dataclass
class FailingThumbnails:
    """Fails every event; records what the pump gave up on."""

    handled: int = 0
    given_up: list[str] = field(default_factory=list)

    def handle_object_created(self, key: str, etag: str | None = None) -> Image | None:
        self.handled += 1
        raise RuntimeError("decoder crashed")

    def give_up(self, key: str, error: Exception) -> Image | None:
        self.given_up.append(f"{key}: {error}")
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_an_event_that_keeps_failing_is_given_up_on_its_last_delivery(tmp_path: Path) -> None:
    clock = Clock()
    queue = SqliteJobQueue(
        tmp_path / "queues.sqlite3", "storage-events", visibility_timeout=10, clock=clock
    )
    queue.send(object_created_notification(KEY, etag="e1", size=10))
    thumbnails = FailingThumbnails()
    for delivery in range(1, MAX_RECEIVES + 1):
        step = _storage_event_step(thumbnails, queue, max_receives=MAX_RECEIVES)  # type: ignore[arg-type]
        assert step == 1
        assert thumbnails.handled == delivery
        clock.now += 11  # past the visibility timeout
    assert thumbnails.given_up == [f"{KEY}: decoder crashed"]
    assert queue.depth().total == 0  # acknowledged once given up


def test_an_event_that_fails_early_stays_queued(tmp_path: Path) -> None:
    queue = SqliteJobQueue(tmp_path / "queues.sqlite3", "storage-events", visibility_timeout=10)
    queue.send(object_created_notification(KEY, etag="e1", size=10))
    thumbnails = FailingThumbnails()
    _storage_event_step(thumbnails, queue, max_receives=MAX_RECEIVES)  # type: ignore[arg-type]
    assert thumbnails.given_up == []
    assert queue.depth().in_flight == 1
