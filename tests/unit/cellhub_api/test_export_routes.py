"""Export routes: request (queued + message), follow, cancel, signed download, access."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.domain.images import Image, ImageStatus
from cellhub.domain.projects import Project, Role
from cellhub.errors import SignatureInvalid
from cellhub_api.container import HubServices

from .conftest import AddMember, Headers, SignUp

SIZE = 64


@dataclass
class Hub:
    services: HubServices
    client: TestClient
    owner: Headers
    project_id: str

    def url(self, suffix: str = "") -> str:
        return f"/projects/{self.project_id}/exports{suffix}"


@pytest.fixture
def hub(services: HubServices, client: TestClient, sign_up: SignUp) -> Hub:
    owner_id, owner = sign_up("owner@example.org")
    project = Project.new("Cells", owner_id)
    services.projects.create(project)
    for name in ("a.png", "b.png"):
        image = Image.new(project.id, name, size=10, content_type="image/png", blob_key="o")
        services.images.add_many([image])
        services.images.update_status(
            image.id, [ImageStatus.UPLOADING], ImageStatus.READY,
            width=SIZE, height=SIZE, channels=1, dtype="uint8",
        )  # fmt: skip
        ring = [[4, 4], [20, 4], [20, 20], [4, 20]]
        services.editing.save(
            project.id, image.id, base_version=0, polygons=[{"exterior": ring}], user_id=owner_id
        )
    return Hub(services, client, owner, project.id)


def local_blobs(hub: Hub) -> FilesystemBlobStore:
    blobs = hub.services.blobs
    assert isinstance(blobs, FilesystemBlobStore)
    return blobs


def request_export(hub: Hub, **fields: Any) -> dict[str, Any]:
    body = {"formats": ["coco", "csv"], "image_ids": None, "pixel_size_um": 0.5, **fields}
    response = hub.client.post(hub.url(), json=body, headers=hub.owner)
    assert response.status_code == 202, response.text
    export: dict[str, Any] = response.json()
    return export


def test_create_queues_a_message_and_a_run_makes_a_signed_download(hub: Hub) -> None:
    export = request_export(hub)
    assert export["state"] == "queued" and export["formats"] == ["coco", "csv"]
    [message] = hub.services.export_queue.receive()
    assert json.loads(message.body) == {
        "schema": "cellhub.export/1",
        "export_id": export["id"],
        "project_id": hub.project_id,
    }
    not_ready = hub.client.get(hub.url(f"/{export['id']}/download"), headers=hub.owner)
    assert not_ready.status_code == 409 and not_ready.json()["error"]["code"] == "conflict"

    hub.services.exports.run(export["id"], hub.project_id)  # the export handler's work

    followed = hub.client.get(hub.url(f"/{export['id']}"), headers=hub.owner).json()
    assert followed["state"] == "done" and followed["progress"] == 1.0
    download = hub.client.get(hub.url(f"/{export['id']}/download"), headers=hub.owner)
    assert download.status_code == 200
    link = download.json()
    query = dict(parse_qsl(urlsplit(link["url"]).query))
    assert "signature" in query and "expires" in query
    key = local_blobs(hub).verify_download(query)
    assert key.endswith(".zip") and hub.services.blobs.exists(key)
    link_expiry = datetime.fromisoformat(link["expires_at"])
    assert link_expiry <= datetime.fromisoformat(followed["expires_at"])


def test_a_tampered_download_url_does_not_verify(hub: Hub) -> None:
    export = request_export(hub)
    hub.services.exports.run(export["id"], hub.project_id)
    link = hub.client.get(hub.url(f"/{export['id']}/download"), headers=hub.owner).json()
    query = dict(parse_qsl(urlsplit(link["url"]).query))
    query["key"] = query["key"].replace(".zip", "-other.zip")
    with pytest.raises(SignatureInvalid):
        local_blobs(hub).verify_download(query)


def test_cancel_stops_a_queued_export(hub: Hub) -> None:
    export = request_export(hub, image_ids=None)
    response = hub.client.post(hub.url(f"/{export['id']}/cancel"), headers=hub.owner)
    assert response.status_code == 200
    assert response.json()["cancelled"] is True
    assert response.json()["export"]["state"] == "cancelled"
    again = hub.client.post(hub.url(f"/{export['id']}/cancel"), headers=hub.owner)
    assert again.json()["cancelled"] is False
    download = hub.client.get(hub.url(f"/{export['id']}/download"), headers=hub.owner)
    assert download.status_code == 409


@pytest.mark.parametrize(
    "fields",
    [{"formats": ["coco", "tiff-stack"]}, {"formats": []}, {"pixel_size_um": -1.0}],
)
def test_bad_requests_are_422_and_queue_nothing(hub: Hub, fields: dict[str, Any]) -> None:
    body = {"formats": ["coco"], "image_ids": None, "pixel_size_um": None, **fields}
    response = hub.client.post(hub.url(), json=body, headers=hub.owner)
    assert response.status_code == 422
    assert hub.services.export_queue.receive() == []


def test_an_unknown_export_is_404(hub: Hub) -> None:
    assert hub.client.get(hub.url("/nope"), headers=hub.owner).status_code == 404


def test_a_viewer_follows_and_downloads_but_cannot_create_or_cancel(
    hub: Hub, sign_up: SignUp, member: AddMember
) -> None:
    viewer_id, viewer = sign_up("viewer@example.org")
    member(hub.project_id, viewer_id, Role.VIEWER)
    export = request_export(hub)
    body = {"formats": ["coco"], "image_ids": None, "pixel_size_um": None}
    assert hub.client.post(hub.url(), json=body, headers=viewer).status_code == 403
    cancel = hub.client.post(hub.url(f"/{export['id']}/cancel"), headers=viewer)
    assert cancel.status_code == 403
    hub.services.exports.run(export["id"], hub.project_id)
    assert hub.client.get(hub.url(f"/{export['id']}"), headers=viewer).status_code == 200
    download = hub.client.get(hub.url(f"/{export['id']}/download"), headers=viewer)
    assert download.status_code == 200


def test_a_non_member_gets_404_on_every_route(hub: Hub, sign_up: SignUp) -> None:
    export = request_export(hub)
    hub.services.exports.run(export["id"], hub.project_id)
    _, stranger = sign_up("stranger@example.org")
    body = {"formats": ["coco"], "image_ids": None, "pixel_size_um": None}
    responses = [
        hub.client.post(hub.url(), json=body, headers=stranger),
        hub.client.get(hub.url(f"/{export['id']}"), headers=stranger),
        hub.client.post(hub.url(f"/{export['id']}/cancel"), headers=stranger),
        hub.client.get(hub.url(f"/{export['id']}/download"), headers=stranger),
    ]
    assert [r.status_code for r in responses] == [404] * 4
