"""Project models end to end on the embedded hub, with the torch runner ``cellhub serve``
wires in: a bundled checkpoint is imported, segments the project's images under its project
name, and is fine-tuned for one epoch; every job ends ``done`` with its report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cellhub.services.passwords import Passwords
from cellhub_api.app import create_app
from cellhub_local.client import HubClient
from cellhub_local.loopback import free_port, serving
from cellhub_local.queue_pumps import start_pumps, stop_pumps
from cellhub_local.serve_command import _model_jobs, _segmenters
from cellhub_local.wiring import MAX_RECEIVES, build_local_services

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
CHECKPOINT = REPO / "containers" / "gpu_worker" / "cellhub_worker" / "weights" / "nuclei-unet.pt"
EMAIL, PASSWORD = "models-e2e@example.org", "correct horse battery"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[HubClient]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    services = build_local_services(
        tmp_path / "data", public_url=url, passwords=cheap, queued_storage_events=True
    )
    user = services.accounts.register(EMAIL, PASSWORD)
    services.users.mark_email_verified(user.id)
    segmenters = _segmenters(services)
    model_jobs = _model_jobs(services, segmenters)
    if model_jobs is None:
        pytest.skip("the torch model-job runner is not installed")
    pumps = start_pumps(services, segmenters, max_receives=MAX_RECEIVES, model_jobs=model_jobs)
    try:
        with serving(create_app(services), port), HubClient(url) as hub:
            hub.login(EMAIL, PASSWORD)
            yield hub
    finally:
        stop_pumps(pumps)


def test_import_segment_with_and_finetune_a_project_model(client: HubClient) -> None:
    project_id = client.create_project("own models")["id"]
    client.upload(project_id, sorted((REPO / "examples" / "images").glob("nuclei*")))

    job = client.import_model(project_id, CHECKPOINT, name="our-unet", model_format="checkpoint")
    job = client.wait_job(project_id, job["id"], timeout=600)
    assert (job["state"], job["counts"]["done"], job["counts"]["total"]) == ("done", 2, 2)
    report = client.model_job_report(project_id, job["id"])
    assert report["accepted"], report
    scopes = {m["name"]: m["scope"] for m in client.project_models(project_id)}
    assert scopes["our-unet"] == "project"

    segmentation = client.segment(project_id, model="our-unet")
    segmentation = client.wait_job(project_id, segmentation["id"], timeout=600)
    assert (segmentation["counts"]["done"], segmentation["counts"]["failed"]) == (2, 0)

    tuning = client.finetune(
        project_id,
        base_model="our-unet",
        name="our-unet-tuned",
        epochs=1,
        min_objects=5,
        holdout_fraction=0.5,
    )
    tuning = client.wait_job(project_id, tuning["id"], timeout=900)
    assert (tuning["state"], tuning["counts"]["done"], tuning["counts"]["total"]) == ("done", 4, 4)
    report = client.model_job_report(project_id, tuning["id"])
    assert (report["kind"], report["model"]) == ("finetune", "our-unet-tuned")
    assert report["accepted"] or report["reason"]
