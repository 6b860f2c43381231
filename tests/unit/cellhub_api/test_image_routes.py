"""Image routes: upload plans, listing with filters and cursors, detail, deletion and access."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image as PILImage

from cellhub.domain.projects import Project, Role
from cellhub_api.container import HubServices

from .conftest import AddMember, Headers, SignUp


@pytest.fixture
def project(
    services: HubServices, sign_up: SignUp, member: AddMember
) -> tuple[str, Headers, Headers, Headers]:
    """A project id with its owner's, a viewer's and a stranger's headers."""
    owner_id, owner_headers = sign_up("owner@example.org")
    viewer_id, viewer_headers = sign_up("viewer@example.org")
    _, stranger_headers = sign_up("stranger@example.org")
    created = Project.new("Cells", owner_id)
    services.projects.create(created)
    member(created.id, viewer_id, Role.VIEWER)
    return created.id, owner_headers, viewer_headers, stranger_headers


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("L", (16, 12), color=9).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(client: TestClient, project_id: str, headers: Headers, *names: str) -> list[str]:
    """Upload a small PNG under each name; return the image ids."""
    data = png_bytes()
    files = [{"name": n, "size": len(data), "content_type": "image/png"} for n in names]
    plan = client.post(f"/projects/{project_id}/uploads", json={"files": files}, headers=headers)
    assert plan.status_code == 201, plan.text
    ids = []
    for planned in plan.json()["uploads"]:
        post: dict[str, Any] = planned["post"]
        sent = client.post(post["url"], data=post["fields"], files={"file": ("f", data)})
        assert sent.status_code == 204
        ids.append(planned["image_id"])
    return ids


def test_a_plan_creates_uploading_images(
    client: TestClient, project: tuple[str, Headers, Headers, Headers]
) -> None:
    project_id, owner, _, _ = project
    files = [{"name": "a.png", "size": 10, "content_type": "image/png"}]
    plan = client.post(f"/projects/{project_id}/uploads", json={"files": files}, headers=owner)
    image_id = plan.json()["uploads"][0]["image_id"]
    detail = client.get(f"/projects/{project_id}/images/{image_id}", headers=owner).json()
    assert detail["status"] == "uploading" and detail["original_url"] is None


def test_a_plan_refuses_a_type_that_is_not_an_image(
    client: TestClient, project: tuple[str, Headers, Headers, Headers]
) -> None:
    project_id, owner, _, _ = project
    files = [{"name": "a.exe", "size": 10, "content_type": "application/x-msdownload"}]
    reply = client.post(f"/projects/{project_id}/uploads", json={"files": files}, headers=owner)
    assert (reply.status_code, reply.json()["error"]["code"]) == (422, "invalid_parameter")


def test_listing_pages_filters_and_orders(
    client: TestClient, project: tuple[str, Headers, Headers, Headers]
) -> None:
    project_id, owner, viewer, _ = project
    upload(client, project_id, owner, "b.png", "c.png", "a.png")
    files = [{"name": "pending.png", "size": 10, "content_type": "image/png"}]
    client.post(f"/projects/{project_id}/uploads", json={"files": files}, headers=owner)
    url = f"/projects/{project_id}/images"
    first = client.get(url, params={"status": "ready", "order": "name", "limit": 2}, headers=viewer)
    assert [i["name"] for i in first.json()["items"]] == ["a.png", "b.png"]
    cursor = first.json()["next_cursor"]
    rest = client.get(
        url,
        params={"status": "ready", "order": "name", "limit": 2, "cursor": cursor},
        headers=viewer,
    ).json()
    assert [i["name"] for i in rest["items"]] == ["c.png"] and rest["next_cursor"] is None
    pending = client.get(url, params={"status": "uploading"}, headers=viewer).json()["items"]
    assert [i["name"] for i in pending] == ["pending.png"]
    everything = client.get(url, params={"order": "-name"}, headers=viewer).json()["items"]
    assert [i["name"] for i in everything] == ["pending.png", "c.png", "b.png", "a.png"]


def test_deleting_an_image_removes_its_record_and_blobs(
    client: TestClient, services: HubServices, project: tuple[str, Headers, Headers, Headers]
) -> None:
    project_id, owner, _, _ = project
    [image_id] = upload(client, project_id, owner, "a.png")
    image = services.images.get(project_id, image_id)
    assert image is not None and image.thumbnail_key is not None
    url = f"/projects/{project_id}/images/{image_id}"
    assert client.delete(url, headers=owner).status_code == 204
    assert client.get(url, headers=owner).status_code == 404
    assert client.delete(url, headers=owner).status_code == 404
    assert not services.blobs.exists(image.blob_key)
    assert not services.blobs.exists(image.thumbnail_key)


def test_batch_delete_counts_only_images_of_the_project(
    client: TestClient, services: HubServices, project: tuple[str, Headers, Headers, Headers]
) -> None:
    project_id, owner, _, _ = project
    ids = upload(client, project_id, owner, "a.png", "b.png", "c.png")
    body = {"image_ids": [*ids[:2], "not-an-image"]}
    reply = client.post(f"/projects/{project_id}/images/delete", json=body, headers=owner)
    assert reply.json() == {"deleted": 2}
    left = client.get(f"/projects/{project_id}/images", headers=owner).json()["items"]
    assert [i["id"] for i in left] == [ids[2]]


def test_a_viewer_reads_but_cannot_upload_or_delete(
    client: TestClient, project: tuple[str, Headers, Headers, Headers]
) -> None:
    project_id, owner, viewer, _ = project
    [image_id] = upload(client, project_id, owner, "a.png")
    files = [{"name": "a.png", "size": 10, "content_type": "image/png"}]
    base = f"/projects/{project_id}"
    assert client.get(f"{base}/images/{image_id}", headers=viewer).status_code == 200
    denied = [
        client.post(f"{base}/uploads", json={"files": files}, headers=viewer),
        client.delete(f"{base}/images/{image_id}", headers=viewer),
        client.post(f"{base}/images/delete", json={"image_ids": [image_id]}, headers=viewer),
    ]
    assert [r.status_code for r in denied] == [403, 403, 403]


def test_a_non_member_gets_404_on_every_image_route(
    client: TestClient, project: tuple[str, Headers, Headers, Headers]
) -> None:
    project_id, owner, _, stranger = project
    [image_id] = upload(client, project_id, owner, "a.png")
    base = f"/projects/{project_id}"
    files = [{"name": "a.png", "size": 10, "content_type": "image/png"}]
    complete = {"upload_id": "0" * 32, "parts": [{"part_number": 1, "etag": "x"}]}
    replies = [
        client.post(f"{base}/uploads", json={"files": files}, headers=stranger),
        client.post(f"{base}/uploads/{image_id}/complete", json=complete, headers=stranger),
        client.get(f"{base}/images", headers=stranger),
        client.get(f"{base}/images/{image_id}", headers=stranger),
        client.delete(f"{base}/images/{image_id}", headers=stranger),
        client.post(f"{base}/images/delete", json={"image_ids": [image_id]}, headers=stranger),
    ]
    assert [r.status_code for r in replies] == [404] * 6
    assert client.get(f"{base}/images").status_code == 401
