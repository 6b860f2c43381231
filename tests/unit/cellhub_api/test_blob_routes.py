"""The local blob endpoints: presigned POST uploads, part PUTs and signed downloads."""

from __future__ import annotations

import hashlib
import io
import json
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from PIL import Image as PILImage

from cellhub.adapters.local.url_signing import Grant, UrlSigner
from cellhub.domain.images import ImageStatus
from cellhub.domain.projects import Project
from cellhub.ports.blob_store import MIN_PART_BYTES
from cellhub.services.storage_events import created_objects
from cellhub.services.thumbnails import ThumbnailService
from cellhub.services.uploads import UploadService
from cellhub_api.app import create_app
from cellhub_api.container import HubServices
from cellhub_local.wiring import build_local_services

from .conftest import PUBLIC_URL, SignUp


def png_bytes(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("L", (width, height), color=128).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def owner(services: HubServices, sign_up: SignUp) -> tuple[dict[str, str], str]:
    """The owner's headers and a project of theirs."""
    user_id, headers = sign_up("owner@example.org")
    project = Project.new("Cells", user_id)
    services.projects.create(project)
    return headers, project.id


def plan_one(
    client: TestClient, owner: tuple[dict[str, str], str], name: str, size: int
) -> dict[str, Any]:
    headers, project_id = owner
    files = [{"name": name, "size": size, "content_type": "image/png"}]
    reply = client.post(f"/projects/{project_id}/uploads", json={"files": files}, headers=headers)
    assert reply.status_code == 201, reply.text
    planned: dict[str, Any] = reply.json()["uploads"][0]
    return planned


def post_file(client: TestClient, post: dict[str, Any], data: bytes) -> Any:
    return client.post(post["url"], data=post["fields"], files={"file": ("x.png", data)})


def test_a_posted_upload_becomes_a_ready_image_with_a_thumbnail(
    client: TestClient, services: HubServices, owner: tuple[dict[str, str], str]
) -> None:
    data = png_bytes()
    planned = plan_one(client, owner, "cells.png", len(data))
    assert post_file(client, planned["post"], data).status_code == 204
    headers, project_id = owner
    detail = client.get(f"/projects/{project_id}/images/{planned['image_id']}", headers=headers)
    body = detail.json()
    assert (body["status"], body["width"], body["height"]) == ("ready", 40, 30)
    thumbnail = client.get(body["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    original = client.get(body["original_url"])
    assert original.content == data
    assert 'filename="cells.png"' in original.headers["content-disposition"]


def test_a_tampered_form_is_refused_with_403(
    client: TestClient, services: HubServices, owner: tuple[dict[str, str], str]
) -> None:
    data = png_bytes()
    planned = plan_one(client, owner, "cells.png", len(data))
    moved = {**planned["post"], "fields": {**planned["post"]["fields"], "key": "projects/x/y"}}
    reply = post_file(client, moved, data)
    assert (reply.status_code, reply.json()["error"]["code"]) == (403, "policy_violation")
    forged = {**planned["post"]["fields"], "x-cellhub-signature": "0" * 64}
    reply = post_file(client, {**planned["post"], "fields": forged}, data)
    assert reply.status_code == 403
    assert not services.blobs.exists(f"projects/{owner[1]}/originals/{planned['image_id']}")


def test_an_oversized_file_is_refused_with_413_and_nothing_is_stored(
    client: TestClient, services: HubServices, owner: tuple[dict[str, str], str]
) -> None:
    data = png_bytes()
    planned = plan_one(client, owner, "cells.png", len(data) - 1)
    reply = post_file(client, planned["post"], data)
    assert (reply.status_code, reply.json()["error"]["code"]) == (413, "upload_too_large")
    image = services.images.get(owner[1], planned["image_id"])
    assert image is not None and image.status is ImageStatus.UPLOADING
    assert not services.blobs.exists(image.blob_key)


def test_a_path_in_a_file_name_never_reaches_the_key(
    client: TestClient, owner: tuple[dict[str, str], str]
) -> None:
    planned = plan_one(client, owner, "../../../etc/passwd.png", 10)
    assert planned["name"] == "passwd.png"
    assert (
        planned["post"]["fields"]["key"] == f"projects/{owner[1]}/originals/{planned['image_id']}"
    )


def test_download_urls_are_checked_for_signature_and_expiry(
    client: TestClient, services: HubServices, data_dir: Path
) -> None:
    services.blobs.put("projects/p/thing", b"bytes")
    url = services.blobs.presign_download("projects/p/thing", expires_in=60)
    assert client.get(url).content == b"bytes"
    tampered = client.get(url.replace("projects%2Fp%2Fthing", "projects%2Fp%2Fother"))
    assert (tampered.status_code, tampered.json()["error"]["code"]) == (403, "signature_invalid")
    secret = json.loads((data_dir / "secrets.json").read_text())["blob_signing"].encode()
    past = UrlSigner(secret, clock=lambda: time.time() - 3600)
    grant = Grant.of("GET", "projects/p/thing", past.expiry(60))
    expired = client.get(f"/blobs/download?{urlencode(past.query(grant))}")
    assert (expired.status_code, expired.json()["error"]["code"]) == (403, "url_expired")


def test_a_multipart_upload_goes_through_part_puts_and_completion(
    services: HubServices, owner: tuple[dict[str, str], str]
) -> None:
    small_parts = UploadService(
        services.images,
        services.blobs,
        services.notifier,
        multipart_threshold=1024,
        part_size=MIN_PART_BYTES,
    )
    with TestClient(create_app(replace(services, uploads=small_parts))) as client:
        noise = PILImage.frombytes("L", (200, 100), random.Random(7).randbytes(20_000))
        buffer = io.BytesIO()
        noise.save(buffer, format="PNG")
        data = buffer.getvalue()
        assert len(data) > 1024
        planned = plan_one(client, owner, "big.png", len(data))
        plan = planned["multipart"]
        assert planned["post"] is None and len(plan["part_urls"]) == 1
        put = client.put(plan["part_urls"][0], content=data)
        assert put.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
        bad = client.put(
            plan["part_urls"][0].replace("part_number=1", "part_number=2"), content=data
        )
        assert bad.status_code == 403
        headers, project_id = owner
        parts = [{"part_number": 1, "etag": put.headers["etag"]}]
        done = client.post(
            f"/projects/{project_id}/uploads/{planned['image_id']}/complete",
            json={"upload_id": plan["upload_id"], "parts": parts},
            headers=headers,
        )
        assert (done.status_code, done.json()["status"]) == (200, "ready")


def test_blob_routes_are_absent_without_the_filesystem_store(services: HubServices) -> None:
    with TestClient(create_app(replace(services, blobs=object()))) as client:  # type: ignore[arg-type]
        assert client.get("/blobs/download?key=a&expires=1&signature=x").status_code == 404


def test_with_a_storage_event_queue_an_upload_is_answered_before_its_thumbnail(
    data_dir: Path, services: HubServices, owner: tuple[dict[str, str], str]
) -> None:
    queued = build_local_services(data_dir, public_url=PUBLIC_URL, queued_storage_events=True)
    app = create_app(replace(services, storage_events=queued.storage_events))
    assert queued.storage_events is not None
    with TestClient(app) as client:
        data = png_bytes()
        planned = plan_one(client, owner, "cells.png", len(data))
        assert post_file(client, planned["post"], data).status_code == 204
        # A retried POST of the same bytes raises no second event (deduplicated on the etag).
        assert post_file(client, planned["post"], data).status_code == 204
        headers, project_id = owner
        image = client.get(f"/projects/{project_id}/images/{planned['image_id']}", headers=headers)
        assert image.json()["status"] == "uploading"
        (message,) = queued.storage_events.receive(max_messages=10)
        (created,) = created_objects(message.body)
        assert created.key == planned["post"]["fields"]["key"]
        assert created.etag == hashlib.md5(data).hexdigest()
        thumbnails = ThumbnailService(services.images, services.blobs, services.notifier)
        thumbnails.handle_object_created(created.key, created.etag)
        image = client.get(f"/projects/{project_id}/images/{planned['image_id']}", headers=headers)
        assert image.json()["status"] == "ready"
