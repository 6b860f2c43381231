"""S3 multipart uploads: the ones clients drive through presigned part URLs, and the ones the
store itself uses to stream a long body without holding it in memory.

S3's refusals are mapped onto the port's errors: an unknown upload id is ``BlobNotFound``;
a missing part, a wrong ETag, parts out of order or a part before the last under 5 MiB is
``InvalidParameter``. A failed completion leaves the upload open, so the caller may retry
with the right parts, as the local store allows.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from cellhub.errors import BlobNotFound, InvalidParameter
from cellhub.ports.blob_store import CompletedPart, normalise_etag, validate_key

_BAD_PARTS = frozenset(
    {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML", "InvalidRequest"}
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Multipart:
    """Multipart calls on one bucket; ``S3BlobStore`` delegates to it."""

    def __init__(self, bucket: str, *, client: Any) -> None:
        self.bucket = bucket
        self._client = client

    def start(self, key: str, *, content_type: str | None) -> str:
        validate_key(key)
        extra = {} if content_type is None else {"ContentType": content_type}
        response = self._client.create_multipart_upload(Bucket=self.bucket, Key=key, **extra)
        return str(response["UploadId"])

    def complete(self, key: str, upload_id: str, parts: list[CompletedPart]) -> None:
        validate_key(key)
        if not upload_id:
            raise BlobNotFound("no such multipart upload", upload_id=upload_id)
        if not parts:
            raise InvalidParameter("a multipart upload needs at least one part")
        numbers = [part.part_number for part in parts]
        if numbers != sorted(set(numbers)):
            raise InvalidParameter("parts must be in ascending order without repeats")
        listed = [
            {"PartNumber": part.part_number, "ETag": f'"{normalise_etag(part.etag)}"'}
            for part in parts
        ]
        try:
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},
            )
        except ClientError as exc:
            code = error_code(exc)
            if code == "NoSuchUpload":
                raise BlobNotFound("no such multipart upload", upload_id=upload_id) from exc
            if code in _BAD_PARTS:
                raise InvalidParameter("S3 refused the parts", code=code) from exc
            raise

    def abort(self, key: str, upload_id: str) -> None:
        validate_key(key)
        if not upload_id:
            return
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if error_code(exc) != "NoSuchUpload":
                raise

    def upload(self, key: str, chunks: Iterable[bytes], *, content_type: str | None) -> None:
        """Store ``chunks`` (each but the last at least 5 MiB) at ``key`` as one object.

        Any failure, the caller's stream included, aborts the upload before it propagates,
        so S3 keeps no parts and the key keeps its previous object.
        """
        upload_id = self.start(key, content_type=content_type)
        try:
            parts: list[CompletedPart] = []
            for chunk in chunks:
                if not chunk and parts:
                    continue  # a stream that ended on a part boundary
                number = len(parts) + 1
                md5 = base64.b64encode(hashlib.md5(chunk).digest()).decode("ascii")
                response = self._client.upload_part(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                    ContentMD5=md5,
                )
                parts.append(CompletedPart(number, response["ETag"]))
            self.complete(key, upload_id, parts)
        except BaseException:
            self.abort(key, upload_id)
            raise
