"""Presigned S3 requests: the POST form for small uploads, part PUTs and download GETs.

S3 checks everything these sign: the POST policy fixes the bucket, the key, the content
type and ``content-length-range``; a part URL is bound to one upload id and part number; a
download URL to one key and its ``response-content-disposition``. The store never sees the
bytes, so nothing here reads a body.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from cellhub.errors import InvalidParameter
from cellhub.ports.blob_store import (
    MAX_PART_BYTES,
    UploadTarget,
    check_expires_in,
    check_part_number,
    validate_key,
)

# boto3 turns a key ending in this into a "starts-with" condition, which would let the
# uploader's file name choose the object's key.
_FILENAME_VARIABLE = "${filename}"


def presigned_post(
    client: Any,
    bucket: str,
    key: str,
    *,
    max_bytes: int,
    content_type: str | None,
    expires_in: int,
) -> UploadTarget:
    """A POST form that S3 accepts only for ``key``, ``content_type`` and 0..max_bytes bytes."""
    validate_key(key)
    if _FILENAME_VARIABLE in key:
        raise InvalidParameter("key must not hold ${filename}", key=key)
    if not 0 < max_bytes <= MAX_PART_BYTES:  # S3 takes at most 5 GiB in one POST
        raise InvalidParameter("max_bytes must be 1 B..5 GiB", max_bytes=max_bytes)
    check_expires_in(expires_in)
    fields: dict[str, str] = {}
    conditions: list[Any] = [["content-length-range", 0, max_bytes]]
    if content_type is not None:
        fields["Content-Type"] = content_type
        conditions.append({"Content-Type": content_type})
    # Taken before signing, so the stated expiry is never later than the policy's own.
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=expires_in)
    # generate_presigned_post adds the exact {"bucket"} and {"key"} conditions itself.
    post = client.generate_presigned_post(
        Bucket=bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
    )
    return UploadTarget(
        url=str(post["url"]),
        fields={str(name): str(value) for name, value in post["fields"].items()},
        expires_at=expires_at,
    )


def presigned_part_url(
    client: Any, bucket: str, key: str, upload_id: str, part_number: int, *, expires_in: int
) -> str:
    validate_key(key)
    check_part_number(part_number)
    check_expires_in(expires_in)
    if not upload_id:
        raise InvalidParameter("upload_id must not be empty")
    params = {"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number}
    return str(
        client.generate_presigned_url(
            "upload_part", Params=params, ExpiresIn=expires_in, HttpMethod="PUT"
        )
    )


def presigned_download_url(
    client: Any, bucket: str, key: str, *, expires_in: int, filename: str | None
) -> str:
    validate_key(key)
    check_expires_in(expires_in)
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if filename is not None:
        params["ResponseContentDisposition"] = content_disposition(filename)
    return str(
        client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_in, HttpMethod="GET"
        )
    )


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name in RFC 5987 form.

    The name is display data from a user, so anything that could end the quoted string or
    split the header (quotes, backslashes, control characters) is refused, as the local
    store refuses it.
    """
    if not filename or any(ord(c) < 0x20 or ord(c) == 0x7F or c in '"\\' for c in filename):
        raise InvalidParameter("filename is empty or holds a quote, backslash or control character")
    fallback = "".join(c if c.isascii() else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
