"""Provisioning the emulated cloud: every resource the handlers name, created once.

Runs against moto's server on loopback (``mock_aws`` does not answer a custom endpoint),
one per module, with fresh resource names per test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from cellhub.adapters.aws.wiring import AwsResources
from cellhub_local.emulated_cloud.provision import MAX_RECEIVES, CloudNames, Provisioned, provision
from cellhub_local.emulated_cloud.runner import moto_server

REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with moto_server() as url:
            yield url


@dataclass
class Cloud:
    endpoint: str
    names: CloudNames

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)

    def provision(self) -> Provisioned:
        return provision(
            self.endpoint,
            public_url="http://127.0.0.1:8000",
            websocket_endpoint="http://127.0.0.1:8000/local",
            region=REGION,
            names=self.names,
        )


@pytest.fixture
def aws(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    tag = uuid.uuid4().hex[:10]
    names = CloudNames(
        table=f"hub-{tag}",
        bucket=f"cellhub-{tag}",
        thumbnail_queue=f"thumbnail-{tag}",
        segment_queue=f"segment-{tag}",
        export_queue=f"export-{tag}.fifo",
        jwt_secret=f"jwt-{tag}",
        mail_sender=f"hub-{tag}@example.org",
    )
    return Cloud(endpoint, names)


def test_environment_names_every_resource(aws: Cloud) -> None:
    env = aws.provision().env
    resources = AwsResources.from_env(env)
    assert resources.endpoint_url == aws.endpoint
    assert resources.table_name and resources.bucket and resources.mail_sender
    assert resources.max_receives == MAX_RECEIVES
    assert resources.websocket_endpoint == "http://127.0.0.1:8000/local"
    table = aws.client("dynamodb").describe_table(TableName=resources.table_name)["Table"]
    assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} >= {"gsi1", "gsi4"}
    secret = aws.client("secretsmanager").get_secret_value(SecretId=resources.jwt_secret_arn)
    assert len(secret["SecretString"]) >= 32
    assert resources.mail_sender in aws.client("ses").list_identities()["Identities"]


def test_queues_dead_letter_after_one_receive_more_than_the_adapter(aws: Cloud) -> None:
    env = aws.provision().env
    sqs = aws.client("sqs")
    for queue, dead_letter in (
        ("CELLHUB_SEGMENT_QUEUE_URL", "CELLHUB_SEGMENT_DLQ_URL"),
        ("CELLHUB_EXPORT_QUEUE_URL", "CELLHUB_EXPORT_DLQ_URL"),
    ):
        attributes = sqs.get_queue_attributes(QueueUrl=env[queue], AttributeNames=["All"])
        policy = json.loads(attributes["Attributes"]["RedrivePolicy"])
        dlq_arn = sqs.get_queue_attributes(QueueUrl=env[dead_letter], AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        assert policy == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES + 1}
    export = sqs.get_queue_attributes(
        QueueUrl=env["CELLHUB_EXPORT_QUEUE_URL"], AttributeNames=["All"]
    )["Attributes"]
    assert env["CELLHUB_EXPORT_QUEUE_URL"].endswith(".fifo")
    assert env["CELLHUB_EXPORT_DLQ_URL"].endswith(".fifo")
    assert export["FifoQueue"] == "true" and export["ContentBasedDeduplication"] == "false"


def test_bucket_notifies_the_thumbnail_queue_and_allows_browser_uploads(aws: Cloud) -> None:
    provisioned = aws.provision()
    bucket = provisioned.env["CELLHUB_BUCKET_NAME"]
    s3 = aws.client("s3")
    (config,) = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    thumbnail_arn = aws.client("sqs").get_queue_attributes(
        QueueUrl=provisioned.thumbnail_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert config["QueueArn"] == thumbnail_arn
    assert config["Events"] == ["s3:ObjectCreated:*"]
    (rule,) = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rule["ExposeHeaders"] == ["ETag"]
    assert "POST" in rule["AllowedMethods"] and "PUT" in rule["AllowedMethods"]


def test_a_second_run_changes_nothing(aws: Cloud) -> None:
    first = aws.provision()
    second = aws.provision()
    assert second == first
    tag = aws.names.table.removeprefix("hub-")
    queues = aws.client("sqs").list_queues()["QueueUrls"]
    assert len([url for url in queues if tag in url]) == 6
    secrets = aws.client("secretsmanager").list_secrets()["SecretList"]
    assert len([s for s in secrets if tag in s["Name"]]) == 1
