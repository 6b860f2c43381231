"""The cloud path end to end on moto's server: the real Lambda handlers and worker loop behind
the loopback API Gateway, with S3 → SQS notifications and SQS event-source pumps.

Register (the verification mail read back from moto's SES), verify, log in, create a project,
upload by presigned POST and by multipart, wait for the thumbnails, segment, edit with
``If-Match``, export and download the ZIP, while a WebSocket through the gateway receives the
live events the handlers post with ``post_to_connection``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from cellhub.adapters.aws import wiring
from cellhub.adapters.aws.dynamodb_connections import DynamoConnections
from cellhub.adapters.aws.wiring import AwsResources
from cellhub.ports.blob_store import MIN_PART_BYTES
from cellhub.services.passwords import Passwords
from cellhub.services.uploads import UploadService
from cellhub_api import cloud_services
from cellhub_local.client import HubClient
from cellhub_local.emulated_cloud.runner import (
    EmulatedCloud,
    moto_server,
    provision_for,
    reset_handler_caches,
    running,
)
from cellhub_local.loopback import free_port

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "images"
EMAIL, PASSWORD = "cloud@example.org", "correct horse battery"
REGION = "us-east-1"
# The TIFF example (~490 kB) goes up as a multipart upload, the PNG and JPEG as form POSTs.
MULTIPART_FROM = 300_000


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatedCloud]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    # The API function builds its services itself; these swap in a multipart threshold the
    # examples cross and a cheap password hash, as the embedded hub's tests do.
    monkeypatch.setattr(
        cloud_services,
        "UploadService",
        functools.partial(
            UploadService, multipart_threshold=MULTIPART_FROM, part_size=MIN_PART_BYTES
        ),
    )
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    original_build = cloud_services.build_cloud_services
    monkeypatch.setattr(
        cloud_services,
        "build_cloud_services",
        functools.partial(original_build, passwords=cheap),
    )
    port = free_port()
    with moto_server() as endpoint:
        provisioned = provision_for(endpoint, f"http://127.0.0.1:{port}", REGION)
        for name, value in provisioned.env.items():
            monkeypatch.setenv(name, value)
        reset_handler_caches()
        try:
            with running(provisioned, port=port) as started:
                yield started
        finally:
            reset_handler_caches()


class LiveListener:
    """Collects every message a WebSocket receives, on a thread of its own."""

    def __init__(self, socket: ClientConnection) -> None:
        self.messages: list[dict[str, Any]] = []
        self._socket = socket
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            for text in self._socket:
                with self._changed:
                    self.messages.append(json.loads(text))
                    self._changed.notify_all()

    def wait_for(self, type_: str, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
        def found() -> list[dict[str, Any]]:
            return [m for m in self.messages if m.get("type") == type_]

        with self._changed:
            if not self._changed.wait_for(lambda: len(found()) >= count, timeout):
                raise TimeoutError(f"{count} x {type_} not received: {self.messages}")
            return found()


@contextlib.contextmanager
def vanished_subscriber(cloud: EmulatedCloud, token: str, project_id: str) -> Iterator[str]:
    """A subscribed connection the gateway has lost without a ``$disconnect`` (a client that
    dropped off the network): its record stays until a post to it is answered 410."""
    before = cloud.gateway.connections.ids()
    with connect(f"{cloud.websocket_url}?token={token}", open_timeout=10) as socket:
        socket.send(json.dumps({"action": "subscribe", "project_id": project_id}))
        assert json.loads(socket.recv(timeout=10))["type"] == "subscribed"
        (stale_id,) = cloud.gateway.connections.ids() - before
        cloud.gateway.connections.remove(stale_id)
        assert live_connections().user_of(stale_id) is not None
        yield stale_id


def live_connections() -> DynamoConnections:
    return wiring.live_connections(AwsResources.from_env())


def s3_objects(prefix: str) -> list[dict[str, Any]]:
    resources = AwsResources.from_env()
    listed = resources.client("s3").list_objects_v2(Bucket=resources.bucket, Prefix=prefix)
    return list(listed.get("Contents", []))


def verification_token() -> str:
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    mail = next(m for m in reversed(sent) if EMAIL in m.destinations["ToAddresses"])
    match = re.search(r"verify-email\?token=([\w\-.~%]+)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_whole_flow_through_the_emulated_cloud(cloud: EmulatedCloud, tmp_path: Path) -> None:
    paths = sorted(EXAMPLES.iterdir())
    assert sum(p.stat().st_size >= MULTIPART_FROM for p in paths) == 1
    api = httpx.Client(base_url=cloud.base_url, timeout=30)
    registered = api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    verified = api.post("/auth/verify-email", json={"token": verification_token()})
    assert verified.status_code == 204, verified.text

    with HubClient(cloud.base_url) as client:
        token = client.login(EMAIL, PASSWORD)["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert api.get("/auth/me", headers=headers).json()["email_verified"] is True
        project = client.create_project("emulated cloud")
        project_id = project["id"]

        with pytest.raises(InvalidStatus) as refused:
            connect(f"{cloud.websocket_url}?token=not-a-token", open_timeout=10)
        assert refused.value.response.status_code == 401
        with connect(f"{cloud.websocket_url}?token={token}", open_timeout=10) as socket:
            live = LiveListener(socket)
            socket.send(json.dumps({"action": "subscribe", "project_id": project_id}))
            live.wait_for("subscribed")

            with vanished_subscriber(cloud, token, project_id) as stale_id:
                report = client.upload(project_id, paths)
                assert len(report.uploaded) == 3 and not report.failed
                client.wait_ready(project_id, report.uploaded, timeout=30)
                images = client.images(project_id)
                assert {i["status"] for i in images} == {"ready"}, images
                live.wait_for("image.ready", count=3)
                # The first event to the lost connection was answered 410 and dropped its
                # record; the live subscriber was served all the same.
                assert live_connections().user_of(stale_id) is None
            etags = [o["ETag"] for o in s3_objects(f"projects/{project_id}/originals/")]
            assert sorted("-" in etag for etag in etags) == [False, False, True]  # 1 multipart

            job = client.segment(project_id, model="classical")
            done = client.wait_job(project_id, job["id"], timeout=60)
            assert done["counts"] == {"total": 3, "done": 3, "failed": 0, "finished": True}
            live.wait_for("image.segmented", count=3)

            image_id = report.uploaded[0]
            path = f"/projects/{project_id}/images/{image_id}/segmentation"
            latest = api.get(path, headers=headers)
            assert latest.status_code == 200, latest.text
            polygons = latest.json()["document"]["polygons"]
            assert len(polygons) >= 2
            edited = [*polygons[2:], {"exterior": [[1, 1], [9, 1], [9, 9], [1, 9]]}]
            saved = api.put(
                path,
                headers={**headers, "If-Match": latest.headers["ETag"]},
                json={"polygons": edited},
            )
            assert saved.status_code == 200, saved.text
            stale = api.put(
                path,
                headers={**headers, "If-Match": latest.headers["ETag"]},
                json={"polygons": edited},
            )
            assert stale.status_code == 409
            objects = sum(
                len(
                    api.get(
                        f"/projects/{project_id}/images/{i}/segmentation", headers=headers
                    ).json()["document"]["polygons"]
                )
                for i in report.uploaded
            )

            export = client.export(project_id, ["coco", "csv"], pixel_size_um=0.65)
            client.wait_export(project_id, export["id"], timeout=60)
            live.wait_for("export.done")
            target = client.download(project_id, export["id"], tmp_path / "export.zip")

    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
        annotations = json.loads(archive.read("coco/annotations.json"))
        header = archive.read("csv/objects.csv").decode().splitlines()[0]
    assert len(annotations["images"]) == 3
    assert len(annotations["annotations"]) == objects
    assert "area_um2" in header
    deadline = time.monotonic() + 10
    while len(cloud.gateway.connections) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(cloud.gateway.connections) == 0
