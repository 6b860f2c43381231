"""The local blob store's presigned endpoints: S3's stand-in for POST uploads, parts, downloads.

Only the filesystem store signs URLs that point here; with any other store these routes
answer 404. Signature, expiry and policy failures come from the store as ``AccessDenied``
(403); a body over its signed limit as ``UploadTooLarge`` (413), with nothing stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, BinaryIO
from urllib.parse import quote

import anyio.from_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cellhub.adapters.local.filesystem_blobs import (
    CHUNK_BYTES,
    DOWNLOAD_PATH,
    PART_PATH,
    UPLOAD_PATH,
    FilesystemBlobStore,
)
from cellhub.errors import InputNotFound, InvalidParameter, UploadTooLarge
from cellhub.settings import get_settings
from cellhub_api.container import HubServices
from cellhub_api.deps import Services

router = APIRouter(tags=["blobs"], include_in_schema=False)

# Room for the policy fields and multipart framing around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
FILE_FIELD = "file"


def local_blob_store(services: Services) -> FilesystemBlobStore:
    if not isinstance(services.blobs, FilesystemBlobStore):
        raise InputNotFound("this hub stores blobs elsewhere")
    return services.blobs


LocalBlobs = Annotated[FilesystemBlobStore, Depends(local_blob_store)]


def object_created(services: HubServices, key: str, *, etag: str, size: int) -> None:
    """Raise the storage event S3 would raise for a new object at ``key``.

    With a storage-event queue the event is queued for the thumbnail pump, as S3 sends it to
    SQS (deduplicated on key and etag, so a retried upload is one event); without one the
    thumbnail step runs now. Blocking; call it from a worker thread.
    """
    # The image decoders load with the first upload; the cloud never serves these routes.
    from cellhub.services.storage_events import object_created_notification
    from cellhub.services.thumbnails import ThumbnailService

    if services.storage_events is None:
        thumbnails = ThumbnailService(services.images, services.blobs, services.notifier)
        thumbnails.handle_object_created(key, etag)
        return
    services.storage_events.send(
        object_created_notification(key, etag=etag, size=size),
        deduplication_id=f"{key}:{etag}",
    )


@router.post(UPLOAD_PATH, status_code=204)
async def post_upload(request: Request, store: LocalBlobs, services: Services) -> Response:
    """A presigned POST: the policy fields, then the bytes as the ``file`` field."""
    length = _content_length(request)
    # The form is spooled (to disk past 1 MiB) before the policy can be read, so the
    # request as a whole is capped first by the largest file any policy may allow.
    if length > get_settings().max_upload_bytes + FORM_OVERHEAD_BYTES:
        raise UploadTooLarge("request is over the upload limit")
    async with request.form(max_files=1, max_fields=32) as form:
        upload = form.get(FILE_FIELD)
        if not isinstance(upload, UploadFile):
            raise InvalidParameter("the form needs a file field named 'file'")
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
        info = await run_in_threadpool(
            store.accept_post_upload, fields, upload.file, declared_length=upload.size
        )
    await run_in_threadpool(object_created, services, info.key, etag=info.etag, size=info.size)
    return Response(status_code=204, headers={"ETag": f'"{info.etag}"'})


@router.put(PART_PATH)
async def put_part(request: Request, store: LocalBlobs) -> Response:
    """One part of a multipart upload, streamed to the store; answers its ETag."""
    query = dict(request.query_params)
    etag = await run_in_threadpool(store.accept_part, query, _blocking_chunks(request.stream()))
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


@router.get(DOWNLOAD_PATH)
def download(request: Request, store: LocalBlobs) -> StreamingResponse:
    """The object a signed download URL grants, as an attachment when a filename was signed."""
    query = dict(request.query_params)
    key = store.verify_download(query)
    info = store.head(key)
    stream = store.open(key)
    headers = {"Content-Length": str(info.size), "ETag": f'"{info.etag}"'}
    filename = query.get("filename")
    if filename:
        headers["Content-Disposition"] = _attachment(filename)
    return StreamingResponse(
        _file_chunks(stream),
        media_type=info.content_type or "application/octet-stream",
        headers=headers,
    )


def _content_length(request: Request) -> int:
    # Like S3, a POST upload must state its length, so a size cap holds before any read.
    try:
        length = int(request.headers["content-length"])
    except (KeyError, ValueError) as exc:
        raise InvalidParameter("an upload needs a Content-Length header") from exc
    if length < 0:
        raise InvalidParameter("Content-Length is negative")
    return length


def _blocking_chunks(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request body for a worker thread: each chunk is awaited on the event loop."""
    while True:
        try:
            chunk: bytes = anyio.from_thread.run(_next_chunk, stream)
        except StopAsyncIteration:
            return
        if chunk:
            yield chunk


async def _next_chunk(stream: AsyncIterator[bytes]) -> bytes:
    return await anext(stream)


def _file_chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk


def _attachment(filename: str) -> str:
    """A Content-Disposition header value that survives any Unicode name (RFC 6266)."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
