"""The blob-store port: S3's object model, which the S3 adapter and the local filesystem share.

Rules every adapter keeps, taken from S3 so that the S3 adapter stays thin:

- **Keys** are relative POSIX paths checked by ``validate_key``. Services build them from ids
  (``projects/<project_id>/originals/<image_id>``), never from a user's file name: a
  file name is display data kept in the metadata store, so no upload can choose where it lands.
- **Writes are atomic.** A reader sees the old object, the new one, or none; never part of one.
- **ETags** are S3's: the hex MD5 of the content for a single-part write, and
  ``<hex md5 of the concatenated binary part MD5s>-<part count>`` for a multipart one.
- **Listing** is ListObjectsV2: keys that start with the prefix as a string, in UTF-8 byte
  order, ``limit`` at most ``MAX_LIST``, continued with ``start_after`` = the last key seen.
- **Presigned uploads** are S3 presigned POSTs: the client sends ``fields`` as form fields and
  the file last, to ``url``; the signed policy fixes the key, the size range and the content
  type. Large files use multipart: one presigned PUT URL per part, then ``complete_multipart``.
- ``delete`` of a missing key and ``abort_multipart`` of an unknown upload are no-ops.

Times (``modified``, ``expires_at``) are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Literal, Protocol

from cellhub.errors import InvalidParameter

MAX_KEY_BYTES = 1024
MAX_LIST = 1000
# S3's multipart limits: every part but the last at least 5 MiB, at most 10,000 parts.
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PART_BYTES = 5 * 1024**3
MAX_PARTS = 10_000
# SigV4 presigned URLs live at most 7 days.
MAX_EXPIRES_IN = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str
    size: int
    # Unquoted, lower-case hex (``-N`` suffixed for multipart), as S3 reports it less the quotes.
    etag: str
    content_type: str | None
    modified: datetime


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """Where and how a client uploads one object without the API in the byte path."""

    url: str
    # Send every field, unchanged, before the file field.
    fields: dict[str, str]
    expires_at: datetime
    method: Literal["POST"] = "POST"


@dataclass(frozen=True, slots=True)
class CompletedPart:
    part_number: int
    # The ETag the part upload answered with; quotes are ignored.
    etag: str


class BlobStore(Protocol):
    """One bucket. Methods are safe to call from several threads and processes at once."""

    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str | None = None) -> BlobInfo:
        """Store ``data`` (bytes, or a binary stream read to its end) under ``key``, atomically."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A stream of the object's bytes, for the caller to close; ``BlobNotFound`` if absent."""
        ...

    def get(self, key: str) -> bytes:
        """The whole object; ``BlobNotFound`` if absent. Prefer ``open`` for large objects."""
        ...

    def head(self, key: str) -> BlobInfo:
        """The object's size, etag, content type and time; ``BlobNotFound`` if absent."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix`` (not empty); return the count."""
        ...

    def presign_upload(
        self, key: str, *, max_bytes: int, content_type: str | None, expires_in: int
    ) -> UploadTarget:
        """A POST form that stores at most ``max_bytes`` under ``key`` until it expires."""
        ...

    def start_multipart(self, key: str, *, content_type: str | None) -> str:
        """Begin a multipart upload to ``key``; return its upload id."""
        ...

    def presign_part(self, key: str, upload_id: str, part_number: int, *, expires_in: int) -> str:
        """A URL that accepts one PUT of part ``part_number`` (1..``MAX_PARTS``)."""
        ...

    def complete_multipart(
        self, key: str, upload_id: str, parts: builtins.list[CompletedPart]
    ) -> BlobInfo:
        """Join ``parts`` (ascending part numbers, etags as uploaded) into the object at ``key``.

        A missing part or a wrong etag raises ``InvalidParameter``; an unknown upload id
        raises ``BlobNotFound``. Parts not named are discarded.
        """
        ...

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Discard the upload and its parts."""
        ...

    def presign_download(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        """A GET URL for the object; ``filename`` becomes the download's suggested name."""
        ...

    def list(
        self, prefix: str = "", *, start_after: str | None = None, limit: int = MAX_LIST
    ) -> builtins.list[BlobInfo]:
        """Up to ``limit`` objects under ``prefix`` with keys after ``start_after``, by key."""
        ...


def _check_characters(text: str, what: str) -> None:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidParameter(f"{what} is not valid UTF-8", **{what: text}) from exc
    if size > MAX_KEY_BYTES:
        raise InvalidParameter(f"{what} is over {MAX_KEY_BYTES} bytes of UTF-8", size=size)
    if "\\" in text:
        raise InvalidParameter(f"{what} must use '/' separators, not '\\'", **{what: text})
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise InvalidParameter(f"{what} holds a control character", **{what: repr(text)})
    if text.startswith("/"):
        raise InvalidParameter(f"{what} must be relative", **{what: text})


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise ``InvalidParameter``.

    Safe: 1..1024 bytes of UTF-8, no leading '/', no '\\', no control characters (NUL
    included), and no empty, '.' or '..' segment, so that every key is also a safe relative
    path under a directory and two spellings never name one object.
    """
    if not key:
        raise InvalidParameter("key must not be empty")
    _check_characters(key, "key")
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise InvalidParameter("key has an empty, '.' or '..' segment", key=key)
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it can start a valid key (it may be empty or end with '/')."""
    if not prefix:
        return prefix
    _check_characters(prefix, "prefix")
    # The last segment may be partial ("images/12" matches "images/123/..."), but no complete
    # segment may be one that validate_key refuses.
    segments = prefix.split("/")
    if any(segment in ("", ".", "..") for segment in segments[:-1]) or segments[-1] == "..":
        raise InvalidParameter("prefix has an empty, '.' or '..' segment", prefix=prefix)
    return prefix


def check_expires_in(expires_in: int) -> None:
    if not 1 <= expires_in <= MAX_EXPIRES_IN:
        raise InvalidParameter(f"expires_in must be 1..{MAX_EXPIRES_IN} s", expires_in=expires_in)


def check_part_number(part_number: int) -> None:
    if not 1 <= part_number <= MAX_PARTS:
        raise InvalidParameter(f"part_number must be 1..{MAX_PARTS}", part_number=part_number)


def check_list_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIST:
        raise InvalidParameter(f"limit must be 1..{MAX_LIST}", limit=limit)


def normalise_etag(etag: str) -> str:
    """An ETag as compared: quotes (which S3's headers carry) removed, lower case."""
    return etag.strip().strip('"').lower()
