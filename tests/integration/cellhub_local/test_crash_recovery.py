"""``cellhub serve`` killed with SIGKILL mid-job resumes from its data directory: after a
restart every image is segmented exactly once, the job's counts add up, and an export
interrupted by a kill still completes with a ZIP that opens."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import pytest
from argon2 import PasswordHasher

from cellhub.domain.images import ImageStatus
from cellhub.domain.jobs import ExportState
from cellhub.domain.projects import Project
from cellhub.services.export_messages import ExportRequested
from cellhub.services.passwords import Passwords
from cellhub.services.thumbnails import ThumbnailService
from cellhub.services.uploads import FileSpec
from cellhub_api.container import HubServices
from cellhub_local.loopback import free_port
from cellhub_local.wiring import build_local_services
from cellhub_worker.synthetic import synthetic_nuclei

N_IMAGES = 60
CHEAP_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
EMAIL, PASSWORD = "crash@example.org", "correct horse battery"


def _close(services: HubServices) -> None:
    for repository in (services.users, services.images, services.jobs, services.projects):
        close = getattr(repository, "close", None)
        if close is not None:
            close()
    for queue in (services.segment_queue, services.export_queue):
        close = getattr(queue, "close", None)
        if close is not None:
            close()


@contextmanager
def _services(data: Path, url: str) -> Iterator[HubServices]:
    services = build_local_services(data, public_url=url, passwords=CHEAP_PASSWORDS)
    try:
        yield services
    finally:
        _close(services)


def _png(seed: int) -> bytes:
    image, _ = synthetic_nuclei((192, 192), count=12, seed=seed)
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return bytes(encoded.tobytes())


def _seed(data: Path, url: str) -> tuple[str, str, str]:
    """A verified user, a project of ``N_IMAGES`` ready images and a queued job over them."""
    with _services(data, url) as services:
        user = services.accounts.register(EMAIL, PASSWORD)
        services.users.mark_email_verified(user.id)
        project = Project.new("Crash recovery", user.id)
        services.projects.create(project)
        pictures = [_png(seed) for seed in range(N_IMAGES)]
        plan = services.uploads.plan(
            project.id,
            [
                FileSpec(f"nuclei-{n:02d}.png", len(png), "image/png")
                for n, png in enumerate(pictures)
            ],
        )
        thumbnails = ThumbnailService(services.images, services.blobs, services.notifier)
        for planned, png in zip(plan.uploads, pictures, strict=True):
            services.blobs.put(planned.key, png)
            image = thumbnails.handle_object_created(planned.key)
            assert image is not None and image.status is ImageStatus.READY
        job = services.segmentation_jobs.create(
            project.id, model="classical", threshold=0.5, created_by=user.id
        )
        assert job.counts.total == N_IMAGES
        return user.id, project.id, job.id


class Server:
    """One ``cellhub serve`` subprocess over ``data``, in its own process group."""

    def __init__(self, data: Path, port: int, log: Path) -> None:
        self.data, self.port, self.log = data, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None
        command = [sys.executable, "-m", "cellhub_local.cli", "serve"]
        command += ["--data", str(self.data), "--port", str(self.port), "--host", "127.0.0.1"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL the whole group: no shutdown code runs, as in a power cut."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        except ProcessLookupError:
            pass
        self.process = None

    def check_alive(self) -> None:
        assert self.process is not None
        code = self.process.poll()
        assert code is None, f"the server exited ({code}):\n{self.log.read_text()[-4000:]}"


def _expire_in_flight(data: Path, queue: str) -> int:
    """Make the messages the killed server had claimed visible again now.

    This stands in for their visibility timeout (300 s for segmentation, 600 s for exports)
    passing, so the restarted server redelivers them at once; receive counts are kept.
    """
    with sqlite3.connect(data / "queues.sqlite3", timeout=10) as db:
        cursor = db.execute(
            "UPDATE queue_messages SET visible_at = ?"
            " WHERE queue = ? AND receive_count > 0 AND visible_at > ?",
            (time.time(), queue, time.time()),
        )
        return cursor.rowcount


def _wait(condition: Callable[[], bool], seconds: float, what: str, server: Server) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        server.check_alive()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.slow
def test_killed_server_resumes_segmentation_and_export(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    user_id, project_id, job_id = _seed(data, url)
    server = Server(data, port, tmp_path / "serve.log")

    with _services(data, url) as observer:

        def statuses() -> list[ImageStatus]:
            return [i.status for i in observer.images.list(project_id, limit=100).items]

        def segmented() -> int:
            return statuses().count(ImageStatus.SEGMENTED)

        try:
            # First run: killed part way through the job.
            server.start()
            _wait(lambda: segmented() >= 10, 60, "the first images to be segmented", server)
            server.kill()
            done_before_kill = segmented()
            assert done_before_kill < N_IMAGES, "the job finished before the kill; raise N"
            assert _expire_in_flight(data, "segment") >= 1

            # Second run: picks up the redelivered chunk and the rest of the queue.
            server.start()
            _wait(
                lambda: all(s is ImageStatus.SEGMENTED for s in statuses()),
                90,
                "every image to be segmented",
                server,
            )
            images = observer.images.list(project_id, limit=100).items
            assert len(images) == N_IMAGES
            for image in images:
                versions = observer.images.list_versions(image.id)
                assert [v.job_id for v in versions] == [job_id], image.name
                assert image.latest_version == 1
            _wait(
                lambda: (
                    (job := observer.jobs.get_job(project_id, job_id)) is not None
                    and job.counts.finished
                ),
                10,
                "the job's counts",
                server,
            )
            job = observer.jobs.get_job(project_id, job_id)
            assert job is not None
            assert (job.counts.total, job.counts.done, job.counts.failed) == (N_IMAGES, N_IMAGES, 0)
            assert job.state.value == "done"

            # An export, with the server killed as soon as it has taken the export on.
            export = observer.exports.create(
                project_id,
                formats=("coco", "csv"),
                image_ids=None,
                pixel_size_um=0.65,
                created_by=user_id,
            )
            observer.export_queue.send(
                ExportRequested(export_id=export.id, project_id=project_id).to_json()
            )

            def export_state() -> ExportState:
                return observer.exports.get(project_id, export.id).state

            _wait(
                lambda: export_state() is not ExportState.QUEUED, 30, "the export to start", server
            )
            server.kill()
            state_at_kill = export_state()
            assert state_at_kill in (ExportState.RUNNING, ExportState.DONE)
            _expire_in_flight(data, "export")

            server.start()
            _wait(lambda: export_state() is ExportState.DONE, 30, "the export to finish", server)
            finished = observer.exports.get(project_id, export.id)
            assert finished.blob_key is not None
            with zipfile.ZipFile(io.BytesIO(observer.blobs.get(finished.blob_key))) as archive:
                assert archive.testzip() is None
                names = set(archive.namelist())
                rows = archive.read("csv/objects.csv").decode().splitlines()
            assert "coco/annotations.json" in names
            assert len(rows) > N_IMAGES  # a header and at least one object per image
            assert not any(s is ImageStatus.FAILED for s in statuses())
            print(
                f"segmented before kill: {done_before_kill}/{N_IMAGES};"
                f" export state at kill: {state_at_kill.value}"
            )
        finally:
            server.stop()
