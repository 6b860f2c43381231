"""The blob store on S3: one bucket, keys checked by the port, bytes streamed both ways.

Writes read the caller's stream one part (``part_bytes``, 8 MiB by default) at a time: a
body that fits in one part is one ``PutObject`` with its ``Content-MD5``, a longer one a
multipart upload that is aborted if the stream fails, so a failed write never leaves an
object or a half-written one behind, and memory stays at two parts (one read ahead).
Reads hand back the ``GetObject`` body as a buffered stream; S3 keeps serving the version a
read started on even when the key is overwritten meanwhile.

Differences from the local store, all S3's own: ``list`` reports ``content_type`` None
(ListObjectsV2 does not return it; ``head`` does); a ``put`` longer than one part gets a
multipart ETag (``<md5 of part md5s>-N``), where the local store reports the plain MD5; and
an object written without a content type reads back as None although S3 stores its
default ``binary/octet-stream``.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import io
from collections.abc import Iterator
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from cellhub.adapters.aws import s3_presigning
from cellhub.adapters.aws.s3_multipart import S3Multipart, error_code
from cellhub.errors import BlobNotFound, InvalidParameter, ProcessingError
from cellhub.ports.blob_store import (
    MAX_LIST,
    MAX_PART_BYTES,
    MIN_PART_BYTES,
    BlobInfo,
    CompletedPart,
    UploadTarget,
    check_list_limit,
    normalise_etag,
    validate_key,
    validate_prefix,
)

PART_BYTES = 8 * 1024 * 1024
_S3_DEFAULT_TYPE = "binary/octet-stream"
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
# The presigners botocore may propose for a plain bucket (no S3 Express, no multi-region
# access point); requests that are sent, not presigned, keep botocore's own choice.
_PLAIN_PRESIGNERS = frozenset(
    f"{version}{suffix}"
    for version in ("v4", "s3", "s3v4")
    for suffix in ("-query", "-presign-post")
)


class _BodyReader(io.RawIOBase):
    """A botocore ``StreamingBody`` as a raw stream, so ``io.BufferedReader`` can wrap it."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _parts(data: bytes | BinaryIO, part_bytes: int) -> Iterator[bytes]:
    """``data`` in pieces of exactly ``part_bytes`` but the last (which may be empty)."""
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, max(len(view), 1), part_bytes):
            yield bytes(view[start : start + part_bytes])
        return
    while True:
        piece = bytearray()
        while len(piece) < part_bytes:
            chunk = data.read(part_bytes - len(piece))
            if not chunk:
                break
            piece += chunk
        yield bytes(piece)
        if len(piece) < part_bytes:
            return


class S3BlobStore:
    """``BlobStore`` on one S3 bucket through an injected boto3 S3 ``client``."""

    def __init__(self, bucket: str, *, client: Any, part_bytes: int = PART_BYTES) -> None:
        if not MIN_PART_BYTES <= part_bytes <= MAX_PART_BYTES:
            raise InvalidParameter("part_bytes must be 5 MiB..5 GiB", part_bytes=part_bytes)
        self.bucket = bucket
        self.part_bytes = part_bytes
        self._client = client
        # botocore still presigns with SigV2 where a region allows it, unless the client was
        # built with signature_version="s3v4"; SigV2 is deprecated and absent from newer
        # regions, so presigned requests are always SigV4 (X-Amz-Expires, at most 7 days).
        client.meta.events.register_first(
            "choose-signer.s3", _prefer_sigv4, unique_id="cellhub-s3-prefer-sigv4"
        )
        self._multipart = S3Multipart(bucket, client=client)

    # -- objects -------------------------------------------------------------------------

    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str | None = None) -> BlobInfo:
        validate_key(key)
        parts = _parts(data, self.part_bytes)
        first = next(parts)
        second = next(parts, None)
        if not second:
            extra = {} if content_type is None else {"ContentType": content_type}
            md5 = base64.b64encode(hashlib.md5(first).digest()).decode("ascii")
            self._client.put_object(
                Bucket=self.bucket, Key=key, Body=first, ContentMD5=md5, **extra
            )
        else:
            self._multipart.upload(key, _chain(first, second, parts), content_type=content_type)
        return self.head(key)

    def open(self, key: str) -> BinaryIO:
        validate_key(key)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            raise self._not_found_or(exc, key) from exc
        return io.BufferedReader(_BodyReader(response["Body"]), buffer_size=1024 * 1024)

    def get(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def head(self, key: str) -> BlobInfo:
        validate_key(key)
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            raise self._not_found_or(exc, key) from exc
        content_type = response.get("ContentType")
        return BlobInfo(
            key=key,
            size=int(response["ContentLength"]),
            etag=normalise_etag(response["ETag"]),
            content_type=None if content_type in (None, _S3_DEFAULT_TYPE) else content_type,
            modified=response["LastModified"],
        )

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except BlobNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        validate_key(key)
        self._client.delete_object(Bucket=self.bucket, Key=key)  # S3: a missing key is fine

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise InvalidParameter("delete_prefix needs a non-empty prefix")
        deleted = 0
        while batch := self.list(prefix):
            response = self._client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": info.key} for info in batch], "Quiet": True},
            )
            if response.get("Errors"):
                failed = response["Errors"][0]
                # Usually SlowDown or InternalError: worth a retry, and never the caller's fault.
                raise ProcessingError(
                    "S3 refused to delete an object", key=failed.get("Key"), code=failed["Code"]
                )
            deleted += len(batch)
        return deleted

    def list(
        self, prefix: str = "", *, start_after: str | None = None, limit: int = MAX_LIST
    ) -> builtins.list[BlobInfo]:
        validate_prefix(prefix)
        check_list_limit(limit)
        params: dict[str, Any] = {"Bucket": self.bucket, "MaxKeys": limit}
        if prefix:
            params["Prefix"] = prefix
        if start_after is not None:
            params["StartAfter"] = start_after
        response = self._client.list_objects_v2(**params)
        return [
            BlobInfo(
                key=item["Key"],
                size=int(item["Size"]),
                etag=normalise_etag(item["ETag"]),
                content_type=None,
                modified=item["LastModified"],
            )
            for item in response.get("Contents", [])
        ]

    # -- multipart and presigned requests ------------------------------------------------------

    def start_multipart(self, key: str, *, content_type: str | None) -> str:
        return self._multipart.start(key, content_type=content_type)

    def complete_multipart(
        self, key: str, upload_id: str, parts: builtins.list[CompletedPart]
    ) -> BlobInfo:
        self._multipart.complete(key, upload_id, parts)
        return self.head(key)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        self._multipart.abort(key, upload_id)

    def presign_upload(
        self, key: str, *, max_bytes: int, content_type: str | None, expires_in: int
    ) -> UploadTarget:
        return s3_presigning.presigned_post(
            self._client,
            self.bucket,
            key,
            max_bytes=max_bytes,
            content_type=content_type,
            expires_in=expires_in,
        )

    def presign_part(self, key: str, upload_id: str, part_number: int, *, expires_in: int) -> str:
        return s3_presigning.presigned_part_url(
            self._client, self.bucket, key, upload_id, part_number, expires_in=expires_in
        )

    def presign_download(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        return s3_presigning.presigned_download_url(
            self._client, self.bucket, key, expires_in=expires_in, filename=filename
        )

    @staticmethod
    def _not_found_or(exc: ClientError, key: str) -> Exception:
        if error_code(exc) in _MISSING:
            return BlobNotFound("no such object", key=key)
        return exc


def _prefer_sigv4(signature_version: Any, **_: Any) -> str | None:
    """A ``choose-signer`` handler run before botocore's own, which would pick SigV2."""
    return "s3v4" if signature_version in _PLAIN_PRESIGNERS else None


def _chain(first: bytes, second: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield second
    yield from rest
