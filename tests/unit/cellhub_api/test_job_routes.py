"""Segmentation job routes: start a job, read its counts, cancel it, and who may do which."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image as PILImage

from cellhub.domain.images import ImageStatus
from cellhub.domain.projects import Project, Role
from cellhub_api.container import HubServices

from .conftest import AddMember, Headers, SignUp


@pytest.fixture
def project(
    client: TestClient, services: HubServices, sign_up: SignUp, member: AddMember
) -> tuple[str, list[str], Headers, Headers, Headers]:
    """A project with two ready images, and its owner's, a viewer's and a stranger's headers."""
    owner_id, owner_headers = sign_up("owner@example.org")
    viewer_id, viewer_headers = sign_up("viewer@example.org")
    _, stranger_headers = sign_up("stranger@example.org")
    created = Project.new("Cells", owner_id)
    services.projects.create(created)
    member(created.id, viewer_id, Role.VIEWER)
    buffer = io.BytesIO()
    PILImage.new("L", (16, 12), color=9).save(buffer, format="PNG")
    data = buffer.getvalue()
    files = [{"name": n, "size": len(data), "content_type": "image/png"} for n in ("a", "b.png")]
    plan = client.post(
        f"/projects/{created.id}/uploads", json={"files": files}, headers=owner_headers
    )
    ids = []
    for planned in plan.json()["uploads"]:
        post: dict[str, Any] = planned["post"]
        client.post(post["url"], data=post["fields"], files={"file": ("f", data)})
        ids.append(planned["image_id"])
    return created.id, ids, owner_headers, viewer_headers, stranger_headers


def statuses(services: HubServices, project_id: str, ids: list[str]) -> list[ImageStatus]:
    images = [services.images.get(project_id, i) for i in ids]
    return [i.status for i in images if i is not None]


def test_a_segmentation_request_queues_the_images_and_answers_202(
    client: TestClient,
    services: HubServices,
    project: tuple[str, list[str], Headers, Headers, Headers],
) -> None:
    project_id, ids, owner, _, _ = project
    reply = client.post(f"/projects/{project_id}/segmentations", json={}, headers=owner)
    assert reply.status_code == 202, reply.text
    job = reply.json()
    assert (job["state"], job["model"], job["threshold"]) == ("queued", "classical", 0.5)
    assert job["counts"] == {"total": 2, "done": 0, "failed": 0, "finished": False}
    assert statuses(services, project_id, ids) == [ImageStatus.QUEUED] * 2
    [message] = services.segment_queue.receive(max_messages=10)
    body = json.loads(message.body)
    assert body["job_id"] == job["id"] and sorted(body["image_ids"]) == sorted(ids)


def test_a_job_can_be_read_and_cancelled(
    client: TestClient,
    services: HubServices,
    project: tuple[str, list[str], Headers, Headers, Headers],
) -> None:
    project_id, ids, owner, viewer, _ = project
    body = {"image_ids": ids[:1], "model": "classical", "threshold": 0.3}
    job = client.post(f"/projects/{project_id}/segmentations", json=body, headers=owner).json()
    url = f"/projects/{project_id}/jobs/{job['id']}"
    read = client.get(url, headers=viewer).json()
    assert (read["counts"]["total"], read["threshold"]) == (1, 0.3)
    active = client.get(f"/projects/{project_id}/jobs", headers=viewer).json()
    assert [j["id"] for j in active] == [job["id"]]
    cancelled = client.post(f"{url}/cancel", headers=owner)
    assert cancelled.json()["state"] == "cancelled"
    assert statuses(services, project_id, ids) == [ImageStatus.READY] * 2
    assert client.get(f"/projects/{project_id}/jobs", headers=viewer).json() == []


def test_nothing_to_segment_is_refused(
    client: TestClient, project: tuple[str, list[str], Headers, Headers, Headers]
) -> None:
    project_id, _, owner, _, _ = project
    url = f"/projects/{project_id}/segmentations"
    assert client.post(url, json={}, headers=owner).status_code == 202
    again = client.post(url, json={}, headers=owner)
    assert (again.status_code, again.json()["error"]["code"]) == (422, "invalid_parameter")
    missing = client.post(url, json={"image_ids": ["nope"]}, headers=owner)
    assert missing.status_code == 404
    assert client.get(f"/projects/{project_id}/jobs/nope", headers=owner).status_code == 404


def test_a_viewer_cannot_start_or_cancel_and_a_stranger_sees_nothing(
    client: TestClient, project: tuple[str, list[str], Headers, Headers, Headers]
) -> None:
    project_id, _, owner, viewer, stranger = project
    base = f"/projects/{project_id}"
    job = client.post(f"{base}/segmentations", json={}, headers=owner).json()
    assert client.post(f"{base}/segmentations", json={}, headers=viewer).status_code == 403
    assert client.post(f"{base}/jobs/{job['id']}/cancel", headers=viewer).status_code == 403
    replies = [
        client.post(f"{base}/segmentations", json={}, headers=stranger),
        client.get(f"{base}/jobs", headers=stranger),
        client.get(f"{base}/jobs/{job['id']}", headers=stranger),
        client.post(f"{base}/jobs/{job['id']}/cancel", headers=stranger),
    ]
    assert [r.status_code for r in replies] == [404] * 4
