"""Everything a request may need, built once per process and handed to ``create_app``.

The embedded hub fills it with the local adapters, the cloud with the AWS ones; routes
only see these ports and services, never which deployment they run in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Types only: the editing and export services import numpy, scipy and the exporters,
    # which the API Lambda's cold start must not pay for (see ``cloud_services``).
    from cellhub.ports.accounts_repository import AccountsRepository
    from cellhub.ports.blob_store import BlobStore
    from cellhub.ports.images_repository import ImagesRepository
    from cellhub.ports.job_queue import JobQueue
    from cellhub.ports.jobs_repository import JobsRepository
    from cellhub.ports.notifier import Notifier
    from cellhub.ports.projects_repository import ProjectsRepository
    from cellhub.services.access_tokens import AccessTokens
    from cellhub.services.accounts import AccountService
    from cellhub.services.editing import EditingService
    from cellhub.services.exports import ExportService
    from cellhub.services.segmentation_jobs import SegmentationJobs
    from cellhub.services.uploads import UploadService


@dataclass(frozen=True, slots=True)
class HubServices:
    """The ports and services of one hub process."""

    accounts: AccountService
    access_tokens: AccessTokens
    users: AccountsRepository
    projects: ProjectsRepository
    images: ImagesRepository
    jobs: JobsRepository
    blobs: BlobStore
    notifier: Notifier
    segment_queue: JobQueue
    export_queue: JobQueue
    uploads: UploadService
    segmentation_jobs: SegmentationJobs
    editing: EditingService
    exports: ExportService
    # Where the embedded hub raises storage events for a pump to handle, as S3 does into SQS
    # in the cloud; None handles each upload's event before the upload is answered.
    storage_events: JobQueue | None = None
