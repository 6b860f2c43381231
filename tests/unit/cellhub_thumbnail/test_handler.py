"""The thumbnail Lambda on genuine SQS(S3 notification) events: S3 on moto, metadata in SQLite."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import numpy as np
import pytest
from moto import mock_aws
from PIL import Image as PilImage

from cellhub.adapters.aws.s3_blobs import S3BlobStore
from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.domain.events import ImageRejected, ThumbnailReady
from cellhub.domain.images import Image, ImageStatus
from cellhub.domain.projects import Project
from cellhub.ports.notifier import RecordingNotifier
from cellhub.services.storage_events import created_objects
from cellhub.services.thumbnails import ThumbnailService, thumbnail_key
from cellhub.services.uploads import original_key
from cellhub_thumbnail import handler as thumbnail_handler

BUCKET = "cellhub-data"


@dataclass
class LambdaContext:
    function_name: str = "cellhub-thumbnail"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cellhub-thumbnail"
    aws_request_id: str = "0d1e2f30-4a5b-6c7d-8e9f-0a1b2c3d4e5f"


class FlakyImages(SqliteImagesRepository):
    """Fails reads of one image, as a throttled table would."""

    failing: str | None = None
    failures_left = 1_000_000

    def get(self, project_id: str, image_id: str) -> Image | None:
        if image_id == self.failing and self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("ProvisionedThroughputExceededException")
        return super().get(project_id, image_id)


@dataclass
class World:
    images: FlakyImages
    blobs: S3BlobStore
    notifier: RecordingNotifier
    project: Project

    def upload(self, data: bytes, name: str = "a.png") -> tuple[Image, str]:
        """An ``uploading`` image whose original is in the bucket; returns it and its ETag."""
        image = Image.new(
            self.project.id, name, size=len(data), content_type="image/png", blob_key="unset"
        )
        image = replace(image, blob_key=original_key(self.project.id, image.id))
        self.images.add_many([image])
        info = self.blobs.put(image.blob_key, data, content_type="image/png")
        return image, info.etag

    def image(self, image: Image) -> Image:
        stored = self.images.get(self.project.id, image.id)
        assert stored is not None
        return stored


@pytest.fixture(autouse=True)
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "CellHubTest")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        database = SqliteDatabase(tmp_path / "meta.sqlite3")
        project = Project.new("Spheroids", owner_id="alice")
        SqliteProjectsRepository(database).create(project)
        world = World(
            FlakyImages(database), S3BlobStore(BUCKET, client=s3), RecordingNotifier(), project
        )
        service = ThumbnailService(world.images, world.blobs, world.notifier)
        monkeypatch.setattr(thumbnail_handler, "thumbnail_service", lambda: service)
        yield world
        database.close()


def png(side: int = 64) -> bytes:
    buffer = io.BytesIO()
    PilImage.fromarray(np.full((side, side), 90, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def s3_notification(key: str, etag: str, *, event_name: str = "ObjectCreated:Post") -> str:
    """The body S3 sends to SQS for one new object (event structure version 2.1)."""
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": "2026-11-24T04:40:00.000Z",
                    "eventName": event_name,
                    "userIdentity": {"principalId": "AWS:AROAEXAMPLE:uploader"},
                    "requestParameters": {"sourceIPAddress": "203.0.113.7"},
                    "responseElements": {
                        "x-amz-request-id": "C3D13FE58DE4C810",
                        "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMU",
                    },
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "originals-created",
                        "bucket": {
                            "name": BUCKET,
                            "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                            "arn": f"arn:aws:s3:::{BUCKET}",
                        },
                        "object": {
                            "key": quote_plus(key, safe="/"),
                            "size": 1024,
                            "eTag": etag,
                            "sequencer": "0055AED6DCD90281E5",
                        },
                    },
                }
            ]
        }
    )


TEST_EVENT = json.dumps(
    {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-24T04:39:00.000Z",
        "Bucket": BUCKET,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
)


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"059f36b4-87a3-44ab-83d2-66197535{n:04}",
                "receiptHandle": f"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a{n}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795000000000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795000000100",
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cellhub-thumbnails",
                "awsRegion": "us-east-1",
            }
            for n, body in enumerate(bodies)
        ]
    }


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return dict(thumbnail_handler.handler(event, LambdaContext()))


def test_a_new_original_becomes_ready_with_a_thumbnail(world: World) -> None:
    image, etag = world.upload(png())
    assert invoke(sqs_event(s3_notification(image.blob_key, etag))) == {"batchItemFailures": []}
    stored = world.image(image)
    assert (stored.status, stored.width, stored.height) == (ImageStatus.READY, 64, 64)
    assert world.blobs.exists(thumbnail_key(world.project.id, image.id))
    assert [type(e) for e in world.notifier.events] == [ThumbnailReady]


def test_a_duplicate_notification_changes_nothing(world: World) -> None:
    image, etag = world.upload(png())
    body = s3_notification(image.blob_key, etag)
    invoke(sqs_event(body))
    before = (world.image(image), world.blobs.head(thumbnail_key(world.project.id, image.id)))
    assert invoke(sqs_event(body, body)) == {"batchItemFailures": []}
    after = (world.image(image), world.blobs.head(thumbnail_key(world.project.id, image.id)))
    assert after == before
    assert len(world.notifier.events) == 1


def test_the_s3_test_event_is_skipped(world: World) -> None:
    assert invoke(sqs_event(TEST_EVENT)) == {"batchItemFailures": []}
    assert world.notifier.events == []


def test_a_corrupt_image_is_rejected_alone_and_not_retried(world: World) -> None:
    good, good_etag = world.upload(png(), "good.png")
    bad, bad_etag = world.upload(b"\x89PNG\r\n\x1a\n truncated", "bad.png")
    event = sqs_event(
        s3_notification(bad.blob_key, bad_etag), s3_notification(good.blob_key, good_etag)
    )
    assert invoke(event) == {"batchItemFailures": []}
    assert world.image(good).status is ImageStatus.READY
    rejected = world.image(bad)
    assert rejected.status is ImageStatus.REJECTED
    assert rejected.reason
    assert {type(e) for e in world.notifier.events} == {ThumbnailReady, ImageRejected}


def test_an_unexpected_failure_fails_only_its_record(world: World) -> None:
    first, first_etag = world.upload(png(), "first.png")
    second, second_etag = world.upload(png(), "second.png")
    world.images.failing = first.id
    event = sqs_event(
        s3_notification(first.blob_key, first_etag), s3_notification(second.blob_key, second_etag)
    )
    reply = invoke(event)
    assert reply == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert world.image(second).status is ImageStatus.READY
    world.images.failing = None
    assert world.image(first).status is ImageStatus.UPLOADING  # retried by SQS later


def test_thumbnails_and_other_keys_are_ignored(world: World) -> None:
    image, etag = world.upload(png())
    thumbnail = thumbnail_key(world.project.id, image.id)
    event = sqs_event(
        s3_notification(thumbnail, etag),
        s3_notification(f"projects/{world.project.id}/exports/e/1.zip", etag),
    )
    assert invoke(event) == {"batchItemFailures": []}
    assert world.image(image).status is ImageStatus.UPLOADING


def test_a_notification_for_a_replaced_object_is_ignored(world: World) -> None:
    image, _ = world.upload(png())
    invoke(sqs_event(s3_notification(image.blob_key, "0" * 32)))
    assert world.image(image).status is ImageStatus.UPLOADING


def test_keys_are_url_decoded_and_only_created_originals_count() -> None:
    key = "projects/p 1/originals/a=b+c"
    assert [o.key for o in created_objects(s3_notification(key, "e"))] == [key]
    assert created_objects(s3_notification(key, "e", event_name="ObjectRemoved:Delete")) == []
    assert created_objects(TEST_EVENT) == []
    assert created_objects("not json") == []


def test_the_handler_builds_its_step_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cold-start wiring: DynamoDB and S3 named by the stack's environment (moto)."""
    from cellhub.adapters.aws import wiring
    from cellhub.adapters.aws.dynamodb_table import create_hub_table

    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("CELLHUB_TABLE_NAME", "hub")
    monkeypatch.setenv("CELLHUB_BUCKET_NAME", BUCKET)
    thumbnail_handler.thumbnail_service.cache_clear()
    with mock_aws():
        table = create_hub_table(boto3.resource("dynamodb", region_name="us-east-1"), "hub")
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        resources = wiring.AwsResources.from_env()
        stores = wiring.repositories(resources, table)
        project = Project.new("Spheroids", owner_id="alice")
        stores.projects.create(project)
        image = Image.new(project.id, "a.png", size=1, content_type="image/png", blob_key="x")
        image = replace(image, blob_key=original_key(project.id, image.id))
        stores.images.add_many([image])
        etag = wiring.blob_store(resources).put(image.blob_key, png()).etag
        try:
            reply = invoke(sqs_event(s3_notification(image.blob_key, etag)))
        finally:
            thumbnail_handler.thumbnail_service.cache_clear()
        assert reply == {"batchItemFailures": []}
        stored = stores.images.get(project.id, image.id)
        assert stored is not None and stored.status is ImageStatus.READY


def test_the_last_delivery_rejects_an_image_that_keeps_failing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CELLHUB_MAX_RECEIVES", "3")
    image, etag = world.upload(png(), "stuck.png")
    world.images.failing, world.images.failures_left = image.id, 1
    event = sqs_event(s3_notification(image.blob_key, etag))
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "3"
    assert invoke(event) == {"batchItemFailures": []}
    stuck = world.image(image)
    assert stuck.status is ImageStatus.REJECTED
    assert stuck.reason is not None and stuck.reason.startswith("processing_failed:")
    assert "ProvisionedThroughputExceeded" not in stuck.reason  # internals stay in the log
    assert [type(e) for e in world.notifier.events] == [ImageRejected]


def test_an_earlier_delivery_that_fails_is_left_to_be_retried(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CELLHUB_MAX_RECEIVES", "3")
    image, etag = world.upload(png(), "flaky.png")
    other, other_etag = world.upload(png(), "fine.png")
    world.images.failing, world.images.failures_left = image.id, 1
    event = sqs_event(
        s3_notification(image.blob_key, etag), s3_notification(other.blob_key, other_etag)
    )
    for record in event["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = "2"
    reply = invoke(event)
    assert reply == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert world.image(image).status is ImageStatus.UPLOADING
