"""The export Lambda on genuine SQS events: the ZIP lands in S3 (moto), metadata in SQLite."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws

from cellhub.adapters.aws.s3_blobs import S3BlobStore
from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_jobs import SqliteJobsRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.domain.events import ExportDone, ExportFailed
from cellhub.domain.images import Image, ImageStatus, SegmentationVersion
from cellhub.domain.jobs import Export, ExportState
from cellhub.domain.projects import Project
from cellhub.geometry import polygons_from_labels
from cellhub.ports.notifier import RecordingNotifier
from cellhub.results import ImageInfo, ImageResult
from cellhub.services.export_messages import ExportRequested
from cellhub.services.exports import ExportService
from cellhub.services.segmentation_documents import document_key, save_document
from cellhub_export import handler as export_handler

BUCKET = "cellhub-data"
SIZE = 32


@dataclass
class LambdaContext:
    function_name: str = "cellhub-export"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cellhub-export"
    aws_request_id: str = "6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


class FlakyJobs(SqliteJobsRepository):
    """Fails reads of one export, as a throttled table would."""

    failing: str | None = None

    def get_export(self, project_id: str, export_id: str) -> Export | None:
        if export_id == self.failing:
            raise RuntimeError("ProvisionedThroughputExceededException")
        return super().get_export(project_id, export_id)


@dataclass
class World:
    service: ExportService
    jobs: FlakyJobs
    blobs: S3BlobStore
    notifier: RecordingNotifier
    project_id: str

    def request(self) -> str:
        export = self.service.create(
            self.project_id, formats=("coco",), image_ids=None, pixel_size_um=None,
            created_by="alice",
        )  # fmt: skip
        return ExportRequested(export_id=export.id, project_id=self.project_id).to_json()

    def export(self, body: str) -> Export:
        return self.service.get(self.project_id, json.loads(body)["export_id"])


@pytest.fixture(autouse=True)
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        blobs = S3BlobStore(BUCKET, client=s3)
        database = SqliteDatabase(tmp_path / "meta.sqlite3")
        project = Project.new("Exports", owner_id="alice")
        SqliteProjectsRepository(database).create(project)
        images = SqliteImagesRepository(database)
        for i in range(3):
            add_segmented_image(images, blobs, project.id, i)
        jobs = FlakyJobs(database)
        notifier = RecordingNotifier()
        service = ExportService(images, jobs, blobs, notifier)
        monkeypatch.setattr(export_handler, "export_service", lambda: service)
        yield World(service, jobs, blobs, notifier, project.id)
        database.close()


def add_segmented_image(
    images: SqliteImagesRepository, blobs: S3BlobStore, project_id: str, i: int
) -> None:
    name = f"well_{i}.png"
    image = Image.new(project_id, name, size=10, content_type="image/png", blob_key=f"o/{i}")
    images.add_many([image])
    images.update_status(
        image.id, [ImageStatus.UPLOADING], ImageStatus.READY,
        width=SIZE, height=SIZE, channels=1, dtype="uint8",
    )  # fmt: skip
    labels = np.zeros((SIZE, SIZE), np.int32)
    labels[4:12, 4:12] = 1
    polygons = polygons_from_labels(labels)
    key = document_key(project_id, image.id, 1)
    result = ImageResult(ImageInfo(name, SIZE, SIZE, 1, "uint8"), polygons, [], {})
    save_document(blobs, key, result.to_document())
    version = SegmentationVersion(image.id, 0, key, 1, "classical", 0.5, "model", None, "w")
    images.add_version(image.id, 0, version)
    images.update_status(image.id, [ImageStatus.READY], ImageStatus.SEGMENTED)


def sqs_event(*bodies: str, receive_count: int = 1) -> dict[str, Any]:
    return {"Records": [{
        "messageId": f"2e1424d4-f796-459a-8184-9c92662b{n:04}",
        "receiptHandle": f"AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq{n}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1795000000000",
            "SenderId": "AROAEXAMPLE:cellhub-api",
            "ApproximateFirstReceiveTimestamp": "1795000000250",
        },
        "messageAttributes": {},
        "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cellhub-exports",
        "awsRegion": "us-east-1",
    } for n, body in enumerate(bodies)]}  # fmt: skip


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return dict(export_handler.handler(event, LambdaContext()))


def test_an_export_message_stores_the_zip_in_s3(world: World) -> None:
    body = world.request()
    assert invoke(sqs_event(body)) == {"batchItemFailures": []}
    export = world.export(body)
    assert export.state is ExportState.DONE and export.blob_key is not None
    with zipfile.ZipFile(io.BytesIO(world.blobs.get(export.blob_key))) as archive:
        assert "coco/annotations.json" in archive.namelist()
    assert isinstance(world.notifier.events[-1], ExportDone)


def test_an_unreadable_message_is_dropped_without_failing_the_batch(world: World) -> None:
    body = world.request()
    assert invoke(sqs_event('{"schema": "nonsense"}', body)) == {"batchItemFailures": []}
    assert world.export(body).state is ExportState.DONE


def test_a_redelivered_message_resumes_an_export_left_running(world: World) -> None:
    body = world.request()
    export_id = json.loads(body)["export_id"]
    world.jobs.set_export_state(export_id, [ExportState.QUEUED], ExportState.RUNNING)
    invoke(sqs_event(body, receive_count=1))
    assert world.export(body).state is ExportState.RUNNING  # another run may still hold it
    invoke(sqs_event(body, receive_count=2))
    assert world.export(body).state is ExportState.DONE


def test_a_cancelled_export_is_not_built(world: World) -> None:
    body = world.request()
    world.service.cancel(world.project_id, json.loads(body)["export_id"])
    assert invoke(sqs_event(body)) == {"batchItemFailures": []}
    export = world.export(body)
    assert export.state is ExportState.CANCELLED and export.blob_key is None


def test_an_unexpected_failure_fails_only_its_record(world: World) -> None:
    first, second = world.request(), world.request()
    world.jobs.failing = json.loads(first)["export_id"]
    event = sqs_event(first, second)
    reply = invoke(event)
    assert reply == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert world.export(second).state is ExportState.DONE
    world.jobs.failing = None
    assert world.export(first).state is ExportState.QUEUED  # SQS delivers it again


def failing_puts(world: World, monkeypatch: pytest.MonkeyPatch, failures: int) -> None:
    """The next ``failures`` ZIP uploads fail, as a throttled or unreachable bucket would."""
    put = world.blobs.put
    left = [failures]

    def flaky_put(*args: Any, **kwargs: Any) -> None:
        if left[0] > 0:
            left[0] -= 1
            raise RuntimeError("SlowDown")
        put(*args, **kwargs)

    monkeypatch.setattr(world.blobs, "put", flaky_put)


def invoke_failing(body: str, receive_count: int) -> None:
    """Invoke with one record that fails: the batch fails as a whole (SQS retries it)."""
    with pytest.raises(BatchProcessingError):
        invoke(sqs_event(body, receive_count=receive_count))


def test_a_transient_failure_leaves_the_export_for_the_next_delivery(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = world.request()
    failing_puts(world, monkeypatch, failures=1)
    invoke_failing(body, receive_count=1)
    export = world.export(body)
    assert export.state is ExportState.RUNNING and export.error is None  # for the redelivery
    assert invoke(sqs_event(body, receive_count=2)) == {"batchItemFailures": []}
    export = world.export(body)
    assert export.state is ExportState.DONE and export.blob_key is not None
    assert [blob.key for blob in world.blobs.list("exports/")] == [export.blob_key]


def test_a_failure_on_the_last_delivery_fails_the_export(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = world.request()
    failing_puts(world, monkeypatch, failures=3)
    invoke_failing(body, receive_count=2)
    assert world.export(body).state is ExportState.RUNNING
    invoke_failing(body, receive_count=3)  # the default CELLHUB_MAX_RECEIVES
    export = world.export(body)
    assert export.state is ExportState.FAILED and export.error
    failed = world.notifier.events[-1]
    assert isinstance(failed, ExportFailed) and failed.export_id == export.id


def test_the_last_delivery_follows_the_configured_max_receives(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CELLHUB_MAX_RECEIVES", "5")
    body = world.request()
    failing_puts(world, monkeypatch, failures=2)
    invoke_failing(body, receive_count=4)
    assert world.export(body).state is ExportState.RUNNING
    invoke_failing(body, receive_count=5)
    assert world.export(body).state is ExportState.FAILED


def test_the_handler_builds_its_step_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cold-start wiring: DynamoDB and S3 named by the stack's environment (moto)."""
    from cellhub.adapters.aws import wiring
    from cellhub.adapters.aws.dynamodb_table import create_hub_table

    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("CELLHUB_TABLE_NAME", "hub")
    monkeypatch.setenv("CELLHUB_BUCKET_NAME", BUCKET)
    export_handler.export_service.cache_clear()
    with mock_aws():
        table = create_hub_table(boto3.resource("dynamodb", region_name="us-east-1"), "hub")
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        resources = wiring.AwsResources.from_env()
        stores = wiring.repositories(resources, table)
        project = Project.new("Exports", owner_id="alice")
        stores.projects.create(project)
        service = ExportService(
            stores.images, stores.jobs, wiring.blob_store(resources), RecordingNotifier()
        )
        export = service.create(
            project.id, formats=("csv",), image_ids=None, pixel_size_um=None, created_by="alice"
        )
        body = ExportRequested(export_id=export.id, project_id=project.id).to_json()
        try:
            reply = invoke(sqs_event(body))
        finally:
            export_handler.export_service.cache_clear()
        assert reply == {"batchItemFailures": []}
        assert service.get(project.id, export.id).state is ExportState.DONE
