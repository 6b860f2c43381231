"""``cellhub models list|import|report`` and ``cellhub finetune`` against a hub served over
loopback, whose workers run model jobs with a fake runner (the torch one is tested with the
worker): an import is uploaded, checked and listed; a fine-tuning job is followed to its
report; a rejected model exits 1."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cellhub.domain.jobs import Job
from cellhub.ports.blob_store import BlobStore
from cellhub.ports.model_jobs import ModelArtifact, ModelJobOutcome, Progress
from cellhub.services.model_job_worker import ModelJobWorker
from cellhub.services.passwords import Passwords
from cellhub.services.project_models import ProjectModelCard, ProjectModelStore
from cellhub_api.app import create_app
from cellhub_local.cli import main
from cellhub_local.client import HubClient
from cellhub_local.loopback import free_port, serving
from cellhub_local.queue_pumps import start_pumps, stop_pumps
from cellhub_local.wiring import MAX_RECEIVES, build_local_services
from cellhub_worker.worker_wiring import project_segmenters

EMAIL, PASSWORD = "models@example.org", "correct horse battery"
CHEAP_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


class FakeRunner:
    """Accepts what it is given, except a fine-tuning job named ``worse``."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def _outcome(self, job: Job, name: str, weights: bytes) -> ModelJobOutcome:
        if name == "worse":
            return ModelJobOutcome(False, {"ap50": {"base": 0.6, "new": 0.5}}, reason="no gain")
        card = ProjectModelCard(
            name=name,
            architecture="unet",
            format="checkpoint",
            origin="fine-tuned" if job.kind == "finetune" else "imported",
            scores={"ap50": 0.7},
            sha256=hashlib.sha256(weights).hexdigest(),
            job_id=job.id,
            created_at=datetime.now(UTC),
        )
        return ModelJobOutcome(True, {"ap50": 0.7}, ModelArtifact(card, weights))

    def finetune(
        self, job: Job, *, progress: Progress, heartbeat: Callable[[], None]
    ) -> ModelJobOutcome:
        for unit in ["baseline", *(f"epoch-{n:04d}" for n in range(1, 3)), "final"]:
            progress(unit)
        return self._outcome(job, job.options["name"], b"tuned")

    def validate_import(
        self, job: Job, *, progress: Progress, heartbeat: Callable[[], None]
    ) -> ModelJobOutcome:
        progress("checked")
        return self._outcome(job, job.model, self.blobs.get(job.options["upload_key"]))


@dataclass(frozen=True)
class Hub:
    url: str
    project_id: str


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    services = build_local_services(tmp_path / "data", public_url=url, passwords=CHEAP_PASSWORDS)
    user = services.accounts.register(EMAIL, PASSWORD)
    services.users.mark_email_verified(user.id)
    store = ProjectModelStore(services.blobs)
    runner = FakeRunner(services.blobs)
    pumps = start_pumps(
        services,
        project_segmenters(store),
        max_receives=MAX_RECEIVES,
        model_jobs=ModelJobWorker(services.jobs, services.notifier, store, runner),
    )
    monkeypatch.setenv("CELLHUB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("CELLHUB_PASSWORD", PASSWORD)
    try:
        with serving(create_app(services), port):
            assert main(["login", url, EMAIL]) == 0
            with HubClient(url) as client:
                client.login(EMAIL, PASSWORD)
                project_id = client.create_project("Models")["id"]
            yield Hub(url, project_id)
    finally:
        stop_pumps(pumps)


def test_import_list_and_report(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = tmp_path / "mine.pt"
    weights.write_bytes(b"my own weights")
    verb = ["models", "import", str(weights), "--project", hub.project_id, "--name", "mine"]
    assert main([*verb, "--format", "checkpoint", "--wait", "--timeout", "30"]) == 0
    out = capsys.readouterr().out
    assert "model mine: accepted" in out
    job_id = out.split()[0]
    assert main(["models", "list", "--project", hub.project_id]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith("classical") and any(
        line.split()[:3] == ["mine", "project", "imported"] for line in listed
    )
    assert main(["models", "report", job_id, "--project", hub.project_id]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["accepted"], report["kind"], report["results"]) == (
        True,
        "import_model",
        {"ap50": 0.7},
    )


def test_finetune_waits_for_the_verdict(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    verb = ["finetune", "--project", hub.project_id, "--from", "classical", "--epochs", "2"]
    assert main([*verb, "--name", "better", "--wait", "--timeout", "30"]) == 0
    assert "5/5 done" in capsys.readouterr().out
    assert main([*verb, "--name", "worse", "--wait", "--timeout", "30"]) == 1
    assert "model worse: not accepted: no gain" in capsys.readouterr().out
    assert main([*verb, "--name", "classical"]) == 1
    assert "a model named 'classical' exists already" in capsys.readouterr().err


def test_finetune_passes_its_image_cap(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    verb = ["finetune", "--project", hub.project_id, "--from", "classical", "--name", "capped"]
    assert main([*verb, "--max-images", "7"]) == 0
    job_id = capsys.readouterr().out.split()[0]
    with HubClient(hub.url) as client:
        client.login(EMAIL, PASSWORD)
        assert client.job(hub.project_id, job_id)["options"]["max_images"] == 7
