"""Builds the cloud hub's ``HubServices`` from the AWS adapters (the Lambda's cold start).

The counterpart of ``cellhub_local.wiring.build_local_services``: the same services over
DynamoDB, S3, SQS, SES and the API Gateway notifier, named by ``AwsResources``.

The editing and export services are built on first use: their modules import numpy, scipy
and every exporter (about 0.5 s on a Lambda core), which a login or an image listing never
needs, so the cold start does not pay for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from cellhub.adapters.aws import wiring
from cellhub.adapters.aws.wiring import AwsResources
from cellhub.ports.notifier import Notifier
from cellhub.services.accounts import AccountService
from cellhub.services.passwords import Passwords
from cellhub.services.segmentation_jobs import SegmentationJobs
from cellhub.services.uploads import UploadService
from cellhub_api.container import HubServices

if TYPE_CHECKING:
    from cellhub.services.editing import EditingService
    from cellhub.services.exports import ExportService


class BuiltOnFirstUse:
    """Stands in for a service and builds it (importing its module) on the first attribute
    read; every read after that goes to the built service."""

    def __init__(self, build: Callable[[], object]) -> None:
        self._build = build
        self._service: object | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if self._service is None:
            with self._lock:
                if self._service is None:
                    self._service = self._build()
        return getattr(self._service, name)


def build_cloud_services(
    resources: AwsResources,
    *,
    notifier: Notifier | None = None,
    passwords: Passwords | None = None,
) -> HubServices:
    """The hub's ports and services on AWS; ``notifier`` overrides the API Gateway one."""
    table = wiring.hub_table(resources)
    stores = wiring.repositories(resources, table)
    blobs = wiring.blob_store(resources)
    segment_queue, export_queue = wiring.job_queues(resources)
    if notifier is None:
        notifier = wiring.notifier(resources, projects=stores.projects, table=table)
    tokens = wiring.access_tokens(resources)

    def editing() -> EditingService:
        from cellhub.services.editing import EditingService

        return EditingService(stores.images, blobs, notifier)

    def exports() -> ExportService:
        from cellhub.services.exports import ExportService

        return ExportService(stores.images, stores.jobs, blobs, notifier)

    accounts = AccountService(
        stores.users,
        wiring.mailer(resources),
        tokens,
        passwords=passwords,
        public_url=resources.public_url,
    )
    return HubServices(
        accounts=accounts,
        access_tokens=tokens,
        users=stores.users,
        projects=stores.projects,
        images=stores.images,
        jobs=stores.jobs,
        blobs=blobs,
        notifier=notifier,
        segment_queue=segment_queue,
        export_queue=export_queue,
        uploads=UploadService(stores.images, blobs, notifier),
        segmentation_jobs=SegmentationJobs(stores.images, stores.jobs, segment_queue, notifier),
        editing=cast("EditingService", BuiltOnFirstUse(editing)),
        exports=cast("ExportService", BuiltOnFirstUse(exports)),
    )
