"""Segmentation routes (read versions, save edits, conflicts, revert) and the model list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cellhub.domain.images import Image, ImageStatus
from cellhub.domain.projects import Project, Role
from cellhub_api.container import HubServices

from .conftest import AddMember, Headers, SignUp

SIZE = 64


@dataclass
class Hub:
    services: HubServices
    client: TestClient
    owner: Headers
    project_id: str
    image_id: str

    def url(self, suffix: str = "") -> str:
        return f"/projects/{self.project_id}/images/{self.image_id}/segmentation{suffix}"


def square(x: float, y: float, side: float, polygon_id: int = 0) -> dict[str, Any]:
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side]]
    return {"id": polygon_id, "exterior": ring, "holes": [], "class": "object"}


@pytest.fixture
def hub(services: HubServices, client: TestClient, sign_up: SignUp) -> Hub:
    owner_id, owner = sign_up("owner@example.org")
    project = Project.new("Cells", owner_id)
    services.projects.create(project)
    image = Image.new(project.id, "a.png", size=10, content_type="image/png", blob_key="o/a")
    services.images.add_many([image])
    services.images.update_status(
        image.id, [ImageStatus.UPLOADING], ImageStatus.READY,
        width=SIZE, height=SIZE, channels=1, dtype="uint8",
    )  # fmt: skip
    services.editing.save(
        project.id, image.id, base_version=0, polygons=[square(4, 4, 10)], user_id=owner_id
    )
    return Hub(services, client, owner, project.id, image.id)


def test_get_latest_returns_document_metrics_and_etag(hub: Hub) -> None:
    response = hub.client.get(hub.url(), headers=hub.owner)
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    body = response.json()
    assert body["version"]["version"] == 1 and body["version"]["source"] == "manual"
    assert body["document"]["schema"] == "cellhub.segmentation/1"
    assert len(body["document"]["polygons"]) == 1
    assert body["metrics"][0]["area_px2"] == pytest.approx(100.0)


def test_save_on_the_latest_version_stores_the_next_with_new_metrics(hub: Hub) -> None:
    body = {"polygons": [square(4, 4, 20), square(40, 40, 5)], "base_version": 1}
    response = hub.client.put(hub.url(), json=body, headers=hub.owner)
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["version"]["version"] == 2 and response.headers["ETag"] == '"2"'
    assert [row["area_px2"] for row in saved["metrics"]] == pytest.approx([400.0, 25.0])
    latest = hub.client.get(hub.url(), headers=hub.owner).json()
    assert latest["version"]["object_count"] == 2


def test_stale_base_is_409_with_the_current_version(hub: Hub) -> None:
    first = {"polygons": [square(4, 4, 20)], "base_version": 1}
    assert hub.client.put(hub.url(), json=first, headers=hub.owner).status_code == 200
    stale = {"polygons": [square(8, 8, 20)], "base_version": 1}
    response = hub.client.put(hub.url(), json=stale, headers=hub.owner)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "version_conflict" and error["details"]["current_version"] == 2


def test_if_match_header_names_the_base_version(hub: Hub) -> None:
    etag = hub.client.get(hub.url(), headers=hub.owner).headers["ETag"]
    body = {"polygons": [square(4, 4, 30)]}
    saved = hub.client.put(hub.url(), json=body, headers={**hub.owner, "If-Match": etag})
    assert saved.status_code == 200 and saved.json()["version"]["version"] == 2
    stale = hub.client.put(hub.url(), json=body, headers={**hub.owner, "If-Match": etag})
    assert stale.status_code == 409
    assert stale.json()["error"]["details"]["current_version"] == 2


def test_a_save_without_any_base_version_is_422(hub: Hub) -> None:
    response = hub.client.put(hub.url(), json={"polygons": []}, headers=hub.owner)
    assert response.status_code == 422


@pytest.mark.parametrize(
    "polygon",
    [
        {"exterior": [[0, 0], [1, 1]]},  # too few vertices
        {"exterior": [[0, 0], [5, 5], [10, 10]]},  # zero area
        {"exterior": [[0, 0], [500, 0], [500, 500]]},  # far outside the 64 x 64 image
        {"exterior": "not a ring"},
    ],
)
def test_invalid_polygons_are_422(hub: Hub, polygon: dict[str, Any]) -> None:
    body = {"polygons": [polygon], "base_version": 1}
    response = hub.client.put(hub.url(), json=body, headers=hub.owner)
    assert response.status_code == 422
    assert hub.client.get(hub.url(), headers=hub.owner).json()["version"]["version"] == 1


def test_versions_are_listed_and_readable_and_revert_restores_one(hub: Hub) -> None:
    body = {"polygons": [square(4, 4, 20), square(40, 40, 5)], "base_version": 1}
    hub.client.put(hub.url(), json=body, headers=hub.owner)
    versions = hub.client.get(hub.url("/versions"), headers=hub.owner).json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    first = hub.client.get(hub.url("/versions/1"), headers=hub.owner)
    assert first.headers["ETag"] == '"1"' and len(first.json()["document"]["polygons"]) == 1
    reverted = hub.client.post(
        hub.url("/revert"), json={"to_version": 1, "base_version": 2}, headers=hub.owner
    )
    assert reverted.status_code == 200, reverted.text
    assert reverted.json()["version"]["version"] == 3
    assert [row["area_px2"] for row in reverted.json()["metrics"]] == pytest.approx([100.0])
    stale = hub.client.post(
        hub.url("/revert"), json={"to_version": 1, "base_version": 2}, headers=hub.owner
    )
    assert stale.status_code == 409


def test_a_missing_version_is_404(hub: Hub) -> None:
    assert hub.client.get(hub.url("/versions/9"), headers=hub.owner).status_code == 404


def test_a_viewer_reads_but_cannot_save_or_revert(
    hub: Hub, sign_up: SignUp, member: AddMember
) -> None:
    viewer_id, viewer = sign_up("viewer@example.org")
    member(hub.project_id, viewer_id, Role.VIEWER)
    assert hub.client.get(hub.url(), headers=viewer).status_code == 200
    body = {"polygons": [square(4, 4, 20)], "base_version": 1}
    assert hub.client.put(hub.url(), json=body, headers=viewer).status_code == 403
    revert = {"to_version": 1, "base_version": 1}
    assert hub.client.post(hub.url("/revert"), json=revert, headers=viewer).status_code == 403


def test_an_editor_can_save(hub: Hub, sign_up: SignUp, member: AddMember) -> None:
    editor_id, editor = sign_up("editor@example.org")
    member(hub.project_id, editor_id, Role.EDITOR)
    body = {"polygons": [square(4, 4, 20)], "base_version": 1}
    assert hub.client.put(hub.url(), json=body, headers=editor).status_code == 200


def test_a_non_member_gets_404_on_every_route(hub: Hub, sign_up: SignUp) -> None:
    _, stranger = sign_up("stranger@example.org")
    body = {"polygons": [square(4, 4, 20)], "base_version": 1}
    revert = {"to_version": 1, "base_version": 1}
    responses = [
        hub.client.get(hub.url(), headers=stranger),
        hub.client.get(hub.url("/versions"), headers=stranger),
        hub.client.get(hub.url("/versions/1"), headers=stranger),
        hub.client.put(hub.url(), json=body, headers=stranger),
        hub.client.post(hub.url("/revert"), json=revert, headers=stranger),
    ]
    assert [r.status_code for r in responses] == [404] * 5


def test_an_anonymous_caller_gets_401(hub: Hub) -> None:
    assert hub.client.get(hub.url()).status_code == 401


def test_models_lists_classical_first_without_server_paths(hub: Hub) -> None:
    assert hub.client.get("/models").status_code == 401
    response = hub.client.get("/models", headers=hub.owner)
    assert response.status_code == 200
    models = response.json()["models"]
    assert models[0]["name"] == "classical" and models[0]["kind"] == "classical"
    assert all("path" not in model for model in models)
