"""The S3 store on a loopback moto server: streaming writes, downloads, the SigV4 switch.

moto does not enforce POST policies, so the policy's conditions are checked in
``test_s3_stubbed``; here the form only has to reach the bucket.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import boto3
import pytest
import requests

from cellhub.adapters.aws.s3_blobs import S3BlobStore
from cellhub.errors import InvalidParameter
from cellhub.ports.blob_store import MIN_PART_BYTES
from tests.contract.aws_fixtures import (
    REGION,
    fake_credentials,
    http_post_form,
    moto_endpoint,
    s3_store,
)

__all__ = ["moto_endpoint"]  # the session's server, asked for by s3_store


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Iterator[S3BlobStore]:
    with s3_store(request) as store:
        store.part_bytes = MIN_PART_BYTES
        yield store


class CountingStream(io.RawIOBase):
    """``size`` bytes of a repeating pattern, failing after ``fail_after`` if set; records
    the largest single read, which bounds what the store holds at once."""

    def __init__(self, size: int, fail_after: int | None = None) -> None:
        self.left = size
        self.served = 0
        self.fail_after = fail_after
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.fail_after is not None and self.served >= self.fail_after:
            raise ConnectionResetError("client went away")
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        self.served += n
        self.largest_read = max(self.largest_read, len(buffer))
        return n


def test_a_long_stream_is_written_in_parts(store: S3BlobStore) -> None:
    stream = CountingStream(2 * MIN_PART_BYTES + 10)
    info = store.put("exports/e1/archive.zip", stream, content_type="application/zip")
    assert info.size == 2 * MIN_PART_BYTES + 10
    assert info.etag.endswith("-3")  # S3's multipart ETag: three parts
    assert stream.largest_read <= MIN_PART_BYTES
    assert info.content_type == "application/zip"
    with store.open(info.key) as body:
        total = 0
        while chunk := body.read(1024 * 1024):
            total += len(chunk)
    assert total == info.size


def test_a_stream_ending_on_a_part_boundary(store: S3BlobStore) -> None:
    data = b"z" * MIN_PART_BYTES
    info = store.put("k/exact", io.BytesIO(data))
    assert info.etag == hashlib.md5(data).hexdigest()  # one part: a plain PutObject
    assert store.get("k/exact") == data


def test_a_failed_long_stream_leaves_no_parts_and_the_old_object(store: S3BlobStore) -> None:
    store.put("k/big", b"old")
    with pytest.raises(ConnectionResetError):
        store.put("k/big", CountingStream(3 * MIN_PART_BYTES, fail_after=MIN_PART_BYTES + 1))
    assert store.get("k/big") == b"old"
    client = store._client
    assert client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_download_url_serves_the_object_under_its_display_name(store: S3BlobStore) -> None:
    store.put("projects/p/exports/x", b"zip bytes", content_type="application/zip")
    url = store.presign_download("projects/p/exports/x", expires_in=60, filename="Ergebnis ü.zip")
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"zip bytes"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="Ergebnis _.zip"'
    )


def test_presigned_post_form_reaches_the_bucket(store: S3BlobStore) -> None:
    target = store.presign_upload("up/form", max_bytes=64, content_type="image/png", expires_in=60)
    response = http_post_form(target, b"\x89PNG....")
    assert response.status_code in (200, 201, 204)
    assert store.head("up/form").content_type == "image/png"


def test_presigning_uses_sigv4_whatever_the_client_says(monkeypatch: pytest.MonkeyPatch) -> None:
    # A client as wiring builds it: no signature_version in its Config.
    fake_credentials(monkeypatch)
    client = boto3.client("s3", region_name=REGION)
    store = S3BlobStore("any-bucket", client=client)
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in store.presign_download("k", expires_in=60)
    assert (
        store.presign_upload("k", max_bytes=1, content_type=None, expires_in=60).fields[
            "x-amz-algorithm"
        ]
        == "AWS4-HMAC-SHA256"
    )
    with pytest.raises(InvalidParameter):
        S3BlobStore("any-bucket", client=client, part_bytes=MIN_PART_BYTES - 1)
