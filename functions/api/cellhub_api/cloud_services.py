"""Builds the cloud hub's ``HubServices`` from the AWS adapters (the Lambda's cold start).

The counterpart of ``cellhub_local.wiring.build_local_services``: the same services over
DynamoDB, S3, SQS, SES and the API Gateway notifier, named by ``AwsResources``.
"""

from __future__ import annotations

from cellhub.adapters.aws import wiring
from cellhub.adapters.aws.wiring import AwsResources
from cellhub.ports.notifier import Notifier
from cellhub.services.access_tokens import AccessTokens
from cellhub.services.accounts import AccountService
from cellhub.services.editing import EditingService
from cellhub.services.exports import ExportService
from cellhub.services.passwords import Passwords
from cellhub.services.segmentation_jobs import SegmentationJobs
from cellhub.services.uploads import UploadService
from cellhub_api.container import HubServices

TOKEN_AUDIENCE = "cellhub"


def access_tokens(resources: AwsResources) -> AccessTokens:
    """The access-token service every cloud entry point that checks tokens shares."""
    return AccessTokens(
        wiring.jwt_secret(resources), issuer=resources.public_url, audience=TOKEN_AUDIENCE
    )


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
    tokens = access_tokens(resources)
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
        editing=EditingService(stores.images, blobs, notifier),
        exports=ExportService(stores.images, stores.jobs, blobs, notifier),
    )
