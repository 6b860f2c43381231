"""The local blob store: objects as files under one directory, with HMAC-signed URLs.

Layout under ``root``::

    objects/<key>             the bytes; the key's '/' are directories. An object exists iff
                              this file does.
    meta/<key>.json           {"etag", "content_type"}; a sidecar so that the object files
                              stay plain copies a user can open.
    .staging/                 temporary files, renamed into place once complete, so that no
                              reader ever sees part of an object.
    .multipart/<upload_id>/   upload.json (key, content type) and part-NNNNN + .etag files.

A put renames the sidecar into place before the object, so a first write becomes visible
with its metadata; on an overwrite, ``head`` may report the new sidecar next to the old
bytes for the instant between the two renames. Services write each key once, by id.
A directory tree cannot hold both ``a`` and ``a/b``, nor a key segment over 250 bytes; such
a put raises ``InvalidParameter``.

Presigned requests come back to the app, whose routes (``UPLOAD_PATH``, ``PART_PATH``,
``DOWNLOAD_PATH`` under ``base_url``) hand them to ``accept_post_upload``, ``accept_part`` and
``verify_download``: those do every check S3 would, and stream bodies with a size cap.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlencode

from cellhub.adapters.local.url_signing import Grant, UrlSigner
from cellhub.errors import BlobNotFound, InvalidParameter, UploadTooLarge
from cellhub.ports.blob_store import (
    MAX_PART_BYTES,
    MIN_PART_BYTES,
    BlobInfo,
    CompletedPart,
    UploadTarget,
    check_list_limit,
    check_part_number,
    normalise_etag,
    validate_key,
    validate_prefix,
)

UPLOAD_PATH = "/blobs/upload"
PART_PATH = "/blobs/part"
DOWNLOAD_PATH = "/blobs/download"
CHUNK_BYTES = 1024 * 1024
# File systems cap a name at 255 bytes; the sidecar adds ".json".
MAX_SEGMENT_BYTES = 250
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")

Body = bytes | BinaryIO | Iterable[bytes]


def _chunks(body: Body) -> Iterator[bytes]:
    if isinstance(body, bytes | bytearray | memoryview):
        yield bytes(body)
    elif hasattr(body, "read"):
        while chunk := body.read(CHUNK_BYTES):
            yield chunk
    else:
        yield from body


class FilesystemBlobStore:
    """``BlobStore`` on a local directory; safe across threads and processes on one host."""

    def __init__(self, root: Path, *, base_url: str, signer: UrlSigner) -> None:
        self._root = root.resolve()
        self._objects = self._root / "objects"
        self._meta = self._root / "meta"
        self._staging = self._root / ".staging"
        self._multipart = self._root / ".multipart"
        for directory in (self._objects, self._meta, self._staging, self._multipart):
            directory.mkdir(parents=True, exist_ok=True)
        self._base_url = base_url.rstrip("/")
        self._signer = signer

    # -- objects -------------------------------------------------------------------------

    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str | None = None) -> BlobInfo:
        return self._store(key, _chunks(data), content_type=content_type, limit=None)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._object_path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise BlobNotFound("no such object", key=key) from exc

    def get(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def head(self, key: str) -> BlobInfo:
        path = self._object_path(key)
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise BlobNotFound("no such object", key=key) from exc
        if not path.is_file():
            raise BlobNotFound("no such object", key=key)
        try:
            meta = json.loads(self._meta_path(key).read_text("utf-8"))
        except (FileNotFoundError, NotADirectoryError, ValueError):
            # A file placed by hand: its etag can still be computed.
            with path.open("rb") as stream:
                meta = {"etag": hashlib.file_digest(stream, "md5").hexdigest()}
        return BlobInfo(
            key=key,
            size=stat.st_size,
            etag=meta["etag"],
            content_type=meta.get("content_type"),
            modified=datetime.fromtimestamp(stat.st_mtime, UTC),
        )

    def local_path(self, key: str) -> Path:
        """The object's file, for readers on this machine that want no copy; objects are
        replaced by rename, so an open file stays whole. ``BlobNotFound`` if absent."""
        path = self._object_path(key)
        if not path.is_file():
            raise BlobNotFound("no such object", key=key)
        return path

    def exists(self, key: str) -> bool:
        return self._object_path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._object_path(key)
        if path.is_dir():
            return
        path.unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)
        self._prune(path.parent, self._objects)
        self._prune(self._meta_path(key).parent, self._meta)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise InvalidParameter("delete_prefix needs a non-empty prefix")
        deleted = 0
        while batch := self.list(prefix):
            for info in batch:
                self.delete(info.key)
            deleted += len(batch)
        return deleted

    def list(
        self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000
    ) -> builtins.list[BlobInfo]:
        validate_prefix(prefix)
        check_list_limit(limit)
        # Walk only the directory the prefix's complete segments name.
        base = self._objects.joinpath(*prefix.split("/")[:-1])
        keys: builtins.list[str] = []
        for directory, _, files in os.walk(base):
            relative = Path(directory).relative_to(self._objects).as_posix()
            for name in files:
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix) and (start_after is None or key > start_after):
                    keys.append(key)
        # Python orders str by code point, which is UTF-8 byte order, as S3 lists.
        found: builtins.list[BlobInfo] = []
        for key in sorted(keys):
            try:
                found.append(self.head(key))
            except BlobNotFound:
                continue  # deleted while we listed
            if len(found) == limit:
                break
        return found

    # -- presigned single uploads and downloads -------------------------------------------

    def presign_upload(
        self, key: str, *, max_bytes: int, content_type: str | None, expires_in: int
    ) -> UploadTarget:
        validate_key(key)
        if not 0 < max_bytes <= MAX_PART_BYTES:  # S3 takes at most 5 GiB in one POST
            raise InvalidParameter("max_bytes must be 1 B..5 GiB", max_bytes=max_bytes)
        expires_at = self._signer.expiry(expires_in)
        grant = Grant.of("POST", key, expires_at, max_bytes=max_bytes, content_type=content_type)
        return UploadTarget(
            url=self._base_url + UPLOAD_PATH,
            fields=self._signer.post_fields(grant),
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )

    def accept_post_upload(
        self, fields: Mapping[str, str], body: Body, *, declared_length: int | None
    ) -> BlobInfo:
        """Check a presigned POST against its signed policy and store its file.

        ``fields`` are the form's text fields, ``body`` the file's bytes (read in chunks) and
        ``declared_length`` the file's size if the client stated it. Raises ``AccessDenied``
        subclasses for a bad signature, expiry, key or content type, and ``UploadTooLarge`` as
        soon as the body passes the policy's limit, before reading further.
        """
        grant = self._signer.verify_post_fields(fields)
        validate_key(grant.key)
        lowered = {name.lower(): value for name, value in fields.items()}
        content_type = grant.limit("content_type") or lowered.get("content-type")
        max_bytes = int(grant.limit("max_bytes") or 0)
        if declared_length is not None and declared_length > max_bytes:
            raise UploadTooLarge("declared size is over the limit", max_bytes=max_bytes)
        return self._store(grant.key, _chunks(body), content_type=content_type, limit=max_bytes)

    def presign_download(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        validate_key(key)
        if filename is not None and any(ord(c) < 0x20 or c in '"\\' for c in filename):
            raise InvalidParameter("filename holds a quote, backslash or control character")
        grant = Grant.of("GET", key, self._signer.expiry(expires_in), filename=filename)
        return f"{self._base_url}{DOWNLOAD_PATH}?{urlencode(self._signer.query(grant))}"

    def verify_download(self, query: Mapping[str, str]) -> str:
        """The key a download URL grants, once signed and unexpired; its ``filename``
        parameter, if any, is covered by the signature too."""
        grant = self._signer.verify_query("GET", query, ("filename",))
        return validate_key(grant.key)

    # -- multipart --------------------------------------------------------------------------

    def start_multipart(self, key: str, *, content_type: str | None) -> str:
        validate_key(key)
        upload_id = secrets.token_hex(16)
        directory = self._multipart / upload_id
        directory.mkdir()
        manifest = {"key": key, "content_type": content_type}
        (directory / "upload.json").write_text(json.dumps(manifest), "utf-8")
        return upload_id

    def presign_part(self, key: str, upload_id: str, part_number: int, *, expires_in: int) -> str:
        validate_key(key)
        check_part_number(part_number)
        expiry = self._signer.expiry(expires_in)
        grant = Grant.of("PUT", key, expiry, upload_id=upload_id, part_number=part_number)
        return f"{self._base_url}{PART_PATH}?{urlencode(self._signer.query(grant))}"

    def accept_part(self, url_query: Mapping[str, str], body: Body) -> str:
        """Check a part URL's signature and store the part; return its etag (hex MD5)."""
        grant = self._signer.verify_query("PUT", url_query, ("upload_id", "part_number"))
        directory, _ = self._upload(grant.key, grant.limit("upload_id") or "")
        part_number = int(grant.limit("part_number") or 0)
        check_part_number(part_number)
        _, etag, temp = self._spool(_chunks(body), limit=MAX_PART_BYTES)
        part = directory / f"part-{part_number:05d}"
        try:
            temp.replace(part)
        except FileNotFoundError as exc:  # aborted while the part streamed in
            temp.unlink(missing_ok=True)
            raise BlobNotFound("no such multipart upload", key=grant.key) from exc
        # Written after the part: a part without its etag file counts as never uploaded.
        (directory / f"{part.name}.etag").write_text(etag, "ascii")
        return etag

    def complete_multipart(
        self, key: str, upload_id: str, parts: builtins.list[CompletedPart]
    ) -> BlobInfo:
        directory, content_type = self._upload(key, upload_id)
        if not parts:
            raise InvalidParameter("a multipart upload needs at least one part")
        numbers = [part.part_number for part in parts]
        if numbers != sorted(set(numbers)):
            raise InvalidParameter("parts must be in ascending order without repeats")
        paths: builtins.list[Path] = []
        digests = b""
        for index, part in enumerate(parts):
            path = directory / f"part-{part.part_number:05d}"
            try:
                stored = (directory / f"{path.name}.etag").read_text("ascii")
                size = path.stat().st_size
            except FileNotFoundError as exc:
                raise InvalidParameter("part was never uploaded", part=part.part_number) from exc
            if normalise_etag(part.etag) != stored:
                raise InvalidParameter("part etag does not match", part=part.part_number)
            if size < MIN_PART_BYTES and index < len(parts) - 1:
                raise InvalidParameter("a part before the last is under 5 MiB", part=index + 1)
            paths.append(path)
            digests += bytes.fromhex(stored)
        etag = f"{hashlib.md5(digests).hexdigest()}-{len(parts)}"
        info = self._store(key, self._concatenate(paths), content_type, etag=etag, limit=None)
        shutil.rmtree(directory, ignore_errors=True)
        return info

    def abort_multipart(self, key: str, upload_id: str) -> None:
        if _UPLOAD_ID.fullmatch(upload_id):
            shutil.rmtree(self._multipart / upload_id, ignore_errors=True)

    # -- internals --------------------------------------------------------------------------

    def _object_path(self, key: str) -> Path:
        segments = validate_key(key).split("/")
        if max(len(segment.encode()) for segment in segments) > MAX_SEGMENT_BYTES:
            raise InvalidParameter("a key segment is too long for a file name", key=key)
        path = self._objects.joinpath(*segments)
        # validate_key already refuses '..'; this also catches a symlink planted in the tree.
        if not path.resolve().is_relative_to(self._objects):
            raise InvalidParameter("key resolves outside the store", key=key)
        return path

    def _meta_path(self, key: str) -> Path:
        *folders, name = key.split("/")
        return self._meta.joinpath(*folders, f"{name}.json")

    def _upload(self, key: str, upload_id: str) -> tuple[Path, str | None]:
        directory = self._multipart / upload_id
        try:
            if not _UPLOAD_ID.fullmatch(upload_id):
                raise FileNotFoundError(upload_id)
            manifest = json.loads((directory / "upload.json").read_text("utf-8"))
        except FileNotFoundError as exc:
            raise BlobNotFound("no such multipart upload", upload_id=upload_id) from exc
        if manifest["key"] != key:
            raise BlobNotFound("no such multipart upload for this key", upload_id=upload_id)
        return directory, manifest["content_type"]

    @staticmethod
    def _concatenate(paths: builtins.list[Path]) -> Iterator[bytes]:
        for path in paths:
            with path.open("rb") as stream:
                yield from _chunks(stream)

    def _spool(self, chunks: Iterator[bytes], *, limit: int | None) -> tuple[int, str, Path]:
        """Write ``chunks`` to a staging file; return (size, md5 hex, path). Stops reading,
        and removes the file, as soon as ``limit`` is passed."""
        digest = hashlib.md5()
        size = 0
        handle, name = tempfile.mkstemp(dir=self._staging)
        temp = Path(name)
        try:
            with os.fdopen(handle, "wb") as stream:
                for chunk in chunks:
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise UploadTooLarge("body is over the limit", max_bytes=limit)
                    digest.update(chunk)
                    stream.write(chunk)
                stream.flush()
                os.fsync(stream.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return size, digest.hexdigest(), temp

    def _store(
        self,
        key: str,
        chunks: Iterator[bytes],
        content_type: str | None,
        *,
        limit: int | None,
        etag: str | None = None,
    ) -> BlobInfo:
        path = self._object_path(key)
        if path.is_dir():
            raise InvalidParameter("key clashes with a prefix of other objects", key=key)
        _, md5, temp = self._spool(chunks, limit=limit)
        meta_temp = self._staging / f"{temp.name}.json"
        meta = self._meta_path(key)
        try:
            meta_temp.write_text(json.dumps({"etag": etag or md5, "content_type": content_type}))
            # A delete of a neighbour may prune a folder between mkdir and rename; try again.
            for attempt in range(3):
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    meta.parent.mkdir(parents=True, exist_ok=True)
                    meta_temp.replace(meta)
                    temp.replace(path)
                    break
                except FileNotFoundError:
                    if attempt == 2:
                        raise
        except (NotADirectoryError, FileExistsError, IsADirectoryError) as exc:
            raise InvalidParameter("key clashes with an object's path", key=key) from exc
        finally:
            temp.unlink(missing_ok=True)
            meta_temp.unlink(missing_ok=True)
        return self.head(key)

    @staticmethod
    def _prune(directory: Path, stop: Path) -> None:
        # Empty directories left by deletes would otherwise pile up and slow every listing.
        while directory != stop:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent
