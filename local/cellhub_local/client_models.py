"""The hub client's calls about a project's own models: list, fine-tune, import, report.

A model file goes straight to the presigned target the hub hands out (as image uploads do),
then the import job is started with the upload's id; the job's report says whether the file
became a model of the project.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from cellhub_local.client_errors import raise_for_reply

Json = dict[str, Any]


class ProjectModelCalls:
    """Mixed into ``HubClient``, which provides ``_call`` and the blob-side ``_blobs``."""

    _blobs: httpx.Client

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def project_models(self, project_id: str) -> list[Json]:
        """The global catalogue, then the project's models, each with its ``scope``."""
        reply: Json = self._call("GET", f"/projects/{project_id}/models")
        models: list[Json] = reply["models"]
        return models

    def finetune(
        self,
        project_id: str,
        *,
        base_model: str,
        name: str,
        epochs: int | None = None,
        holdout_fraction: float | None = None,
        min_objects: int | None = None,
        seed: int | None = None,
        max_images: int | None = None,
    ) -> Json:
        """Queue fine-tuning ``base_model`` on the project's segmentations as ``name``."""
        given = {
            "epochs": epochs,
            "holdout_fraction": holdout_fraction,
            "min_objects": min_objects,
            "seed": seed,
            "max_images": max_images,
        }
        body: Json = {"base_model": base_model, "name": name}
        body |= {key: value for key, value in given.items() if value is not None}
        job: Json = self._call("POST", f"/projects/{project_id}/models/finetune", json=body)
        return job

    def import_model(
        self,
        project_id: str,
        path: Path,
        *,
        name: str,
        model_format: str,
        classes: Sequence[str] | None = None,
        description: str = "",
    ) -> Json:
        """Upload the model file at ``path`` and queue its import job; returns the job."""
        size = path.stat().st_size
        planned = self._call(
            "POST",
            f"/projects/{project_id}/models/uploads",
            json={"filename": path.name, "size": size},
        )
        target = planned["post"]
        with path.open("rb") as stream:
            response = self._blobs.post(
                target["url"],
                data=target["fields"],
                files={"file": (path.name, stream, "application/octet-stream")},
            )
        raise_for_reply(response)
        body: Json = {
            "name": name,
            "format": model_format,
            "upload_id": planned["upload_id"],
            "description": description,
        }
        if classes:
            body["classes"] = list(classes)
        job: Json = self._call("POST", f"/projects/{project_id}/models/import", json=body)
        return job

    def model_job_report(self, project_id: str, job_id: str) -> Json:
        """The finished model job's report; ``NotFound`` while the job is still running."""
        report: Json = self._call("GET", f"/projects/{project_id}/models/jobs/{job_id}/report")
        return report

    def delete_model(self, project_id: str, name: str) -> None:
        self._call("DELETE", f"/projects/{project_id}/models/{name}")
