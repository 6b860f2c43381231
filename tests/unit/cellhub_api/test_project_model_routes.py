"""``/projects/{id}/models``: the catalogue with the project's own models, starting fine-tuning
and imports (with their refusals), the report once a (fake) runner finished, and deletion."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cellhub.domain.jobs import Job
from cellhub.domain.projects import Project, Role
from cellhub.ports.model_jobs import ModelArtifact, ModelJobOutcome, Progress
from cellhub.services.model_job_worker import ModelJobWorker
from cellhub.services.project_models import ProjectModelCard, ProjectModelStore
from cellhub_api.container import HubServices

from .conftest import AddMember, Headers, SignUp

WEIGHTS = b"imported weights"


class AcceptingRunner:
    """Accepts every model it is asked about, as the torch runner would a good one."""

    def finetune(
        self, job: Job, *, progress: Progress, heartbeat: Callable[[], None]
    ) -> ModelJobOutcome:
        raise AssertionError("not used here")

    def validate_import(
        self, job: Job, *, progress: Progress, heartbeat: Callable[[], None]
    ) -> ModelJobOutcome:
        progress("checked")
        card = ProjectModelCard(
            name=job.model,
            architecture="unet",
            format=job.options["format"],
            origin="imported",
            classes=tuple(job.options["classes"]),
            sha256=hashlib.sha256(WEIGHTS).hexdigest(),
            job_id=job.id,
            created_at=datetime.now(UTC),
        )
        return ModelJobOutcome(True, {"checks": ["ran"]}, ModelArtifact(card, WEIGHTS))


Setup = tuple[str, Headers, Headers, Headers]


@pytest.fixture
def project(services: HubServices, sign_up: SignUp, member: AddMember) -> Setup:
    """A project, its owner's, a viewer's and a stranger's headers."""
    owner_id, owner = sign_up("owner@example.org")
    viewer_id, viewer = sign_up("viewer@example.org")
    _, stranger = sign_up("stranger@example.org")
    created = Project.new("Cells", owner_id)
    services.projects.create(created)
    member(created.id, viewer_id, Role.VIEWER)
    return created.id, owner, viewer, stranger


def upload(client: TestClient, project_id: str, headers: Headers, data: bytes) -> str:
    body = {"filename": "model.onnx", "size": len(data)}
    reply = client.post(f"/projects/{project_id}/models/uploads", json=body, headers=headers)
    assert reply.status_code == 200, reply.text
    post: dict[str, Any] = reply.json()["post"]
    stored = client.post(post["url"], data=post["fields"], files={"file": ("f", data)})
    assert stored.is_success, stored.text
    return str(reply.json()["upload_id"])


def run_worker(services: HubServices) -> None:
    """What a GPU worker does with the queued model-job message."""
    from cellhub.services.segmentation_worker import SegmentationWorker

    store = ProjectModelStore(services.blobs)
    worker = SegmentationWorker(
        services.images,
        services.jobs,
        services.blobs,
        services.notifier,
        lambda project, model: pytest.fail("no segmentation here"),
        model_jobs=ModelJobWorker(services.jobs, services.notifier, store, AcceptingRunner()),
    )
    assert worker.drain(services.segment_queue) == 1


def test_import_then_report_list_and_delete(
    client: TestClient, services: HubServices, project: Setup
) -> None:
    project_id, owner, viewer, _ = project
    base = f"/projects/{project_id}/models"
    upload_id = upload(client, project_id, owner, WEIGHTS)
    body = {"name": "ours", "format": "onnx", "upload_id": upload_id, "classes": ["nucleus"]}
    reply = client.post(f"{base}/import", json=body, headers=owner)
    assert reply.status_code == 202, reply.text
    job = reply.json()
    assert (job["kind"], job["model"], job["counts"]["total"]) == ("import_model", "ours", 2)
    report_url = f"{base}/jobs/{job['id']}/report"
    early = client.get(report_url, headers=viewer)
    assert (early.status_code, early.json()["error"]["code"]) == (404, "not_found")

    run_worker(services)
    report = client.get(report_url, headers=viewer).json()
    assert (report["accepted"], report["model"], report["results"]) == (
        True,
        "ours",
        {"checks": ["ran"]},
    )
    listed = client.get(base, headers=viewer).json()["models"]
    scopes = {model["name"]: model["scope"] for model in listed}
    assert scopes["classical"] == "global" and scopes["ours"] == "project"
    assert listed[-1]["kind"] == "imported" and listed[-1]["classes"] == ["nucleus"]

    assert client.delete(f"{base}/ours", headers=viewer).status_code == 403
    assert client.delete(f"{base}/ours", headers=owner).status_code == 204
    assert client.delete(f"{base}/ours", headers=owner).status_code == 404
    assert "ours" not in {m["name"] for m in client.get(base, headers=viewer).json()["models"]}


def test_finetune_is_queued_once_per_project(
    client: TestClient, services: HubServices, project: Setup
) -> None:
    project_id, owner, _, _ = project
    url = f"/projects/{project_id}/models/finetune"
    reply = client.post(url, json={"base_model": "classical", "name": "mine"}, headers=owner)
    assert reply.status_code == 202, reply.text
    job = reply.json()
    assert (job["kind"], job["options"]["epochs"], job["counts"]["total"]) == ("finetune", 20, 23)
    assert job["options"]["max_images"] == 400
    again = client.post(url, json={"base_model": "classical", "name": "other"}, headers=owner)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "model_job_active")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"base_model": "classical", "name": "classical"}, 409, "model_name_taken"),
        ({"base_model": "nowhere", "name": "mine"}, 422, "unknown_model"),
        ({"base_model": "classical", "name": "Not A Name"}, 422, "invalid_parameter"),
        ({"base_model": "classical", "name": "mine", "epochs": 0}, 422, "invalid_request"),
        ({"base_model": "classical", "name": "mine", "max_images": 1}, 422, "invalid_request"),
        (
            {"base_model": "classical", "name": "mine", "max_images": 100_001},
            422,
            "invalid_request",
        ),
    ],
)
def test_bad_finetune_requests_say_why(
    client: TestClient, project: Setup, body: dict[str, Any], status: int, code: str
) -> None:
    project_id, owner, _, _ = project
    reply = client.post(f"/projects/{project_id}/models/finetune", json=body, headers=owner)
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code)


def test_finetune_carries_its_image_cap(client: TestClient, project: Setup) -> None:
    project_id, owner, _, _ = project
    body = {"base_model": "classical", "name": "mine", "max_images": 100_000}
    reply = client.post(f"/projects/{project_id}/models/finetune", json=body, headers=owner)
    assert reply.status_code == 202, reply.text
    assert reply.json()["options"]["max_images"] == 100_000


def test_an_import_of_a_missing_upload_is_not_found(client: TestClient, project: Setup) -> None:
    project_id, owner, _, _ = project
    body = {"name": "ours", "format": "torchscript", "upload_id": "0" * 32}
    reply = client.post(f"/projects/{project_id}/models/import", json=body, headers=owner)
    assert (reply.status_code, reply.json()["error"]["code"]) == (404, "not_found")


def test_an_oversized_model_upload_is_refused(client: TestClient, project: Setup) -> None:
    project_id, owner, _, _ = project
    body = {"filename": "huge.onnx", "size": 201 * 2**20}
    reply = client.post(f"/projects/{project_id}/models/uploads", json=body, headers=owner)
    assert reply.status_code == 422


def test_strangers_see_no_project_models(client: TestClient, project: Setup) -> None:
    project_id, _, _, stranger = project
    assert client.get(f"/projects/{project_id}/models", headers=stranger).status_code == 404


def test_model_names_are_checked_where_they_are_given(
    client: TestClient, services: HubServices, project: Setup
) -> None:
    project_id, owner, _, _ = project
    url = f"/projects/{project_id}"
    typo = client.post(f"{url}/segmentations", json={"model": "nuclei-unte"}, headers=owner)
    assert (typo.status_code, typo.json()["error"]["code"]) == (422, "unknown_model")
    assert services.segment_queue.receive(max_messages=10, visibility_timeout=1) == []
    bad_default = {"settings": {"default_model": "nuclei-unte"}}
    assert client.patch(url, json=bad_default, headers=owner).status_code == 422
    created = client.post(
        "/projects", json={"name": "X", "settings": {"default_model": "ours"}}, headers=owner
    )
    assert created.status_code == 422  # a new project has no models of its own yet

    body = {"name": "ours", "format": "onnx", "upload_id": upload(client, project_id, owner, b"m")}
    assert client.post(f"{url}/models/import", json=body, headers=owner).status_code == 202
    run_worker(services)
    own_default = {"settings": {"default_model": "ours"}}
    patched = client.patch(url, json=own_default, headers=owner)
    assert patched.json()["settings"]["default_model"] == "ours"
    assert client.delete(f"{url}/models/ours", headers=owner).status_code == 204
    gone = client.post(f"{url}/segmentations", json={}, headers=owner)
    assert (gone.status_code, gone.json()["error"]["code"]) == (422, "unknown_model")
