"""How a worker process is put together, the same way everywhere.

The GPU worker container, the emulated cloud and ``cellhub serve`` all resolve a job's model
with :func:`project_segmenters` (the project's own model first, then the catalogue, each
loaded once) and run fine-tuning and import jobs through :func:`model_job_worker`;
:func:`loop_from_environment` builds the container's SQS loop from the AWS environment.
"""

from __future__ import annotations

import logging
import os

from cellhub.ports.blob_store import BlobStore
from cellhub.ports.images_repository import ImagesRepository
from cellhub.ports.jobs_repository import JobsRepository
from cellhub.ports.notifier import Notifier
from cellhub.services.model_job_worker import ModelJobWorker
from cellhub.services.project_models import ProjectModelStore
from cellhub.services.project_segmenters import ProjectSegmenters
from cellhub.services.segmentation_worker import SegmentationWorker
from cellhub_worker.sqs_loop import WAIT_SECONDS, SqsWorkerLoop, TaskProtection

logger = logging.getLogger(__name__)


def project_segmenters(store: ProjectModelStore) -> ProjectSegmenters:
    """A job's segmenter: the project's own model, else the catalogue's, each loaded once."""
    from cellhub_worker.project_models import load_project_segmenter
    from cellhub_worker.registry import load_segmenter

    return ProjectSegmenters(store, load_global=load_segmenter, load_project=load_project_segmenter)


def model_job_worker(
    *,
    images: ImagesRepository,
    jobs: JobsRepository,
    blobs: BlobStore,
    notifier: Notifier,
    segmenters: ProjectSegmenters,
) -> ModelJobWorker | None:
    """The fine-tuning and import handler over the torch runner; None (such jobs then fail
    as permanent errors) in an installation without the runner."""
    try:
        from cellhub_worker.model_jobs import TorchModelJobRunner
    except ImportError:
        logger.warning("no model-job runner installed: fine-tuning and imports will fail")
        return None
    store = ProjectModelStore(blobs)
    runner = TorchModelJobRunner(images=images, blobs=blobs, store=store, segmenter_for=segmenters)
    return ModelJobWorker(jobs, notifier, store, runner)


def loop_from_environment(*, wait_seconds: int = WAIT_SECONDS) -> SqsWorkerLoop:
    """The worker loop over the AWS adapters the environment names (``AwsResources``), with
    ECS task protection when ``ECS_AGENT_URI`` is set: what the container runs, and what the
    emulated cloud runs in a thread."""
    from cellhub.adapters.aws import wiring
    from cellhub.adapters.aws.wiring import AwsResources

    resources = AwsResources.from_env()
    table = wiring.hub_table(resources)
    stores = wiring.repositories(resources, table)
    segment_queue, _ = wiring.job_queues(resources)
    notifier = wiring.notifier(resources, projects=stores.projects, table=table)
    blobs = wiring.blob_store(resources)
    segmenters = project_segmenters(ProjectModelStore(blobs))
    model_jobs = model_job_worker(
        images=stores.images,
        jobs=stores.jobs,
        blobs=blobs,
        notifier=notifier,
        segmenters=segmenters,
    )
    worker = SegmentationWorker(
        stores.images, stores.jobs, blobs, notifier, segmenters, model_jobs=model_jobs
    )
    return SqsWorkerLoop(
        worker,
        segment_queue,
        dead_letter=getattr(segment_queue, "dead_letter", None),
        max_receives=resources.max_receives,
        protection=TaskProtection(os.environ.get("ECS_AGENT_URI")),
        wait_seconds=wait_seconds,
    )
