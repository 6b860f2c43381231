"""A small project on the real local adapters: images with exact labels saved as versions."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image as PilImage

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.adapters.local.url_signing import UrlSigner
from cellhub.domain.images import Image, ImageStatus, SegmentationVersion
from cellhub.domain.jobs import Job
from cellhub.domain.projects import Project
from cellhub.geometry import polygons_from_labels
from cellhub.results import SEGMENTATION_SCHEMA
from cellhub.segmenter import Segmenter
from cellhub.services.project_models import ProjectModelCard, ProjectModelStore, upload_key
from cellhub.services.segmentation_documents import document_key, save_document
from cellhub_worker.checkpoint import CheckpointMeta, save_checkpoint
from cellhub_worker.model_jobs import TorchModelJobRunner
from cellhub_worker.project_models import load_project_segmenter
from cellhub_worker.synthetic import synthetic_nuclei


@dataclass
class ProjectWorld:
    images: SqliteImagesRepository
    blobs: FilesystemBlobStore
    store: ProjectModelStore
    project: Project

    def runner(self) -> TorchModelJobRunner:
        return TorchModelJobRunner(
            images=self.images,
            blobs=self.blobs,
            store=self.store,
            segmenter_for=self.segmenter_for,
            device="cpu",
        )

    def segmenter_for(self, project_id: str, model: str) -> Segmenter:
        card = self.store.get(project_id, model)
        assert card is not None, model
        return load_project_segmenter(self.store, project_id, card, device="cpu")

    def add_image(
        self, pixels: NDArray[Any], labels: NDArray[np.int32] | None = None, name: str = "a.png"
    ) -> Image:
        """Store ``pixels`` as a PNG original and, with ``labels``, a manual version."""
        image = Image.new(
            self.project.id, name, size=1, content_type="image/png", blob_key=f"o/{name}"
        )
        self.blobs.put(image.blob_key, png(pixels))
        self.images.add_many([image])
        facts = {"width": pixels.shape[1], "height": pixels.shape[0], "channels": 1}
        self.images.update_status(image.id, [ImageStatus.UPLOADING], ImageStatus.READY, **facts)
        if labels is not None:
            self.save_labels(image, labels)
        return image

    def save_labels(self, image: Image, labels: NDArray[np.int32]) -> None:
        polygons = polygons_from_labels(labels)
        document = {
            "schema": SEGMENTATION_SCHEMA,
            "image": {"name": image.name, "width": labels.shape[1], "height": labels.shape[0]},
            "model": {"name": "manual", "version": ""},
            "threshold": None,
            "polygons": [p.to_document() for p in polygons],
        }
        latest = self.images.get_version(image.id)
        number = 0 if latest is None else latest.version
        key = document_key(self.project.id, image.id, number + 1)
        save_document(self.blobs, key, document)
        record = SegmentationVersion(
            image_id=image.id,
            version=0,
            blob_key=key,
            object_count=len(polygons),
            model="manual",
            threshold=None,
            source="manual",
            job_id=None,
            created_by="alice",
        )
        self.images.add_version(image.id, number, record)
        self.images.update_status(image.id, [ImageStatus.READY], ImageStatus.SEGMENTED)

    def add_nuclei(self, count: int, *, side: int = 96, seed: int = 0) -> list[Image]:
        added = []
        for index in range(count):
            pixels, labels = synthetic_nuclei(
                (side, side), count=side * side // 900, seed=seed + index
            )
            added.append(self.add_image(pixels, labels, name=f"n{index}.png"))
        return added

    def register_checkpoint(self, name: str, net: Any, meta: CheckpointMeta) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "w.pt"
            save_checkpoint(path, net, meta)
            weights = path.read_bytes()
        self.register(name, weights, "checkpoint", meta.architecture)

    def register(
        self, name: str, weights: bytes, model_format: Any, architecture: str = "unet",
        validation: dict[str, Any] | None = None,
    ) -> ProjectModelCard:  # fmt: skip
        card = ProjectModelCard(
            name=name,
            architecture=architecture,
            format=model_format,
            origin="imported",
            sha256=hashlib.sha256(weights).hexdigest(),
            job_id="j0",
            created_at=dt.datetime.now(dt.UTC),
            validation=validation or {},
        )
        self.store.register(self.project.id, card, weights)
        return card

    def upload(self, data: bytes, upload_id: str = "u1") -> str:
        key = upload_key(self.project.id, upload_id)
        self.blobs.put(key, data)
        return key

    def job(self, kind: Any, model: str, **options: Any) -> Job:
        return Job.new(
            self.project.id, model=model, threshold=0.5, total=1, created_by="alice",
            options=options, kind=kind,
        )  # fmt: skip


def tiny_checkpoint(widths: tuple[int, ...] = (8, 16), seed: int = 0) -> tuple[Any, CheckpointMeta]:
    """A freshly initialised (untrained) UNet and its metadata: a deliberately weak model."""
    import torch

    torch.manual_seed(seed)
    meta = CheckpointMeta(
        name="weak",
        version="1",
        architecture="unet",
        config={"widths": list(widths)},
        in_channels=1,
        outputs=("foreground", "boundary"),
        classes=("nucleus",),
    )
    return meta.build(), meta


def png(pixels: NDArray[Any]) -> bytes:
    buffer = io.BytesIO()
    PilImage.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def make_world(root: Path) -> ProjectWorld:
    database = SqliteDatabase(root / "meta.sqlite3")
    project = Project.new("Nuclei", owner_id="alice")
    SqliteProjectsRepository(database).create(project)
    blobs = FilesystemBlobStore(
        root / "blobs", base_url="http://127.0.0.1", signer=UrlSigner(b"k" * 32)
    )
    return ProjectWorld(SqliteImagesRepository(database), blobs, ProjectModelStore(blobs), project)
