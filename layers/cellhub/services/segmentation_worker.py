"""The worker step of segmentation: one queue message (a chunk of images) in, versions out.

Delivery is at least once, so every step may run again after a crash at any point. The order
for one image, and why each crash leaves it re-processable without a second version:

1. ``queued → processing`` (conditional). A crash leaves it ``processing``; the redelivered
   message takes it again (``processing`` is accepted on redelivery).
2. Run the pipeline and write the document to ``model_document_key(project, image, job)``.
   The key depends only on the job and image, so a retry overwrites the same object; no
   record points at it yet, so a crash here leaves at most an orphan that the retry reuses.
3. ``add_model_version_once(image, job)``: atomic and idempotent per (job, image); a retry
   gets the version stored first. Every handling first looks for that version and, when it
   exists, skips straight to step 4, so the pipeline never runs twice for a stored result.
4. ``processing → segmented`` (conditional), publish ``ImageSegmented``, and count the image
   with ``record_outcome``, which counts once per (job, image). When an earlier delivery
   already made the change, the count is repaired and the event published only if that
   delivery crashed before counting. So a crash between the status change and the count
   loses nothing, and nothing is counted twice.

Model output is stored under a job-derived key rather than ``document_key(..., version)``
because the repository numbers versions inside its transaction: a number guessed before the
write could collide with a concurrent manual edit's document. Readers follow
``SegmentationVersion.blob_key``.

Fine-tuning and import jobs share the queue (``cellhub.model-job/1``); their messages go to
the injected ``ModelJobWorker`` (``model_job_worker``), and are a permanent error without one.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cellhub.domain.events import ImageFailed, ImageProcessing, ImageSegmented
from cellhub.domain.images import Image, ImageStatus, SegmentationVersion
from cellhub.domain.jobs import JobState
from cellhub.errors import BlobNotFound, CellhubError, ImageError, InvalidParameter, StaleReceipt
from cellhub.ports.blob_store import BlobStore
from cellhub.ports.images_repository import ImagesRepository
from cellhub.ports.job_queue import JobQueue, ReceivedMessage
from cellhub.ports.jobs_repository import JobsRepository
from cellhub.ports.notifier import Notifier
from cellhub.results import ImageResult
from cellhub.segmenter import Segmenter
from cellhub.services.image_segmentation import SegmentOptions, segment_image
from cellhub.services.model_job_messages import ModelJobMessage, parse_worker_message
from cellhub.services.model_job_worker import ModelJobWorker
from cellhub.services.segmentation_documents import save_document
from cellhub.services.segmentation_messages import SegmentChunk

logger = logging.getLogger(__name__)

# The original as a local file, or its bytes; the default streams it from the blob store.
ReadOriginal = Callable[[Image], "Path | bytes"]
_WAITING = (ImageStatus.QUEUED, ImageStatus.PROCESSING)


def model_document_key(project_id: str, image_id: str, job_id: str) -> str:
    """Where job ``job_id`` stores its document for the image; the same on every retry."""
    return f"projects/{project_id}/segmentations/{image_id}/job-{job_id}.json.gz"


class SegmentationWorker:
    """Handles segmentation chunks and their dead letters; safe to run in several processes."""

    def __init__(
        self,
        images: ImagesRepository,
        jobs: JobsRepository,
        blobs: BlobStore,
        notifier: Notifier,
        segmenter_for: Callable[[str, str], Segmenter],
        *,
        read_original: ReadOriginal | None = None,
        model_jobs: ModelJobWorker | None = None,
    ) -> None:
        """``segmenter_for(project_id, model)`` resolves a project's model before a global one."""
        self._images = images
        self._jobs = jobs
        self._blobs = blobs
        self._notifier = notifier
        self._segmenter_for = segmenter_for
        self._read_original = read_original
        self._model_jobs = model_jobs

    def handle(self, message: ReceivedMessage, *, heartbeat: Callable[[], None]) -> None:
        """Process one chunk; return normally when the message may be deleted.

        A body of an unknown schema raises ``InvalidParameter`` (permanent). Non-permanent
        errors propagate so that the message is delivered again.
        """
        chunk = parse_worker_message(message.body)
        if isinstance(chunk, ModelJobMessage):
            self._model_job_worker().handle(chunk, heartbeat=heartbeat)
            return
        if self._cancelled(chunk):
            return
        self._jobs.set_job_state(chunk.job_id, [JobState.QUEUED], JobState.RUNNING)
        segmenter = self._segmenter_for(chunk.project_id, chunk.model)
        options = _segment_options(chunk)
        for image_id in chunk.image_ids:
            if self._cancelled(chunk):
                return
            self._process(chunk, image_id, segmenter, options)
            heartbeat()

    def dead_lettered(self, message: ReceivedMessage, *, attempts: int) -> None:
        """Fail the unfinished images of a chunk that was received ``attempts`` times."""
        try:
            chunk = parse_worker_message(message.body)
            if isinstance(chunk, ModelJobMessage):
                self._model_job_worker().dead_lettered(chunk, attempts=attempts)
                return
        except CellhubError:
            logger.warning("dropping an unreadable dead letter %s", message.message_id)
            return
        for image_id in chunk.image_ids:
            stored = self._stored_version(image_id, chunk.job_id)
            if stored is not None:
                self._segmented(chunk, stored, seconds=0.0)
            else:
                self._failed(chunk, image_id, "gave_up", f"gave up after {attempts} attempts")

    def drain(
        self, queue: JobQueue, *, max_messages: int = 100, visibility_timeout: int = 300
    ) -> int:
        """Handle messages until the queue has none visible or ``max_messages`` were taken.

        Deletes each message its handling finished; returns how many. A permanently failing
        message is made visible at once, so it reaches the dead-letter queue without waiting.
        """
        finished = taken = 0
        while taken < max_messages:
            received = queue.receive(max_messages=1, visibility_timeout=visibility_timeout)
            if not received:
                return finished
            message = received[0]
            taken += 1
            handle = message.receipt_handle

            def heartbeat(handle: str = handle) -> None:
                queue.change_visibility(handle, visibility_timeout)

            try:
                self.handle(message, heartbeat=heartbeat)
            except StaleReceipt:
                # Another consumer holds the message now; it finishes the work.
                logger.warning("lost the claim on message %s", message.message_id)
                continue
            except Exception as error:
                logger.exception("segmentation message %s failed", message.message_id)
                if isinstance(error, CellhubError) and error.permanent:
                    queue.change_visibility(handle, 0)
                continue
            queue.delete(handle)
            finished += 1
        return finished

    def drain_dead_letters(self, queue: JobQueue, *, attempts: int, max_messages: int = 100) -> int:
        """Fail the images of every dead-lettered chunk in ``queue``; return how many chunks."""
        done = 0
        while done < max_messages:
            received = queue.receive(max_messages=1)
            if not received:
                break
            self.dead_lettered(received[0], attempts=attempts)
            queue.delete(received[0].receipt_handle)
            done += 1
        return done

    def _model_job_worker(self) -> ModelJobWorker:
        if self._model_jobs is None:
            raise InvalidParameter("this worker runs no fine-tuning or model import jobs")
        return self._model_jobs

    def _process(
        self, chunk: SegmentChunk, image_id: str, segmenter: Segmenter, options: SegmentOptions
    ) -> None:
        stored = self._stored_version(image_id, chunk.job_id)
        if stored is not None:
            self._segmented(chunk, stored, seconds=0.0)
            return
        image = self._images.get(chunk.project_id, image_id)
        if image is None or not self._claim(image):
            return
        self._notifier.publish(
            ImageProcessing(project_id=chunk.project_id, image_id=image_id, job_id=chunk.job_id)
        )
        started = time.perf_counter()
        try:
            result = self._segment(image, segmenter, options)
        except (ImageError, BlobNotFound) as error:
            self._failed(chunk, image_id, error.code, error.reason)
            return
        if self._cancelled(chunk):
            self._give_back(image)
            return
        key = model_document_key(chunk.project_id, image_id, chunk.job_id)
        save_document(self._blobs, key, result.to_document())
        record = SegmentationVersion(
            image_id=image_id,
            version=0,
            blob_key=key,
            object_count=len(result.polygons),
            model=chunk.model,
            threshold=chunk.threshold,
            source="model",
            job_id=chunk.job_id,
            created_by=f"job:{chunk.job_id}",
        )
        stored = self._images.add_model_version_once(image_id, chunk.job_id, record)
        self._segmented(chunk, stored, seconds=time.perf_counter() - started)

    def _claim(self, image: Image) -> bool:
        # ``processing`` means an earlier delivery of this message crashed mid-image; the
        # message is ours now (its visibility hides it from others), so carry on.
        if image.status is ImageStatus.PROCESSING:
            return True
        if image.status is not ImageStatus.QUEUED:
            return False
        return self._images.update_status(image.id, [ImageStatus.QUEUED], ImageStatus.PROCESSING)

    def _segment(self, image: Image, segmenter: Segmenter, options: SegmentOptions) -> ImageResult:
        original = self._read_original(image) if self._read_original else None
        if isinstance(original, Path):
            return segment_image(
                original, image.name, segmenter, options, pixel_size_um=options.pixel_size_um
            )
        with tempfile.TemporaryDirectory(prefix="cellhub-segment-") as folder:
            path = Path(folder) / "original"
            if original is None:
                with self._blobs.open(image.blob_key) as source, path.open("wb") as target:
                    shutil.copyfileobj(source, target)
            else:
                path.write_bytes(original)
            return segment_image(
                path, image.name, segmenter, options, pixel_size_um=options.pixel_size_um
            )

    def _stored_version(self, image_id: str, job_id: str) -> SegmentationVersion | None:
        versions = self._images.list_versions(image_id)
        return next((v for v in versions if v.job_id == job_id), None)

    def _segmented(
        self, chunk: SegmentChunk, stored: SegmentationVersion, *, seconds: float
    ) -> None:
        event = ImageSegmented(
            project_id=chunk.project_id,
            image_id=stored.image_id,
            version=stored.version,
            object_count=stored.object_count,
            seconds=seconds,
        )
        self._finish(chunk, stored.image_id, ImageStatus.SEGMENTED, event)

    def _failed(self, chunk: SegmentChunk, image_id: str, code: str, reason: str) -> None:
        event = ImageFailed(
            project_id=chunk.project_id, image_id=image_id, code=code, reason=reason
        )
        self._finish(chunk, image_id, ImageStatus.FAILED, event, reason=reason)

    def _finish(
        self,
        chunk: SegmentChunk,
        image_id: str,
        status: ImageStatus,
        event: ImageSegmented | ImageFailed,
        *,
        reason: str | None = None,
    ) -> None:
        """Move a waiting image to its final ``status``, publish ``event`` and count it.

        When an earlier delivery already moved the image, the count is repaired (it counts
        once per job and image) and the event is published only if that count was missing.
        """
        failed = status is ImageStatus.FAILED
        if self._images.update_status(image_id, _WAITING, status, reason=reason):
            self._notifier.publish(event)
            self._count(chunk.job_id, image_id, failed=failed)
            return
        image = self._images.get(chunk.project_id, image_id)
        already_there = image is not None and image.status is status
        if already_there and self._count(chunk.job_id, image_id, failed=failed):
            self._notifier.publish(event)

    def _count(self, job_id: str, image_id: str, *, failed: bool) -> bool:
        job, counted = self._jobs.record_outcome(job_id, image_id, failed=failed)
        if job.counts.finished:
            self._jobs.set_job_state(job_id, [JobState.QUEUED, JobState.RUNNING], JobState.DONE)
        return counted

    def _give_back(self, image: Image) -> None:
        back = ImageStatus.SEGMENTED if image.latest_version > 0 else ImageStatus.READY
        self._images.update_status(image.id, _WAITING, back)

    def _cancelled(self, chunk: SegmentChunk) -> bool:
        job = self._jobs.get_job(chunk.project_id, chunk.job_id)
        return job is None or job.state is JobState.CANCELLED


def _segment_options(chunk: SegmentChunk) -> SegmentOptions:
    extra = chunk.options
    channels = extra.get("channels")
    return SegmentOptions(
        threshold=chunk.threshold,
        pixel_size_um=extra.get("pixel_size_um"),
        channels=None if channels is None else tuple(int(c) for c in channels),
        min_area_px=float(extra.get("min_area_px", 0.0)),
    )
