"""The hub client and its ``cellhub`` verbs against a real hub served over loopback HTTP:
login, project, upload (then skipped on a second pass), segmentation, export and download."""

from __future__ import annotations

import dataclasses
import io
import json
import stat
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from websockets.sync.client import connect

from cellhub.errors import InvalidCredentials
from cellhub.ports.blob_store import MIN_PART_BYTES
from cellhub.services.passwords import Passwords
from cellhub.services.project_models import ProjectModelStore
from cellhub.services.uploads import UploadService
from cellhub_api.app import create_app
from cellhub_local.cli import main
from cellhub_local.client import HubClient
from cellhub_local.loopback import free_port, serving
from cellhub_local.queue_pumps import start_pumps, stop_pumps
from cellhub_local.wiring import MAX_RECEIVES, build_local_services
from cellhub_worker.worker_wiring import project_segmenters

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "images"
EMAIL, PASSWORD = "client@example.org", "correct horse battery"
MULTIPART_FROM = 300_000
CHEAP_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@dataclass(frozen=True)
class Hub:
    url: str


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Storage events go through their queue and pump, as ``cellhub serve`` runs them.
    services = build_local_services(
        tmp_path / "data", public_url=url, passwords=CHEAP_PASSWORDS, queued_storage_events=True
    )
    # The TIFF example (~490 kB) goes up as a multipart upload, the other two as form POSTs.
    uploads = UploadService(
        services.images,
        services.blobs,
        services.notifier,
        multipart_threshold=MULTIPART_FROM,
        part_size=MIN_PART_BYTES,
    )
    services = dataclasses.replace(services, uploads=uploads)
    user = services.accounts.register(EMAIL, PASSWORD)
    services.users.mark_email_verified(user.id)
    pumps = start_pumps(
        services,
        project_segmenters(ProjectModelStore(services.blobs)),
        segment_workers=2,
        max_receives=MAX_RECEIVES,
    )
    try:
        with serving(create_app(services), port):
            yield Hub(url)
    finally:
        stop_pumps(pumps)


def test_client_uploads_segments_and_exports(hub: Hub, tmp_path: Path) -> None:
    paths = sorted(EXAMPLES.iterdir())
    assert len(paths) == 3
    assert any(p.stat().st_size >= MULTIPART_FROM for p in paths)
    with HubClient(hub.url) as client:
        with pytest.raises(InvalidCredentials):
            client.login(EMAIL, "wrong password")
        tokens = client.login(EMAIL, PASSWORD)
        assert tokens["token_type"] == "bearer"
        project = client.create_project("client test")
        assert [p["id"] for p in client.projects()] == [project["id"]]

        outcomes: list[str] = []
        first = client.upload(
            project["id"], paths, on_progress=lambda _p, outcome: outcomes.append(outcome)
        )
        assert len(first.uploaded) == 3 and not first.failed and not first.skipped
        assert outcomes == ["uploaded"] * 3
        _wait_for(lambda: all(i["status"] == "ready" for i in client.images(project["id"])))
        second = client.upload(project["id"], paths)
        assert sorted(second.skipped) == sorted(p.name for p in paths) and not second.uploaded

        job = client.segment(project["id"], model="classical")
        done = client.wait_job(project["id"], job["id"], timeout=120)
        assert done["counts"] == {"total": 3, "done": 3, "failed": 0, "finished": True}
        assert all(i["status"] == "segmented" for i in client.images(project["id"]))

        export = client.export(project["id"], ["coco", "csv"], pixel_size_um=0.65)
        client.wait_export(project["id"], export["id"], timeout=120)
        target = client.download(project["id"], export["id"], tmp_path / "export.zip")
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
        names = set(archive.namelist())
        header = archive.read("csv/objects.csv").decode().splitlines()[0]
    assert "coco/annotations.json" in names
    assert "area_um2" in header


def test_cli_verbs(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config"
    monkeypatch.setenv("CELLHUB_CONFIG_DIR", str(config))
    monkeypatch.setenv("CELLHUB_PASSWORD", PASSWORD)
    assert main(["projects"]) == 1  # not signed in yet
    assert main(["login", hub.url, EMAIL]) == 0
    credentials = config / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert json.loads(credentials.read_text())["url"] == hub.url

    with HubClient(hub.url) as client:
        client.login(EMAIL, PASSWORD)
        project_id = client.create_project("cli test")["id"]
    capsys.readouterr()
    assert main(["projects"]) == 0
    assert project_id in capsys.readouterr().out
    paths = [str(p) for p in sorted(EXAMPLES.iterdir())]
    assert main(["upload", project_id, *paths]) == 0
    assert "3 uploaded" in capsys.readouterr().out
    assert main(["upload", project_id, *paths]) == 0
    assert "3 already there" in capsys.readouterr().out
    assert main(["jobs", project_id]) == 0
    _wait_for(lambda: _all_ready(hub.url, project_id))
    assert main(["segment-remote", project_id, "--model", "classical", "--wait"]) == 0
    assert "3/3 done, 0 failed" in capsys.readouterr().out
    output = tmp_path / "cli.zip"
    assert main(["export", project_id, "--formats", "coco,excel", "-o", str(output)]) == 0
    with zipfile.ZipFile(output) as archive:
        assert "coco/annotations.json" in archive.namelist()


def test_live_events_reach_a_websocket_client_of_the_served_hub(hub: Hub) -> None:
    path = sorted(EXAMPLES.iterdir())[0]
    with HubClient(hub.url) as client:
        token = client.login(EMAIL, PASSWORD)["access_token"]
        project_id = client.create_project("live test")["id"]
        ws_url = hub.url.replace("http://", "ws://") + "/ws"
        with connect(ws_url, open_timeout=10) as socket_:
            socket_.send(json.dumps({"token": token}))
            socket_.send(json.dumps({"action": "subscribe", "project_id": project_id}))
            assert json.loads(socket_.recv(timeout=10))["type"] == "subscribed"
            (image_id,) = client.upload(project_id, [path]).uploaded
            seen: list[str] = []
            while "image.ready" not in seen:
                event = json.loads(socket_.recv(timeout=30))
                assert image_id in (event.get("image_id"), *event.get("image_ids", ()))
                seen.append(event["type"])
    assert seen == ["upload.accepted", "image.ready"]


def _all_ready(url: str, project_id: str) -> bool:
    with HubClient(url) as client:
        client.login(EMAIL, PASSWORD)
        return all(i["status"] == "ready" for i in client.images(project_id))


def _wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the hub"
        time.sleep(0.1)
