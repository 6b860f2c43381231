"""Background threads of the embedded hub that do what SQS triggers do in the cloud.

Each pump long-polls one local queue and hands messages to the same service step the cloud
entry point calls (the GPU worker's segmentation and model-job step, the export handler), plus
a pump per dead-letter queue that marks the given-up work ``failed``. Pumps stop within a poll
interval of ``stop()``; anything a stopped or killed pump held reappears after its visibility
timeout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.errors import CellhubError
from cellhub.ports.blob_store import BlobStore
from cellhub.ports.job_queue import MAX_RECEIVE_MESSAGES, JobQueue
from cellhub.segmenter import Segmenter
from cellhub.services.export_messages import handle_export_message
from cellhub.services.model_job_worker import ModelJobWorker
from cellhub.services.segmentation_worker import ReadOriginal, SegmentationWorker
from cellhub.services.storage_events import handle_storage_event
from cellhub.services.thumbnails import ThumbnailService
from cellhub_api.container import HubServices

log = logging.getLogger(__name__)

# Seconds an idle pump waits between polls of its (local, cheap) queue.
_IDLE_POLL = 0.2
_EXPORT_VISIBILITY = 600


class QueuePump(threading.Thread):
    """Calls ``step()`` until stopped, resting ``_IDLE_POLL`` whenever it found nothing."""

    def __init__(self, name: str, step: Callable[[], int]) -> None:
        super().__init__(name=name, daemon=True)
        self._step = step
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                handled = self._step()
            except Exception:  # a bad step must not kill the pump; the message is retried
                log.exception("queue pump %s failed a step", self.name)
                handled = 0
            if not handled:
                self._stopping.wait(_IDLE_POLL)

    def stop(self) -> None:
        self._stopping.set()


def start_pumps(
    services: HubServices,
    segmenter_for: Callable[[str, str], Segmenter],
    *,
    segment_workers: int = 1,
    max_receives: int,
    model_jobs: ModelJobWorker | None = None,
) -> list[QueuePump]:
    """Start the segmentation, export, storage-event and dead-letter pumps; returns them for
    ``stop``. ``segmenter_for(project_id, model)``; without ``model_jobs`` a fine-tuning or
    import job's message is a permanent error."""
    worker = SegmentationWorker(
        services.images,
        services.jobs,
        services.blobs,
        services.notifier,
        segmenter_for,
        read_original=original_reader(services.blobs),
        model_jobs=model_jobs,
    )
    segment_dlq = _dead_letter_of(services.segment_queue)
    pumps = [
        QueuePump(f"segment-{n}", lambda: worker.drain(services.segment_queue, max_messages=1))
        for n in range(segment_workers)
    ]
    pumps.append(QueuePump("export", lambda: _export_step(services, max_receives=max_receives)))
    if services.storage_events is not None:
        thumbnails = ThumbnailService(services.images, services.blobs, services.notifier)
        events = services.storage_events
        pumps.append(
            QueuePump(
                "storage-events",
                lambda: _storage_event_step(thumbnails, events, max_receives=max_receives),
            )
        )
    if segment_dlq is not None:
        pumps.append(
            QueuePump(
                "segment-dlq",
                lambda: worker.drain_dead_letters(segment_dlq, attempts=max_receives),
            )
        )
    for pump in pumps:
        pump.start()
    return pumps


def stop_pumps(pumps: list[QueuePump], *, timeout: float = 30.0) -> None:
    for pump in pumps:
        pump.stop()
    for pump in pumps:
        pump.join(timeout)


def _export_step(services: HubServices, *, max_receives: int) -> int:
    """What the export Lambda does with one message: a transient failure leaves the message
    to reappear after its visibility timeout, except on its last delivery, where the failure
    is recorded on the export."""
    queue = services.export_queue
    received = queue.receive(max_messages=1, visibility_timeout=_EXPORT_VISIBILITY)
    for message in received:
        try:
            handle_export_message(services.exports, message, max_receives=max_receives)
        except CellhubError as exc:
            log.warning("export message %s failed: %s", message.message_id, exc.reason)
            if exc.permanent:
                queue.change_visibility(message.receipt_handle, 0)
            continue
        queue.delete(message.receipt_handle)
    return len(received)


def _storage_event_step(thumbnails: ThumbnailService, queue: JobQueue, *, max_receives: int) -> int:
    """What the thumbnail function does with a batch of S3 notifications from SQS: on its
    last delivery, an event that fails again rejects its image with the reason."""
    received = queue.receive(max_messages=MAX_RECEIVE_MESSAGES)
    for message in received:
        last_attempt = message.receive_count >= max_receives
        try:
            handle_storage_event(thumbnails, message.body, last_attempt=last_attempt)
        except Exception:  # retried after its visibility timeout
            log.exception("storage event %s failed", message.message_id)
            continue
        queue.delete(message.receipt_handle)
    return len(received)


def original_reader(blobs: BlobStore) -> ReadOriginal | None:
    """Segment a folder store's originals where they lie, rather than copying each one to a
    temporary file first; None (stream a copy) for any other store."""
    if isinstance(blobs, FilesystemBlobStore):
        return lambda image: blobs.local_path(image.blob_key)
    return None


def _dead_letter_of(queue: JobQueue) -> JobQueue | None:
    dead_letter: JobQueue | None = getattr(queue, "dead_letter", None)
    return dead_letter
