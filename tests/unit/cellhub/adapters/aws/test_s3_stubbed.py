"""The S3 store's requests and error mapping, checked with botocore's Stubber.

moto is not enough here: it does not enforce a POST policy (any size, key or content type
is accepted), it neither checks nor reports a presigned URL's expiry, and it answers some
refusals differently from S3. So these tests read what the adapter signs and feed it the
error shapes S3 itself returns; the contract suite covers behaviour on moto.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from cellhub.adapters.aws.s3_blobs import S3BlobStore
from cellhub.errors import BlobNotFound, InvalidParameter, ProcessingError
from cellhub.ports.blob_store import MAX_EXPIRES_IN, CompletedPart
from tests.contract.aws_fixtures import REGION, fake_credentials

BUCKET = "hub-blobs"
KEY = "projects/p1/originals/i1"


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[S3BlobStore, Stubber]]:
    fake_credentials(monkeypatch)
    client = boto3.client("s3", region_name=REGION)
    with Stubber(client) as stubber:
        # Any request the test did not queue fails, so presigning provably stays offline.
        yield S3BlobStore(BUCKET, client=client), stubber
        stubber.assert_no_pending_responses()


def policy_of(fields: dict[str, str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return document


def test_post_policy_fixes_size_range_key_and_type(stubbed: tuple[S3BlobStore, Stubber]) -> None:
    store, _ = stubbed
    target = store.presign_upload(KEY, max_bytes=1234, content_type="image/png", expires_in=900)
    conditions = policy_of(target.fields)["conditions"]
    assert ["content-length-range", 0, 1234] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"key": KEY} in conditions
    assert {"bucket": BUCKET} in conditions
    # No "starts-with" condition: the form cannot choose another key or type.
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
    assert target.fields["key"] == KEY
    assert target.fields["Content-Type"] == "image/png"
    assert target.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"


def test_post_policy_expiry_matches_the_target(stubbed: tuple[S3BlobStore, Stubber]) -> None:
    store, _ = stubbed
    before = datetime.now(UTC)
    target = store.presign_upload(KEY, max_bytes=10, content_type=None, expires_in=600)
    expiration = policy_of(target.fields)["expiration"]
    signed = datetime.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before + timedelta(seconds=598) <= signed <= before + timedelta(seconds=602)
    assert abs((signed - target.expires_at).total_seconds()) <= 1
    assert target.expires_at.tzinfo is not None
    conditions = policy_of(target.fields)["conditions"]
    assert not [c for c in conditions if isinstance(c, dict) and "Content-Type" in c]


@pytest.mark.parametrize("max_bytes", [0, 5 * 1024**3 + 1])
def test_post_size_limit_bounds(stubbed: tuple[S3BlobStore, Stubber], max_bytes: int) -> None:
    store, _ = stubbed
    with pytest.raises(InvalidParameter):
        store.presign_upload(KEY, max_bytes=max_bytes, content_type=None, expires_in=60)


def test_a_key_cannot_defer_to_the_uploaded_file_name(
    stubbed: tuple[S3BlobStore, Stubber],
) -> None:
    store, _ = stubbed
    with pytest.raises(InvalidParameter):
        store.presign_upload("uploads/${filename}", max_bytes=10, content_type=None, expires_in=60)
    with pytest.raises(InvalidParameter):
        store.presign_upload("../escape", max_bytes=10, content_type=None, expires_in=60)


def test_presigned_urls_carry_their_expiry(stubbed: tuple[S3BlobStore, Stubber]) -> None:
    store, _ = stubbed
    part = parse_qs(urlsplit(store.presign_part(KEY, "up-1", 3, expires_in=120)).query)
    assert part["X-Amz-Expires"] == ["120"]
    assert (part["partNumber"], part["uploadId"]) == (["3"], ["up-1"])
    download = store.presign_download(KEY, expires_in=MAX_EXPIRES_IN, filename=None)
    query = parse_qs(urlsplit(download).query)
    assert query["X-Amz-Expires"] == [str(MAX_EXPIRES_IN)]
    assert "response-content-disposition" not in query
    for expires_in in (0, MAX_EXPIRES_IN + 1):
        with pytest.raises(InvalidParameter):
            store.presign_download(KEY, expires_in=expires_in)
        with pytest.raises(InvalidParameter):
            store.presign_part(KEY, "up-1", 1, expires_in=expires_in)
    with pytest.raises(InvalidParameter):
        store.presign_part(KEY, "up-1", 10_001, expires_in=60)


def test_download_names_are_safe_and_signed(stubbed: tuple[S3BlobStore, Stubber]) -> None:
    store, _ = stubbed
    url = store.presign_download(KEY, expires_in=60, filename="Zellkern Ø 1.tif")
    query = parse_qs(urlsplit(url).query)
    assert query["response-content-disposition"] == [
        "attachment; filename=\"Zellkern _ 1.tif\"; filename*=UTF-8''Zellkern%20%C3%98%201.tif"
    ]
    # SigV4 signs every query parameter, so the name cannot be swapped after signing.
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Signature"]
    for bad in ('a".tif', "a\\b.tif", "line\nbreak.tif", ""):
        with pytest.raises(InvalidParameter):
            store.presign_download(KEY, expires_in=60, filename=bad)


@pytest.mark.parametrize(
    ("code", "raised"),
    [
        ("NoSuchUpload", BlobNotFound),
        ("InvalidPart", InvalidParameter),
        ("InvalidPartOrder", InvalidParameter),
        ("EntityTooSmall", InvalidParameter),
    ],
)
def test_completion_errors_are_mapped(
    stubbed: tuple[S3BlobStore, Stubber], code: str, raised: type[Exception]
) -> None:
    store, stubber = stubbed
    stubber.add_client_error("complete_multipart_upload", service_error_code=code)
    with pytest.raises(raised):
        store.complete_multipart(KEY, "up-1", [CompletedPart(1, "abc")])


def test_other_s3_errors_are_not_disguised(stubbed: tuple[S3BlobStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("head_object", service_error_code="403", http_status_code=403)
    stubber.add_client_error("abort_multipart_upload", service_error_code="AccessDenied")
    with pytest.raises(ClientError):
        store.head(KEY)
    with pytest.raises(ClientError):
        store.abort_multipart(KEY, "up-1")


def test_head_of_a_missing_key_and_a_plain_put(stubbed: tuple[S3BlobStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("head_object", service_error_code="404", http_status_code=404)
    with pytest.raises(BlobNotFound):
        store.head(KEY)
    # A small put is one PutObject with its Content-MD5, so S3 checks the bytes it stores.
    stubber.add_response(
        "put_object",
        {"ETag": '"5d41402abc4b2a76b9719d911017c592"'},
        {"Bucket": BUCKET, "Key": KEY, "Body": b"hello", "ContentMD5": ANY},
    )
    stubber.add_response(
        "head_object",
        {
            "ContentLength": 5,
            "ETag": '"5d41402abc4b2a76b9719d911017c592"',
            "ContentType": "binary/octet-stream",
            "LastModified": datetime(2026, 1, 1, tzinfo=UTC),
        },
        {"Bucket": BUCKET, "Key": KEY},
    )
    info = store.put(KEY, b"hello")
    assert (info.size, info.etag, info.content_type) == (
        5,
        "5d41402abc4b2a76b9719d911017c592",
        None,
    )


def test_a_refused_batch_delete_is_a_retryable_failure(
    stubbed: tuple[S3BlobStore, Stubber],
) -> None:
    # moto never refuses a DeleteObjects entry; S3 does (SlowDown, InternalError).
    store, stubber = stubbed
    listed = {
        "Contents": [
            {"Key": "projects/p/a", "Size": 1, "ETag": '"e"', "LastModified": datetime.now(UTC)}
        ],
        "IsTruncated": False,
    }
    stubber.add_response("list_objects_v2", listed)
    stubber.add_response(
        "delete_objects",
        {"Errors": [{"Key": "projects/p/a", "Code": "SlowDown", "Message": "slow down"}]},
    )
    with pytest.raises(ProcessingError) as raised:
        store.delete_prefix("projects/p/")
    assert not raised.value.permanent
