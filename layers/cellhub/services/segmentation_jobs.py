"""Starting and cancelling segmentation jobs: the API side of the segmentation data flow.

``create`` claims images with conditional status changes (so two racing requests never queue
one image twice), writes the job with the exact number it claimed, then sends one queue
message per chunk. The worker (``segmentation_worker``) does the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cellhub.domain.events import ImageQueued
from cellhub.domain.images import Image, ImageStatus
from cellhub.domain.jobs import Job, JobState
from cellhub.errors import ImageNotFound, InvalidParameter, JobNotFound
from cellhub.ports.images_repository import ImagesRepository
from cellhub.ports.job_queue import JobQueue
from cellhub.ports.jobs_repository import JobsRepository
from cellhub.ports.notifier import Notifier
from cellhub.services.segmentation_messages import chunks_of

# Statuses an image may be queued from; "segmented" only when the caller forces a re-run.
_UNSEGMENTED = (ImageStatus.READY, ImageStatus.FAILED)
_WAITING = (ImageStatus.QUEUED, ImageStatus.PROCESSING)
_PAGE = 1000


class SegmentationJobs:
    """Creates and cancels segmentation jobs of a project."""

    def __init__(
        self,
        images: ImagesRepository,
        jobs: JobsRepository,
        queue: JobQueue,
        notifier: Notifier,
    ) -> None:
        self._images = images
        self._jobs = jobs
        self._queue = queue
        self._notifier = notifier

    def create(
        self,
        project_id: str,
        *,
        image_ids: Sequence[str] | None = None,
        model: str,
        threshold: float,
        options: dict[str, Any] | None = None,
        created_by: str,
        force: bool = False,
    ) -> Job:
        """Queue the images and return the new job.

        ``image_ids`` None takes every image that is ready or failed (and segmented ones
        with ``force``). Named images that are not in a queue-able status are skipped;
        an id not in the project raises ``ImageNotFound``; nothing to queue raises
        ``InvalidParameter``.
        """
        queueable = {*_UNSEGMENTED, ImageStatus.SEGMENTED} if force else set(_UNSEGMENTED)
        candidates = self._candidates(project_id, image_ids, queueable)
        ahead = len(self._all(project_id, _WAITING))
        # Each claim is conditional: an image another request queued meanwhile is skipped,
        # so counts.total is exactly the number of images this job owns.
        claimed = [
            image
            for image in candidates
            if self._images.update_status(image.id, [image.status], ImageStatus.QUEUED)
        ]
        if not claimed:
            raise InvalidParameter("no image of the selection can be segmented now")
        job = Job.new(
            project_id,
            model=model,
            threshold=threshold,
            total=len(claimed),
            created_by=created_by,
            options=options,
        )
        try:
            self._jobs.create_job(job)
            ids = [image.id for image in claimed]
            bodies = [
                chunk.to_json()
                for chunk in chunks_of(
                    job.id,
                    project_id,
                    ids,
                    model=model,
                    threshold=threshold,
                    options=job.options,
                )
            ]
            self._queue.send_batch(bodies)
        except BaseException:
            # Nothing will ever process these images: give them back before failing.
            self._jobs.set_job_state(job.id, [JobState.QUEUED], JobState.CANCELLED)
            self._release(claimed)
            raise
        for position, image in enumerate(claimed, start=ahead + 1):
            self._notifier.publish(
                ImageQueued(
                    project_id=project_id, image_id=image.id, job_id=job.id, position=position
                )
            )
        return job

    def cancel(self, project_id: str, job_id: str) -> Job:
        """Cancel an active job; its still-queued images go back to ready (or segmented).

        Images are not linked to jobs in the store, so queued images are given back only
        when no other job of the project is active (otherwise they cannot be told apart from
        that job's images and stay queued). Images being processed are given back by the
        worker, which checks the job state before it writes a result.
        """
        job = self._jobs.get_job(project_id, job_id)
        if job is None:
            raise JobNotFound("no such job", job_id=job_id)
        self._jobs.set_job_state(job_id, [JobState.QUEUED, JobState.RUNNING], JobState.CANCELLED)
        # Fine-tuning and import jobs hold no images, so they do not keep queued ones queued.
        active = self._jobs.list_active_jobs(project_id)
        if job.kind == "segment" and not any(other.kind == "segment" for other in active):
            self._release(self._all(project_id, [ImageStatus.QUEUED]))
        cancelled = self._jobs.get_job(project_id, job_id)
        assert cancelled is not None
        return cancelled

    def _candidates(
        self, project_id: str, image_ids: Sequence[str] | None, queueable: set[ImageStatus]
    ) -> list[Image]:
        if image_ids is None:
            return self._all(project_id, queueable)
        found: list[Image] = []
        for image_id in dict.fromkeys(image_ids):
            image = self._images.get(project_id, image_id)
            if image is None:
                raise ImageNotFound("no such image in the project", image_id=image_id)
            if image.status in queueable:
                found.append(image)
        return found

    def _all(
        self, project_id: str, statuses: Sequence[ImageStatus] | set[ImageStatus]
    ) -> list[Image]:
        found: list[Image] = []
        cursor: str | None = None
        while True:
            page = self._images.list(project_id, status=statuses, cursor=cursor, limit=_PAGE)
            found += page.items
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    def _release(self, images: Sequence[Image]) -> None:
        for image in images:
            back = ImageStatus.SEGMENTED if image.latest_version > 0 else ImageStatus.READY
            self._images.update_status(image.id, [ImageStatus.QUEUED], back)
