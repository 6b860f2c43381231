"""Builds the AWS adapters an entry point needs from the environment its stack gives it.

Each builder makes one piece (table, blob store, queues, notifier, mailer, signing key) and
imports its adapter only when called, so a Lambda loads just what it uses. Entry points
call them once per container (cold start) and keep the result. Environment::

    CELLHUB_TABLE_NAME           the single DynamoDB table       (every entry point)
    CELLHUB_BUCKET_NAME          the S3 bucket                   (all but the WebSocket one)
    CELLHUB_SEGMENT_QUEUE_URL    segment queue; CELLHUB_SEGMENT_DLQ_URL its dead letters
    CELLHUB_EXPORT_QUEUE_URL     export queue;  CELLHUB_EXPORT_DLQ_URL its dead letters
    CELLHUB_MAX_RECEIVES         the queues' redrive maxReceiveCount (default 3)
    CELLHUB_WEBSOCKET_ENDPOINT   https://<api-id>.execute-api.<region>.amazonaws.com/<stage>
    CELLHUB_MAIL_SENDER          verified SES sender address     (api)
    CELLHUB_PUBLIC_URL           the web client's URL: token issuer, mail links (api, ws)
    CELLHUB_JWT_SECRET_ARN       Secrets Manager secret holding the access-token key, or
    CELLHUB_JWT_SECRET           the key itself (tests, moto runs)
    CELLHUB_AWS_ENDPOINT_URL     one endpoint for every AWS service (moto server); optional
    AWS_REGION                   set by Lambda and ECS (AWS_DEFAULT_REGION as a fallback)

The access-token key is read once per container and never logged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar, cast

import boto3
from botocore.config import Config

from cellhub.adapters.aws.apigateway_notifier import ApiGatewayNotifier
from cellhub.adapters.aws.dynamodb_connections import DynamoConnections
from cellhub.errors import InvalidParameter
from cellhub.ports.notifier import Notifier, RecordingNotifier
from cellhub.ports.projects_repository import ProjectsRepository
from cellhub.services.access_tokens import AccessTokens
from cellhub.settings import get_settings

# The audience of the hub's access tokens (the embedded hub uses the same).
TOKEN_AUDIENCE = "cellhub"
# Deliveries of a message before it is dead-lettered (the queues' redrive allows one more).
DEFAULT_MAX_RECEIVES = 3
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5)
Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class AwsResources:
    """Names and addresses of the deployed resources; ``from_env`` reads them."""

    region: str
    table_name: str
    bucket: str | None = None
    segment_queue_url: str | None = None
    segment_dlq_url: str | None = None
    export_queue_url: str | None = None
    export_dlq_url: str | None = None
    max_receives: int = DEFAULT_MAX_RECEIVES
    websocket_endpoint: str | None = None
    mail_sender: str | None = None
    public_url: str = "http://localhost"
    jwt_secret_arn: str | None = None
    endpoint_url: str | None = field(default=None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AwsResources:
        env = os.environ if environ is None else environ

        def optional(name: str) -> str | None:
            return env.get(name) or None

        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        table_name = optional("CELLHUB_TABLE_NAME")
        if not region or not table_name:
            raise InvalidParameter("AWS_REGION and CELLHUB_TABLE_NAME must be set")
        return cls(
            region=region,
            table_name=table_name,
            bucket=optional("CELLHUB_BUCKET_NAME"),
            segment_queue_url=optional("CELLHUB_SEGMENT_QUEUE_URL"),
            segment_dlq_url=optional("CELLHUB_SEGMENT_DLQ_URL"),
            export_queue_url=optional("CELLHUB_EXPORT_QUEUE_URL"),
            export_dlq_url=optional("CELLHUB_EXPORT_DLQ_URL"),
            max_receives=max_receives_from_env(env),
            websocket_endpoint=optional("CELLHUB_WEBSOCKET_ENDPOINT"),
            mail_sender=optional("CELLHUB_MAIL_SENDER"),
            public_url=optional("CELLHUB_PUBLIC_URL") or "http://localhost",
            jwt_secret_arn=optional("CELLHUB_JWT_SECRET_ARN"),
            endpoint_url=optional("CELLHUB_AWS_ENDPOINT_URL"),
        )

    def client(self, service: str, *, endpoint_url: str | None = None) -> Any:
        """A boto3 client in the resources' region (and at the moto endpoint, when set)."""
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=endpoint_url or self.endpoint_url,
            config=_CLIENT_CONFIG,
        )


def max_receives_from_env(environ: Mapping[str, str] | None = None) -> int:
    """``CELLHUB_MAX_RECEIVES``: deliveries of a message before it is dead-lettered. Read on
    its own by the SQS-triggered functions, which need nothing else of ``AwsResources``."""
    env = os.environ if environ is None else environ
    return int(env.get("CELLHUB_MAX_RECEIVES") or DEFAULT_MAX_RECEIVES)


def _required(value: str | None, variable: str) -> str:
    if not value:
        raise InvalidParameter(f"{variable} must be set for this entry point")
    return value


def hub_table(resources: AwsResources) -> Any:
    """The single table as a boto3 ``Table`` resource."""
    dynamodb = boto3.resource(
        "dynamodb",
        region_name=resources.region,
        endpoint_url=resources.endpoint_url,
        config=_CLIENT_CONFIG,
    )
    return dynamodb.Table(resources.table_name)


@dataclass(frozen=True, slots=True)
class Repositories:
    users: Any
    projects: Any
    images: Any
    jobs: Any


def repositories(resources: AwsResources, table: Any | None = None) -> Repositories:
    from cellhub.adapters.aws.dynamodb_accounts import DynamoAccountsRepository
    from cellhub.adapters.aws.dynamodb_images import DynamoImagesRepository
    from cellhub.adapters.aws.dynamodb_jobs import DynamoJobsRepository
    from cellhub.adapters.aws.dynamodb_projects import DynamoProjectsRepository

    table = table if table is not None else hub_table(resources)
    return Repositories(
        users=DynamoAccountsRepository(table),
        projects=DynamoProjectsRepository(table),
        images=DynamoImagesRepository(table),
        jobs=DynamoJobsRepository(table),
    )


def blob_store(resources: AwsResources) -> Any:
    from cellhub.adapters.aws.s3_blobs import S3BlobStore

    bucket = _required(resources.bucket, "CELLHUB_BUCKET_NAME")
    return S3BlobStore(bucket, client=resources.client("s3"))


def job_queues(resources: AwsResources) -> tuple[Any, Any]:
    """The segment and export queues, each with its dead-letter queue when one is named."""
    from cellhub.adapters.aws.sqs_queue import SqsJobQueue

    sqs = resources.client("sqs")

    def queue(url: str, dlq_url: str | None) -> Any:
        dead_letter = SqsJobQueue(dlq_url, client=sqs) if dlq_url else None
        return SqsJobQueue(
            url, client=sqs, dead_letter=dead_letter, max_receives=resources.max_receives
        )

    segment = queue(
        _required(resources.segment_queue_url, "CELLHUB_SEGMENT_QUEUE_URL"),
        resources.segment_dlq_url,
    )
    export = queue(
        _required(resources.export_queue_url, "CELLHUB_EXPORT_QUEUE_URL"),
        resources.export_dlq_url,
    )
    return segment, export


def live_connections(resources: AwsResources, table: Any | None = None) -> DynamoConnections:
    return DynamoConnections(table if table is not None else hub_table(resources))


def management_api(resources: AwsResources) -> Any:
    """The ``apigatewaymanagementapi`` client of the WebSocket API's stage."""
    endpoint = _required(resources.websocket_endpoint, "CELLHUB_WEBSOCKET_ENDPOINT")
    return resources.client("apigatewaymanagementapi", endpoint_url=endpoint)


def notifier(
    resources: AwsResources,
    *,
    projects: ProjectsRepository | None = None,
    table: Any | None = None,
) -> Notifier:
    """The API Gateway notifier; without a WebSocket endpoint, one that keeps a few events."""
    if not resources.websocket_endpoint:
        return RecordingNotifier(max_events=100)
    return ApiGatewayNotifier(
        live_connections(resources, table), client=management_api(resources), projects=projects
    )


def access_tokens(resources: AwsResources) -> AccessTokens:
    """The access-token service every cloud entry point that checks tokens shares."""
    return AccessTokens(jwt_secret(resources), issuer=resources.public_url, audience=TOKEN_AUDIENCE)


def mailer(resources: AwsResources) -> Any:
    from cellhub.adapters.aws.ses_mailer import SesMailer

    sender = _required(resources.mail_sender, "CELLHUB_MAIL_SENDER")
    return SesMailer(sender, client=resources.client("ses"))


def jwt_secret(resources: AwsResources) -> bytes:
    """The access-token key: the Secrets Manager secret when an ARN is set, else settings."""
    if resources.jwt_secret_arn:
        return _secret_string(
            resources.jwt_secret_arn, resources.region, resources.endpoint_url
        ).encode()
    configured = get_settings().jwt_secret
    if configured is None:
        raise InvalidParameter("set CELLHUB_JWT_SECRET_ARN or CELLHUB_JWT_SECRET")
    return configured.get_secret_value().encode()


@lru_cache(maxsize=4)
def _secret_string(arn: str, region: str, endpoint_url: str | None) -> str:
    # Cached for the container's life: one Secrets Manager call per cold start.
    client = boto3.client(
        "secretsmanager", region_name=region, endpoint_url=endpoint_url, config=_CLIENT_CONFIG
    )
    secret: str = client.get_secret_value(SecretId=arn)["SecretString"]
    return secret


def traced(service: str) -> Callable[[Handler], Handler]:
    """Wrap a Lambda handler with the Powertools tracer, or leave it as is without X-Ray."""
    try:
        from aws_lambda_powertools import Tracer

        tracer = Tracer(service=service)
    except Exception:  # no aws-xray-sdk in this runtime: run untraced
        return lambda handler: handler

    def wrap(handler: Handler) -> Handler:
        return cast(Handler, tracer.capture_lambda_handler(handler))

    return wrap
