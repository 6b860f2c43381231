"""What the DynamoDB adapters write and how they read it: key layout, TTL, bounded queries.

The behaviour every adapter shares is in ``tests/contract``; these tests pin down what only
the single-table design promises, on moto's DynamoDB.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cellhub.adapters.aws.dynamodb_accounts import DynamoAccountsRepository
from cellhub.adapters.aws.dynamodb_images import DynamoImagesRepository
from cellhub.adapters.aws.dynamodb_jobs import DynamoJobsRepository
from cellhub.adapters.aws.dynamodb_projects import DynamoProjectsRepository
from cellhub.adapters.aws.dynamodb_table import create_hub_table
from cellhub.domain.accounts import OneTimeToken, RefreshToken, User
from cellhub.domain.images import Image, ImageStatus, SegmentationVersion
from cellhub.domain.jobs import Export, ExportState
from cellhub.domain.projects import Project, new_id
from cellhub.errors import InvalidParameter

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield create_hub_table(boto3.resource("dynamodb", region_name="us-east-1"), "hub")


@pytest.fixture
def project(table: Any) -> Project:
    created = Project.new("Spheroids", owner_id="alice")
    DynamoProjectsRepository(table).create(created)
    return created


def raw(table: Any, pk: str, sk: str) -> dict[str, Any]:
    item: dict[str, Any] = table.get_item(Key={"pk": pk, "sk": sk})["Item"]
    return item


def queries_of(table: Any) -> list[dict[str, Any]]:
    """Records the parameters of every Query the table's client sends from now on."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    table.meta.client.meta.events.register("provide-client-params.dynamodb.Query", record)
    return sent


def test_table_is_on_demand_with_ttl_on_expires_at(table: Any) -> None:
    client = table.meta.client
    description = client.describe_table(TableName="hub")["Table"]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = client.describe_time_to_live(TableName="hub")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")


def test_every_page_of_a_listing_is_one_bounded_query_per_status(
    table: Any, project: Project
) -> None:
    images = DynamoImagesRepository(table)
    batch = [
        replace(
            Image.new(project.id, f"{i}.tif", size=1, content_type="image/tiff", blob_key="k"),
            status=(ImageStatus.READY, ImageStatus.FAILED, ImageStatus.UPLOADING)[i % 3],
        )
        for i in range(300)
    ]
    images.add_many(batch)
    sent = queries_of(table)
    cursor: str | None = None
    pages = 0
    while True:
        page = images.list(
            project.id,
            status={ImageStatus.READY, ImageStatus.FAILED},
            cursor=cursor,
            limit=40,
            order="-name",
        )
        pages += 1
        assert len(page.items) == 40 or page.next_cursor is None
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 5
    assert len(sent) <= 2 * pages
    assert all(q["Limit"] == 41 and "FilterExpression" not in q for q in sent)
    assert {q["IndexName"] for q in sent} == {"gsi4"}


def test_name_order_matches_tuple_order_for_awkward_names(table: Any, project: Project) -> None:
    names = ["a", "a!", "a b", "a#", "A", "ä", "a\u0300", "ab", "a", "Z", "", "a" * 300]
    batch = [
        Image.new(project.id, name, size=1, content_type="image/tiff", blob_key="k")
        for name in names
    ]
    random.Random(3).shuffle(batch)
    images = DynamoImagesRepository(table)
    images.add_many(batch)
    listed = images.list(project.id, order="name", limit=100).items
    assert listed == sorted(batch, key=lambda image: (image.name, image.id))


def test_versions_hold_pointers_and_counts_never_polygons(table: Any, project: Project) -> None:
    images = DynamoImagesRepository(table)
    [image] = [Image.new(project.id, "a.tif", size=1, content_type="image/tiff", blob_key="k")]
    images.add_many([image])
    record = SegmentationVersion(
        image.id, 0, "segmentations/x.json.gz", 12, "unet", 0.5, "model", "job1", "alice"
    )
    images.add_model_version_once(image.id, "job1", record)
    item = raw(table, f"IMAGE#{image.id}", "VERSION#0000000001")
    assert set(item) - {"pk", "sk"} == {
        "image_id",
        "version",
        "blob_key",
        "object_count",
        "model",
        "threshold",
        "source",
        "job_id",
        "created_by",
        "created_at",
    }
    assert raw(table, f"IMAGE#{image.id}", "JOB#job1")["version"] == 1
    assert raw(table, f"IMAGE#{image.id}", "IMAGE")["latest_version"] == 1


def test_an_oversized_record_is_refused_before_it_reaches_dynamodb(
    table: Any, project: Project
) -> None:
    image = Image.new(project.id, "x" * 400_000, size=1, content_type="t", blob_key="k")
    with pytest.raises(InvalidParameter):
        DynamoImagesRepository(table).add_many([image])


def test_tokens_and_finished_exports_carry_their_ttl(table: Any, project: Project) -> None:
    accounts = DynamoAccountsRepository(table)
    user = User(new_id(), "ada@example.org", "$argon2id$x", False, NOW)
    accounts.create_user(user)
    token = RefreshToken(new_id(), new_id(), user.id, "hash", NOW + timedelta(days=30))
    accounts.add_refresh_token(token)
    once = OneTimeToken(new_id(), user.id, "verify_email", "h", NOW + timedelta(hours=1))
    accounts.add_one_time_token(once)
    expiry = int((NOW + timedelta(days=30)).timestamp())
    assert raw(table, f"REFRESH#{token.id}", "REFRESH")["expires_at"] == expiry
    assert raw(table, f"FAMILY#{token.family_id}", "FAMILY")["expires_at"] == expiry
    assert raw(table, "ONCE#h", "ONCE")["expires_at"] == int(once.expires_at.timestamp())

    jobs = DynamoJobsRepository(table)
    ids = tuple(new_id() for _ in range(5_000))
    export = Export.new(project.id, ("coco",), created_by="alice", image_ids=ids)
    jobs.create_export(export)
    assert jobs.set_export_state(export.id, {ExportState.QUEUED}, ExportState.RUNNING)
    expires = NOW + timedelta(days=7)
    assert jobs.set_export_state(
        export.id, {ExportState.RUNNING}, ExportState.DONE, blob_key="z", expires_at=expires
    )
    items = table.query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"EXPORT#{export.id}"}
    )["Items"]
    assert len(items) > 1
    assert {item["expires_at"] for item in items} == {int(expires.timestamp())}
    stored = jobs.get_export(project.id, export.id)
    assert stored is not None and stored.image_ids == ids and stored.expires_at == expires


def test_an_email_claim_left_by_a_crashed_delete_is_released(table: Any) -> None:
    accounts = DynamoAccountsRepository(table)
    first = User(new_id(), "ada@example.org", "$argon2id$x", False, NOW)
    accounts.create_user(first)
    table.delete_item(Key={"pk": f"USER#{first.id}", "sk": "USER"})  # the claim stays behind
    assert accounts.find_user_by_email("ada@example.org") is None
    second = User(new_id(), "ada@example.org", "$argon2id$y", False, NOW)
    accounts.create_user(second)
    assert accounts.find_user_by_email("ADA@example.org") == second


def test_a_family_revocation_holds_before_its_tokens_are_updated(table: Any) -> None:
    accounts = DynamoAccountsRepository(table)
    user = User(new_id(), "ada@example.org", "$argon2id$x", False, NOW)
    accounts.create_user(user)
    token = RefreshToken(new_id(), new_id(), user.id, "hash", NOW + timedelta(days=30))
    accounts.add_refresh_token(token)
    # Only the family item is revoked, as if the index had not yet shown the token.
    table.update_item(
        Key={"pk": f"FAMILY#{token.family_id}", "sk": "FAMILY"},
        UpdateExpression="SET revoked_at = :now",
        ExpressionAttributeValues={":now": NOW.isoformat(timespec="microseconds")},
    )
    stored = accounts.get_refresh_token(token.id)
    assert stored is not None and stored.revoked_at == NOW


def test_listings_from_many_threads_at_once_get_their_own_results(table: Any) -> None:
    projects = DynamoProjectsRepository(table)
    for i in range(12):
        projects.create(Project(new_id(), f"{'even' if i % 2 else 'odd'} {i}", "alice"))
    expected = {
        search: sorted(p.name for p in projects.list_for_user("alice", search=search).items)
        for search in ("even", "odd", "1")
    }
    failures: list[str] = []

    def list_repeatedly(search: str) -> None:
        for _ in range(15):
            names = sorted(p.name for p in projects.list_for_user("alice", search=search).items)
            if names != expected[search]:
                failures.append(search)

    threads = [
        threading.Thread(target=list_repeatedly, args=(search,))
        for search in ("even", "odd", "1") * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
