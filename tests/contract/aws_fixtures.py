"""The AWS side of the blob-store and job-queue contract suites, on moto.

S3 runs against moto's server on 127.0.0.1 (a free port, one per session, stopped at the
end): presigned POSTs and part PUTs are plain HTTP requests, which ``mock_aws`` cannot see
because it patches botocore only. SQS runs in process under ``mock_aws``, with moto's clock
moved forward by the harness so that visibility timeouts run out without sleeping.

Where moto answers differently from AWS, ``s3_like_unknown_uploads`` and
``sqs_like_visibility_changes`` make it answer as the service does (see their docstrings);
nothing else about moto is changed.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws
from moto.s3 import models as s3_models
from moto.s3.exceptions import NoSuchUpload
from moto.server import ThreadedMotoServer
from moto.sqs import models as sqs_models
from moto.sqs.exceptions import InvalidParameterValue, SQSException

from cellhub.adapters.aws.s3_blobs import S3BlobStore
from cellhub.ports.blob_store import UploadTarget, normalise_etag

REGION = "us-east-1"


def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region in the environment; no profile or endpoint leaks in."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto server on loopback, running for the whole session."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


# -- S3 --------------------------------------------------------------------------------------


def s3_like_unknown_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto answer ``NoSuchUpload`` for an unknown upload id, as S3 does.

    moto looks the id up unguarded and answers 500 (which botocore also retries), so a
    completion after an abort would read as a server fault instead of a missing upload.
    """
    original = s3_models.S3Backend.complete_multipart_upload

    def complete(self: Any, bucket_name: str, multipart_id: str, body: Any) -> Any:
        if multipart_id not in self.get_bucket(bucket_name).multiparts:
            raise NoSuchUpload(upload_id=multipart_id)
        return original(self, bucket_name, multipart_id, body)

    monkeypatch.setattr(s3_models.S3Backend, "complete_multipart_upload", complete)


@contextmanager
def s3_store(request: pytest.FixtureRequest) -> Iterator[S3BlobStore]:
    """An ``S3BlobStore`` on a fresh bucket of the session's moto server."""
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    fake_credentials(monkeypatch)
    s3_like_unknown_uploads(monkeypatch)
    endpoint = request.getfixturevalue("moto_endpoint")
    client = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    bucket = f"contract-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=bucket)
    yield S3BlobStore(bucket, client=client)
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    while contents := client.list_objects_v2(Bucket=bucket).get("Contents", []):
        objects = [{"Key": item["Key"]} for item in contents]
        client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    client.delete_bucket(Bucket=bucket)


def http_upload_part(url: str, data: bytes) -> str:
    """PUT one part to a presigned URL, as a browser would; return the answered ETag less
    the quotes S3 puts around it (the local store's part route answers it bare)."""
    response = requests.put(url, data=data, timeout=30)
    response.raise_for_status()
    return normalise_etag(response.headers["ETag"])


def http_post_form(target: UploadTarget, data: bytes) -> requests.Response:
    """Submit a presigned POST form: every field, then the file last."""
    return requests.post(
        target.url, data=target.fields, files={"file": ("upload.bin", data)}, timeout=30
    )


# -- SQS -------------------------------------------------------------------------------------


class MotoClock:
    """moto's SQS clock: real time plus an offset the tests move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def seconds(self, dt: Any = None) -> float:
        return time.time() + self.offset

    def millis(self, dt: Any = None) -> float:
        return self.seconds() * 1000.0

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def sqs_like_visibility_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto refuse visibility changes that SQS refuses.

    moto accepts ``ChangeMessageVisibility`` with any receipt handle a message ever had, in
    flight or not. SQS answers ``MessageNotInflight`` once the visibility has run out, and
    refuses a handle older than the latest receive as expired. The adapter maps both to
    ``StaleReceipt``; this lets the contract test see that through real requests. The exact
    AWS error shapes are pinned by the Stubber tests of the adapter.
    """
    original = sqs_models.SQSBackend.change_message_visibility

    def change(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        for message in self.get_queue(queue_name)._messages:
            if not message.had_receipt_handle(receipt_handle):
                continue
            if message.receipt_handle != receipt_handle:
                raise InvalidParameterValue(
                    f"Value {receipt_handle} for parameter ReceiptHandle is invalid."
                    " Reason: The receipt handle has expired."
                )
            if message.visible:
                raise SQSException(
                    "AWS.SimpleQueueService.MessageNotInflight", "The message is not in flight."
                )
        original(self, queue_name, receipt_handle, visibility_timeout)

    monkeypatch.setattr(sqs_models.SQSBackend, "change_message_visibility", change)


@contextmanager
def moto_sqs(request: pytest.FixtureRequest) -> Iterator[tuple[Any, MotoClock]]:
    """An SQS client under ``mock_aws`` and the clock its queues run on."""
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    fake_credentials(monkeypatch)
    clock = MotoClock()
    monkeypatch.setattr(sqs_models, "unix_time", clock.seconds)
    monkeypatch.setattr(sqs_models, "unix_time_millis", clock.millis)
    sqs_like_visibility_changes(monkeypatch)
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION), clock


def create_queue(
    client: Any,
    name: str,
    *,
    visibility_timeout: int = 30,
    redrive_to: str | None = None,
    max_receive_count: int = 0,
) -> str:
    """Create a standard queue; with ``redrive_to`` (a queue URL) give it a redrive policy."""
    attributes = {"VisibilityTimeout": str(visibility_timeout)}
    if redrive_to is not None:
        arn = client.get_queue_attributes(QueueUrl=redrive_to, AttributeNames=["QueueArn"])
        policy = {
            "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
            "maxReceiveCount": max_receive_count,
        }
        attributes["RedrivePolicy"] = json.dumps(policy)
    return str(client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
