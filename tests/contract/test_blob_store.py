"""Contract tests every ``BlobStore`` adapter passes, run once per adapter.

Each adapter enters through a factory in ``ADAPTERS`` that yields a ``Harness``: the store
plus the client side of its presigned requests (how a browser would POST a form or PUT a
part). The S3 adapter's factory sends those requests over HTTP to a moto server on loopback.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qsl, urlsplit

import pytest

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.url_signing import UrlSigner
from cellhub.errors import BlobNotFound, InvalidParameter
from cellhub.ports.blob_store import MIN_PART_BYTES, BlobStore, CompletedPart, UploadTarget
from tests.contract.aws_fixtures import http_post_form, http_upload_part, moto_endpoint, s3_store


@dataclass
class Harness:
    store: BlobStore
    # Send one part's bytes to a presigned part URL; return the ETag the server answered.
    upload_part: Callable[[str, bytes], str]
    # Submit a presigned POST form with the file's bytes.
    post_form: Callable[[UploadTarget, bytes], None]


def filesystem_harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    store = FilesystemBlobStore(
        tmp_path / "blobs", base_url="http://127.0.0.1:8000", signer=UrlSigner(b"k" * 32)
    )

    def upload_part(url: str, data: bytes) -> str:
        return store.accept_part(dict(parse_qsl(urlsplit(url).query)), io.BytesIO(data))

    def post_form(target: UploadTarget, data: bytes) -> None:
        store.accept_post_upload(target.fields, io.BytesIO(data), declared_length=len(data))

    yield Harness(store, upload_part, post_form)


def s3_harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    def post_form(target: UploadTarget, data: bytes) -> None:
        http_post_form(target, data).raise_for_status()

    with s3_store(request) as store:
        yield Harness(store, http_upload_part, post_form)


Factory = Callable[[pytest.FixtureRequest, Path], Iterator[Harness]]
ADAPTERS: dict[str, Factory] = {"filesystem": filesystem_harness, "s3": s3_harness}
# The session's moto server, which the S3 factory asks for by name.
__all__ = ["moto_endpoint"]


@pytest.fixture(params=sorted(ADAPTERS))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    yield from ADAPTERS[request.param](request, tmp_path)


@pytest.fixture
def store(harness: Harness) -> BlobStore:
    return harness.store


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_put_then_get_open_head(store: BlobStore) -> None:
    info = store.put("projects/p1/images/i1/original", b"pixels", content_type="image/png")
    assert (info.key, info.size, info.etag) == ("projects/p1/images/i1/original", 6, md5(b"pixels"))
    assert store.get(info.key) == b"pixels"
    with store.open(info.key) as stream:
        assert stream.read() == b"pixels"
    head = store.head(info.key)
    assert head.content_type == "image/png"
    assert head.etag == info.etag
    assert head.modified.tzinfo is not None
    assert store.exists(info.key)


def test_put_from_stream_and_overwrite(store: BlobStore) -> None:
    store.put("a/b", io.BytesIO(b"first"))
    info = store.put("a/b", io.BytesIO(b"second!"), content_type="text/plain")
    assert store.get("a/b") == b"second!"
    assert (info.size, info.etag, info.content_type) == (7, md5(b"second!"), "text/plain")


def test_missing_objects(store: BlobStore) -> None:
    assert not store.exists("nope")
    for read in (store.get, store.head, store.open):
        with pytest.raises(BlobNotFound):
            read("nope")
    store.delete("nope")  # idempotent


def test_delete(store: BlobStore) -> None:
    store.put("x/y/z", b"1")
    store.delete("x/y/z")
    store.delete("x/y/z")
    assert not store.exists("x/y/z")
    assert store.list("x/") == []


def test_list_is_sorted_paginated_and_prefix_is_a_string_match(store: BlobStore) -> None:
    keys = [f"p/img{n:02d}/original" for n in range(7)] + ["p/img1x", "q/other"]
    for key in reversed(keys):
        store.put(key, key.encode())
    page = store.list("p/img", limit=3)
    assert [info.key for info in page] == sorted(keys)[:3]
    seen = [info.key for info in page]
    while page:
        page = store.list("p/img", start_after=seen[-1], limit=3)
        seen += [info.key for info in page]
    assert seen == sorted(k for k in keys if k.startswith("p/img"))
    assert [i.key for i in store.list("p/img1")] == ["p/img1x"]
    assert store.list("p/img03/original")[0].size == len("p/img03/original")
    assert len(store.list()) == len(keys)


def test_delete_prefix(store: BlobStore) -> None:
    for n in range(5):
        store.put(f"projects/1/images/{n}/original", b"x")
    store.put("projects/10/images/0/original", b"y")
    assert store.delete_prefix("projects/1/") == 5
    assert [i.key for i in store.list("projects/")] == ["projects/10/images/0/original"]
    with pytest.raises(InvalidParameter):
        store.delete_prefix("")


class FailingStream(io.RawIOBase):
    """Yields some bytes, then fails as a dropped connection would."""

    def __init__(self, good: bytes) -> None:
        self._good = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._good:
            raise ConnectionResetError("peer went away")
        n = min(len(buffer), len(self._good))
        buffer[:n] = self._good[:n]
        self._good = self._good[n:]
        return n


def test_failed_write_leaves_nothing_visible(store: BlobStore) -> None:
    stream: BinaryIO = io.BufferedReader(FailingStream(b"partial" * 1000))
    with pytest.raises(ConnectionResetError):
        store.put("k/new", stream)
    assert not store.exists("k/new")
    assert store.list("k/") == []


def test_failed_overwrite_keeps_old_object(store: BlobStore) -> None:
    store.put("k/old", b"complete")
    stream: BinaryIO = io.BufferedReader(FailingStream(b"half" * 1000))
    with pytest.raises(ConnectionResetError):
        store.put("k/old", stream)
    assert store.get("k/old") == b"complete"
    assert store.head("k/old").etag == md5(b"complete")


def test_reader_keeps_its_version_across_overwrite(store: BlobStore) -> None:
    store.put("k", b"A" * 100_000)
    with store.open("k") as stream:
        head = stream.read(10)
        store.put("k", b"B" * 50)
        assert head + stream.read() == b"A" * 100_000


def test_presigned_post_upload(harness: Harness) -> None:
    target = harness.store.presign_upload(
        "up/1", max_bytes=100, content_type="image/tiff", expires_in=60
    )
    assert target.method == "POST"
    harness.post_form(target, b"tiff bytes")
    assert harness.store.get("up/1") == b"tiff bytes"
    assert harness.store.head("up/1").content_type == "image/tiff"


def test_multipart_happy_path(harness: Harness) -> None:
    store = harness.store
    first, last = b"a" * MIN_PART_BYTES, b"tail"
    upload_id = store.start_multipart("big/1", content_type="image/tiff")
    etags = [
        harness.upload_part(store.presign_part("big/1", upload_id, n, expires_in=60), data)
        for n, data in ((1, first), (2, last))
    ]
    assert etags == [md5(first), md5(last)]
    parts = [CompletedPart(1, f'"{etags[0]}"'), CompletedPart(2, etags[1])]
    info = store.complete_multipart("big/1", upload_id, parts)
    joined = hashlib.md5(bytes.fromhex(etags[0]) + bytes.fromhex(etags[1])).hexdigest()
    assert info.etag == f"{joined}-2"
    assert info.size == len(first) + len(last)
    assert store.get("big/1") == first + last
    assert store.head("big/1").content_type == "image/tiff"


def test_multipart_wrong_etag_and_order_refused(harness: Harness) -> None:
    store = harness.store
    upload_id = store.start_multipart("big/2", content_type=None)
    etag = harness.upload_part(store.presign_part("big/2", upload_id, 1, expires_in=60), b"x")
    with pytest.raises(InvalidParameter):
        store.complete_multipart("big/2", upload_id, [CompletedPart(1, md5(b"y"))])
    with pytest.raises(InvalidParameter):
        store.complete_multipart("big/2", upload_id, [CompletedPart(2, etag)])
    assert not store.exists("big/2")
    assert store.complete_multipart("big/2", upload_id, [CompletedPart(1, etag)]).size == 1


def test_multipart_small_part_before_last_refused(harness: Harness) -> None:
    store = harness.store
    upload_id = store.start_multipart("big/3", content_type=None)
    etags = [
        harness.upload_part(store.presign_part("big/3", upload_id, n, expires_in=60), b"small")
        for n in (1, 2)
    ]
    with pytest.raises(InvalidParameter):
        store.complete_multipart(
            "big/3", upload_id, [CompletedPart(1, etags[0]), CompletedPart(2, etags[1])]
        )


def test_multipart_abort(harness: Harness) -> None:
    store = harness.store
    upload_id = store.start_multipart("big/4", content_type=None)
    etag = harness.upload_part(store.presign_part("big/4", upload_id, 1, expires_in=60), b"x")
    store.abort_multipart("big/4", upload_id)
    store.abort_multipart("big/4", upload_id)
    with pytest.raises(BlobNotFound):
        store.complete_multipart("big/4", upload_id, [CompletedPart(1, etag)])
    assert not store.exists("big/4")


@pytest.mark.parametrize(
    "key", ["../x", "a/../../x", "/abs", "a\\b", "nul\x00byte", "tab\there", "", "a//b", "a/", "."]
)
def test_bad_keys_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidParameter):
        store.put(key, b"x")
    with pytest.raises(InvalidParameter):
        store.get(key)


def test_key_length_limit(store: BlobStore) -> None:
    # Segments of 200 bytes: every file system the local adapter runs on takes those.
    key = "/".join(["é" * 100] * 5) + "/" + "x" * 19
    assert len(key.encode()) == 1024
    assert store.put(key, b"ok").size == 2
    with pytest.raises(InvalidParameter):
        store.put(key + "x", b"no")


def test_unicode_keys_list_in_utf8_order(store: BlobStore) -> None:
    for key in ("u/z", "u/é", "u/a", "u/\U0001f52c"):
        store.put(key, b"1")
    assert [i.key for i in store.list("u/")] == ["u/a", "u/z", "u/é", "u/\U0001f52c"]
