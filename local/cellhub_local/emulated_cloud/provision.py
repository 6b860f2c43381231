"""Creates the hub's AWS resources on an endpoint (moto's server) as the cloud stack does.

Idempotent: what exists is kept (a second run over the same endpoint changes nothing and
answers the same environment), so ``cellhub serve --backend aws`` can restart against a
long-running moto. Resources, by their default names (``CloudNames``):

- the single DynamoDB table (``create_hub_table``: key schema, GSIs, TTL);
- the bucket, with CORS for browser uploads (``ETag`` exposed for multipart parts) and an
  S3 → SQS notification of every ``s3:ObjectCreated:*`` under ``projects/`` to the thumbnail
  queue (S3 filters match prefix and suffix only, so ``projects/*/originals/`` cannot be
  named exactly; the thumbnail handler ignores every other key);
- the thumbnail and segment queues and the export FIFO queue, each with a dead-letter queue
  of its kind reached by a redrive policy after ``max_receives + 1`` receives (the adapter
  itself dead-letters after ``max_receives``; the policy moves what no adapter reads);
- a Secrets Manager secret holding the access-token key (made once, never printed);
- a verified SES sender for verification and reset mail.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from cellhub.adapters.aws.dynamodb_table import create_hub_table

DEFAULT_REGION = "us-east-1"
MAX_RECEIVES = 3
_PATH_STYLE = Config(s3={"addressing_style": "path"})
# The queue feeding a Lambda must hide a message at least as long as the function may run.
_VISIBILITY = {"thumbnail": 60, "segment": 300, "export": 900}


@dataclass(frozen=True, slots=True)
class CloudNames:
    """Resource names; bucket names must be valid S3 names, FIFO queue names end ``.fifo``."""

    table: str = "cellhub"
    bucket: str = "cellhub-data"
    thumbnail_queue: str = "cellhub-thumbnail"
    segment_queue: str = "cellhub-segment"
    export_queue: str = "cellhub-export.fifo"
    jwt_secret: str = "cellhub/jwt-secret"
    mail_sender: str = "no-reply@cellhub.example.org"


@dataclass(frozen=True, slots=True)
class Provisioned:
    """``env``: what every entry point reads (``AwsResources.from_env``); the thumbnail
    queue is read by its event-source mapping only, so it is named beside it."""

    env: dict[str, str]
    thumbnail_queue_url: str


def provision(
    endpoint_url: str,
    *,
    public_url: str,
    websocket_endpoint: str,
    region: str = DEFAULT_REGION,
    names: CloudNames | None = None,
    max_receives: int = MAX_RECEIVES,
) -> Provisioned:
    """Create (or find) every resource at ``endpoint_url``; return the handlers' environment."""
    names = names or CloudNames()

    def client(service: str, config: Config | None = None) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url, config=config)

    _ensure_table(
        boto3.resource("dynamodb", region_name=region, endpoint_url=endpoint_url), names.table
    )
    sqs = client("sqs")
    redrive_after = max_receives + 1
    thumbnail, _ = _queue_with_dead_letter(sqs, names.thumbnail_queue, "thumbnail", redrive_after)
    segment, segment_dlq = _queue_with_dead_letter(
        sqs, names.segment_queue, "segment", redrive_after
    )
    export, export_dlq = _queue_with_dead_letter(sqs, names.export_queue, "export", redrive_after)
    _ensure_bucket(
        client("s3", _PATH_STYLE), names.bucket, region, public_url, _arn(sqs, thumbnail)
    )
    secret_arn = _ensure_secret(client("secretsmanager"), names.jwt_secret)
    client("ses").verify_email_identity(EmailAddress=names.mail_sender)
    env = {
        "AWS_REGION": region,
        "CELLHUB_AWS_ENDPOINT_URL": endpoint_url,
        "CELLHUB_TABLE_NAME": names.table,
        "CELLHUB_BUCKET_NAME": names.bucket,
        "CELLHUB_SEGMENT_QUEUE_URL": segment,
        "CELLHUB_SEGMENT_DLQ_URL": segment_dlq,
        "CELLHUB_EXPORT_QUEUE_URL": export,
        "CELLHUB_EXPORT_DLQ_URL": export_dlq,
        "CELLHUB_MAX_RECEIVES": str(max_receives),
        "CELLHUB_WEBSOCKET_ENDPOINT": websocket_endpoint,
        "CELLHUB_MAIL_SENDER": names.mail_sender,
        "CELLHUB_PUBLIC_URL": public_url,
        "CELLHUB_JWT_SECRET_ARN": secret_arn,
    }
    return Provisioned(env=env, thumbnail_queue_url=thumbnail)


def _ensure_table(dynamodb: Any, name: str) -> None:
    try:
        dynamodb.meta.client.describe_table(TableName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        create_hub_table(dynamodb, name)


def _queue_with_dead_letter(sqs: Any, name: str, kind: str, redrive_after: int) -> tuple[str, str]:
    """The queue ``name`` and its dead-letter queue (``<name>-dlq``, FIFO when it is)."""
    fifo = name.endswith(".fifo")
    base = name.removesuffix(".fifo")
    kind_attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if fifo else {}
    dead_letter = _create_queue(sqs, f"{base}-dlq" + (".fifo" if fifo else ""), {**kind_attributes})
    policy = {"deadLetterTargetArn": _arn(sqs, dead_letter), "maxReceiveCount": redrive_after}
    queue = _create_queue(
        sqs,
        name,
        {
            **kind_attributes,
            "VisibilityTimeout": str(_VISIBILITY[kind]),
            "RedrivePolicy": json.dumps(policy),
        },
    )
    return queue, dead_letter


def _create_queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    # CreateQueue is idempotent for the same name and attributes.
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _arn(sqs: Any, queue_url: str) -> str:
    reply = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(reply["Attributes"]["QueueArn"])


def _ensure_bucket(s3: Any, bucket: str, region: str, public_url: str, queue_arn: str) -> None:
    create: dict[str, Any] = {"Bucket": bucket}
    if region != DEFAULT_REGION:
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**create)
    except ClientError as error:
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [public_url],
                    "AllowedMethods": ["GET", "HEAD", "PUT", "POST"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 3000,
                }
            ]
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "originals-to-thumbnails",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "projects/"}]}},
                }
            ]
        },
    )


def _ensure_secret(secretsmanager: Any, name: str) -> str:
    try:
        return str(secretsmanager.describe_secret(SecretId=name)["ARN"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    created = secretsmanager.create_secret(Name=name, SecretString=secrets.token_hex(32))
    return str(created["ARN"])
