"""Unit tests for the server-side checks of the local blob store's presigned requests.

These are the checks S3 makes on a presigned POST, part PUT or GET; the app's routes only
pass requests through to them, so each refusal is tested here.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from cellhub.adapters.local.filesystem_blobs import (
    DOWNLOAD_PATH,
    UPLOAD_PATH,
    FilesystemBlobStore,
)
from cellhub.adapters.local.url_signing import SIGNATURE_FIELD, Grant, UrlSigner
from cellhub.errors import (
    BlobNotFound,
    InvalidParameter,
    PolicyViolation,
    SignatureInvalid,
    UploadTooLarge,
    UrlExpired,
)

from .conftest import Clock

BASE_URL = "http://127.0.0.1:8000"


@pytest.fixture
def store(tmp_path: Path, signer: UrlSigner) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs", base_url=BASE_URL + "/", signer=signer)


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def staged(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "blobs" / ".staging").iterdir())


def test_valid_post_accepted(store: FilesystemBlobStore) -> None:
    target = store.presign_upload("up/1", max_bytes=10, content_type="image/png", expires_in=60)
    assert target.url == BASE_URL + UPLOAD_PATH
    info = store.accept_post_upload(target.fields, io.BytesIO(b"0123456789"), declared_length=10)
    assert (info.key, info.size, info.content_type) == ("up/1", 10, "image/png")
    assert store.get("up/1") == b"0123456789"


def test_expired_policy_refused(store: FilesystemBlobStore, clock: Clock) -> None:
    target = store.presign_upload("up/1", max_bytes=10, content_type=None, expires_in=60)
    clock.now += 61
    with pytest.raises(UrlExpired):
        store.accept_post_upload(target.fields, io.BytesIO(b"x"), declared_length=1)
    assert not store.exists("up/1")


def test_tampered_signature_refused(store: FilesystemBlobStore) -> None:
    target = store.presign_upload("up/1", max_bytes=10, content_type=None, expires_in=60)
    fields = dict(target.fields)
    signature = fields[SIGNATURE_FIELD]
    fields[SIGNATURE_FIELD] = ("0" if signature[0] != "0" else "1") + signature[1:]
    with pytest.raises(SignatureInvalid):
        store.accept_post_upload(fields, io.BytesIO(b"x"), declared_length=1)
    del fields[SIGNATURE_FIELD]
    with pytest.raises(SignatureInvalid):
        store.accept_post_upload(fields, io.BytesIO(b"x"), declared_length=1)


def test_form_key_other_than_policy_key_refused(store: FilesystemBlobStore) -> None:
    target = store.presign_upload("up/mine", max_bytes=10, content_type=None, expires_in=60)
    fields = target.fields | {"key": "up/someone-elses"}
    with pytest.raises(PolicyViolation):
        store.accept_post_upload(fields, io.BytesIO(b"x"), declared_length=1)
    assert store.list("up/") == []


def test_body_over_limit_refused_while_streaming(
    store: FilesystemBlobStore, tmp_path: Path
) -> None:
    consumed = 0

    def endless() -> Iterator[bytes]:
        nonlocal consumed
        for _ in range(1_000_000):  # 64 GiB if read to the end
            consumed += 65536
            yield b"\0" * 65536

    target = store.presign_upload("up/big", max_bytes=200_000, content_type=None, expires_in=60)
    with pytest.raises(UploadTooLarge):
        store.accept_post_upload(target.fields, endless(), declared_length=None)
    assert consumed <= 200_000 + 65536
    assert not store.exists("up/big")
    assert staged(tmp_path) == []


def test_declared_length_over_limit_refused_before_reading(store: FilesystemBlobStore) -> None:
    body = io.BytesIO(b"x" * 20)
    target = store.presign_upload("up/1", max_bytes=10, content_type=None, expires_in=60)
    with pytest.raises(UploadTooLarge):
        store.accept_post_upload(target.fields, body, declared_length=20)
    assert body.tell() == 0


def test_understated_length_still_capped(store: FilesystemBlobStore) -> None:
    target = store.presign_upload("up/1", max_bytes=10, content_type=None, expires_in=60)
    with pytest.raises(UploadTooLarge):
        store.accept_post_upload(target.fields, io.BytesIO(b"x" * 11), declared_length=5)


@pytest.mark.parametrize("content_type", ["image/png", "IMAGE/TIFF", None])
def test_wrong_content_type_refused(store: FilesystemBlobStore, content_type: str | None) -> None:
    target = store.presign_upload("up/1", max_bytes=10, content_type="image/tiff", expires_in=60)
    fields = {k: v for k, v in target.fields.items() if k != "Content-Type"}
    if content_type is not None:
        fields["Content-Type"] = content_type
    with pytest.raises(PolicyViolation):
        store.accept_post_upload(fields, io.BytesIO(b"x"), declared_length=1)


def test_download_url_checks(store: FilesystemBlobStore, clock: Clock) -> None:
    url = store.presign_download("exports/e1.zip", expires_in=60, filename="my export.zip")
    assert url.startswith(BASE_URL + DOWNLOAD_PATH + "?")
    query = query_of(url)
    assert store.verify_download(query) == "exports/e1.zip"
    assert query["filename"] == "my export.zip"
    with pytest.raises(SignatureInvalid):
        store.verify_download(query | {"key": "exports/e2.zip"})
    with pytest.raises(SignatureInvalid):
        store.verify_download(query | {"filename": "evil.html"})
    clock.now += 60
    with pytest.raises(UrlExpired):
        store.verify_download(query)


def test_part_url_bound_to_its_upload_and_part(store: FilesystemBlobStore) -> None:
    upload_id = store.start_multipart("big/1", content_type=None)
    other_id = store.start_multipart("big/1", content_type=None)
    query = query_of(store.presign_part("big/1", upload_id, 1, expires_in=60))
    for changed in ({"upload_id": other_id}, {"part_number": "2"}, {"key": "big/2"}):
        with pytest.raises(SignatureInvalid):
            store.accept_part(query | changed, io.BytesIO(b"x"))
    store.abort_multipart("big/1", upload_id)
    with pytest.raises(BlobNotFound):
        store.accept_part(query, io.BytesIO(b"x"))


def test_traversal_impossible(
    store: FilesystemBlobStore, signer: UrlSigner, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"keep")
    # Even a grant signed for a bad key (never produced by presign) reaches no file.
    grant = Grant.of("GET", "../outside/secret", signer.expiry(60))
    with pytest.raises(InvalidParameter):
        store.verify_download(signer.query(grant))
    with pytest.raises(InvalidParameter):
        store.presign_upload("../outside/secret", max_bytes=1, content_type=None, expires_in=60)
    # A symlink planted inside the tree does not lead out of it either.
    (tmp_path / "blobs" / "objects" / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidParameter):
        store.get("link/secret")
    with pytest.raises(InvalidParameter):
        store.put("link/secret", b"overwritten")
    # Upload ids are checked before they touch a path.
    store.abort_multipart("k", "../../outside")
    with pytest.raises(BlobNotFound):
        store.complete_multipart("k", "../../outside", [])
    assert (outside / "secret").read_bytes() == b"keep"


def test_key_that_is_a_prefix_of_others_refused(store: FilesystemBlobStore) -> None:
    store.put("a/b", b"1")
    with pytest.raises(InvalidParameter):
        store.put("a", b"2")
    with pytest.raises(InvalidParameter):
        store.put("a/b/c", b"3")
    assert not store.exists("a")
    assert store.get("a/b") == b"1"


def test_overlong_segment_refused(store: FilesystemBlobStore) -> None:
    with pytest.raises(InvalidParameter):
        store.put("x" * 251, b"1")


def test_hand_placed_file_gets_computed_etag(store: FilesystemBlobStore, tmp_path: Path) -> None:
    (tmp_path / "blobs" / "objects" / "copied").write_bytes(b"abc")
    info = store.head("copied")
    assert info.etag == "900150983cd24fb0d6963f7d28e17f72"
    assert info.content_type is None


def test_deletes_prune_empty_folders(store: FilesystemBlobStore, tmp_path: Path) -> None:
    store.put("p/1/i/2/original", b"x")
    store.delete_prefix("p/1/")
    assert list((tmp_path / "blobs" / "objects").iterdir()) == []


def test_local_path_names_the_stored_file_and_refuses_a_missing_one(
    store: FilesystemBlobStore,
) -> None:
    store.put("projects/p/originals/i", b"pixels")
    assert store.local_path("projects/p/originals/i").read_bytes() == b"pixels"
    with pytest.raises(BlobNotFound):
        store.local_path("projects/p/originals/missing")
    with pytest.raises(InvalidParameter):
        store.local_path("../outside")
