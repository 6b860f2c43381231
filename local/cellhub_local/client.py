"""A typed HTTP client of a running hub: sessions, projects, uploads, jobs, exports and the
project's own models (``client_models``).

Replies are the API's JSON objects as dicts. An error reply ``{"error": {code, message,
details}}`` is raised as the ``cellhub.errors`` class of that code (details gain ``status``),
or as ``HubError`` for a code outside the error tree. Uploads go straight to the presigned
targets the hub hands out, never through the API, so the same client works against S3.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cellhub.errors import CellhubError
from cellhub_local.client_errors import HubError, raise_for_reply
from cellhub_local.client_models import ProjectModelCalls

Json = dict[str, Any]
# Called once per file with its outcome: "uploaded", "skipped" or "failed".
ProgressCallback = Callable[[Path, str], None]

# Images in these states hold no usable bytes, so a file matching one is sent again.
_INCOMPLETE = frozenset({"uploading", "failed"})
_PLAN_BATCH = 100
_PAGE = 100
# Seconds between looks at which uploads the hub has not processed yet.
_READY_POLL = 0.2


@dataclass
class UploadReport:
    """What ``upload`` did: new image ids, names skipped as present, and failures."""

    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


class HubClient(ProjectModelCalls):
    """One hub at ``base_url``; ``token`` is an access token (``login`` sets it)."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.poll_interval = 0.5  # seconds between looks at a job or export
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        # Presigned targets carry their own authority; our bearer token must not go there.
        self._blobs = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()
        self._blobs.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self._http.request(method, path, headers=headers, **kwargs)
        raise_for_reply(response)
        return response.json() if response.content else None

    def login(self, email: str, password: str) -> Json:
        """The token pair of a new session; the access token is used from now on."""
        tokens: Json = self._call(
            "POST", "/auth/login", json={"email": email, "password": password}
        )
        self.token = tokens["access_token"]
        return tokens

    def refresh(self, refresh_token: str) -> Json:
        """A fresh token pair for a refresh token (which is used up by this)."""
        tokens: Json = self._call("POST", "/auth/refresh", json={"refresh_token": refresh_token})
        self.token = tokens["access_token"]
        return tokens

    def projects(self) -> list[Json]:
        return self._all_pages("/projects")

    def create_project(self, name: str) -> Json:
        return self._call("POST", "/projects", json={"name": name})

    def images(self, project_id: str) -> list[Json]:
        return self._all_pages(f"/projects/{project_id}/images")

    def active_jobs(self, project_id: str) -> list[Json]:
        return self._call("GET", f"/projects/{project_id}/jobs")

    def wait_ready(
        self, project_id: str, image_ids: Iterable[str], *, timeout: float = 600.0
    ) -> None:
        """Wait until none of ``image_ids`` is still ``uploading``: the hub has handled their
        storage events (thumbnail made, ``ready`` or ``rejected``)."""
        waiting = set(image_ids)
        deadline = time.monotonic() + timeout
        while waiting:
            uploading = self._all_pages(f"/projects/{project_id}/images", status="uploading")
            waiting &= {image["id"] for image in uploading}
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(waiting)} uploads not processed in {timeout:.0f} s")
            time.sleep(_READY_POLL)

    def _all_pages(self, path: str, **filters: str) -> list[Json]:
        items: list[Json] = []
        params: dict[str, Any] = {"limit": _PAGE, **filters}
        while True:
            page = self._call("GET", path, params=params)
            items.extend(page["items"])
            if not page.get("next_cursor"):
                return items
            params["cursor"] = page["next_cursor"]

    def upload(
        self,
        project_id: str,
        paths: Sequence[Path],
        *,
        parallel: int = 4,
        on_progress: ProgressCallback | None = None,
        wait_ready: bool = True,
    ) -> UploadReport:
        """Send the files not already in the project (same name and size), ``parallel`` at
        a time; a file that fails is tried once more before it counts as failed.

        The hub handles a stored upload asynchronously (as S3 notifies the cloud's thumbnail
        function); with ``wait_ready`` the call returns once every sent file is ``ready`` or
        ``rejected``, so a segmentation queued next sees them all.
        """
        report = UploadReport()
        present = {
            (image["name"], image["size"])
            for image in self.images(project_id)
            if image["status"] not in _INCOMPLETE
        }
        todo: list[Path] = []
        for path in paths:
            if (path.name, path.stat().st_size) in present:
                report.skipped.append(path.name)
                _notify(on_progress, path, "skipped")
            else:
                todo.append(path)
        for start in range(0, len(todo), _PLAN_BATCH):
            batch = todo[start : start + _PLAN_BATCH]
            plan = self._call(
                "POST", f"/projects/{project_id}/uploads", json={"files": _specs(batch)}
            )
            jobs = list(zip(batch, plan["uploads"], strict=True))
            with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
                outcomes = pool.map(lambda job: self._send_twice(project_id, *job), jobs)
                for (path, planned), error in zip(jobs, outcomes, strict=True):
                    if error is None:
                        report.uploaded.append(planned["image_id"])
                    else:
                        report.failed.append((path.name, error))
                    _notify(on_progress, path, "uploaded" if error is None else "failed")
        if wait_ready and report.uploaded:
            self.wait_ready(project_id, report.uploaded)
        return report

    def _send_twice(self, project_id: str, path: Path, planned: Json) -> str | None:
        """None once the file is sent, else why its second attempt failed."""
        error = ""
        for _attempt in range(2):
            try:
                self._send(project_id, path, planned)
                return None
            except (httpx.HTTPError, CellhubError, HubError, OSError) as exc:
                error = str(exc) or type(exc).__name__
        return error

    def _send(self, project_id: str, path: Path, planned: Json) -> None:
        if planned.get("post"):
            target = planned["post"]
            with path.open("rb") as stream:
                response = self._blobs.post(
                    target["url"],
                    data=target["fields"],
                    files={"file": (path.name, stream, _content_type(path))},
                )
            raise_for_reply(response)
            return
        multipart = planned["multipart"]
        parts = []
        with path.open("rb") as stream:
            for number, url in enumerate(multipart["part_urls"], start=1):
                response = self._blobs.put(url, content=stream.read(multipart["part_size"]))
                raise_for_reply(response)
                parts.append({"part_number": number, "etag": response.headers["ETag"]})
        self._call(
            "POST",
            f"/projects/{project_id}/uploads/{planned['image_id']}/complete",
            json={"upload_id": multipart["upload_id"], "parts": parts},
        )

    def segment(
        self, project_id: str, *, image_ids: Sequence[str] | None = None, model: str | None = None
    ) -> Json:
        """Queue a segmentation job (every ready or failed image when ``image_ids`` is None)."""
        body: Json = {"image_ids": list(image_ids) if image_ids is not None else None}
        if model is not None:
            body["model"] = model
        return self._call("POST", f"/projects/{project_id}/segmentations", json=body)

    def job(self, project_id: str, job_id: str) -> Json:
        return self._call("GET", f"/projects/{project_id}/jobs/{job_id}")

    def wait_job(self, project_id: str, job_id: str, *, timeout: float = 600.0) -> Json:
        """The job once every image is done or failed (or it was cancelled)."""
        return self._poll(
            lambda: self.job(project_id, job_id),
            lambda job: bool(job["counts"]["finished"]) or job["state"] in ("done", "cancelled"),
            timeout,
        )

    def export(
        self, project_id: str, formats: Iterable[str], *, pixel_size_um: float | None = None
    ) -> Json:
        body = {"formats": list(formats), "pixel_size_um": pixel_size_um}
        return self._call("POST", f"/projects/{project_id}/exports", json=body)

    def wait_export(self, project_id: str, export_id: str, *, timeout: float = 600.0) -> Json:
        """The export once it is done; a failed or cancelled one raises ``HubError``."""
        export = self._poll(
            lambda: self._call("GET", f"/projects/{project_id}/exports/{export_id}"),
            lambda export: export["state"] in ("done", "failed", "cancelled"),
            timeout,
        )
        if export["state"] != "done":
            raise HubError(f"export_{export['state']}", 200, export.get("error") or "no ZIP made")
        return export

    def download(self, project_id: str, export_id: str, path: Path) -> Path:
        """Stream the export's ZIP to ``path`` (written whole or not at all)."""
        link = self._call("GET", f"/projects/{project_id}/exports/{export_id}/download")
        partial = path.with_name(path.name + ".part")
        with self._blobs.stream("GET", link["url"]) as response:
            if not response.is_success:
                response.read()
                raise_for_reply(response)
            with partial.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        partial.replace(path)
        return path

    def _poll(
        self, fetch: Callable[[], Json], done: Callable[[Json], bool], timeout: float
    ) -> Json:
        deadline = time.monotonic() + timeout
        while not done(current := fetch()):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"still not finished after {timeout:.0f} s: {current}")
            time.sleep(self.poll_interval)
        return current


def _specs(paths: Sequence[Path]) -> list[Json]:
    return [
        {"name": p.name, "size": p.stat().st_size, "content_type": _content_type(p)} for p in paths
    ]


def _content_type(path: Path) -> str:
    if path.suffix.lower() in {".tif", ".tiff"}:
        return "image/tiff"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _notify(callback: ProgressCallback | None, path: Path, outcome: str) -> None:
    if callback is not None:
        callback(path, outcome)
