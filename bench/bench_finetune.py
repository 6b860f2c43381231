"""Fine-tuning a bundled model on a project's own segmentations, on the CPU.

The project: synthetic nuclei (:mod:`cellhub_worker.synthetic`) shown as dark objects on a
bright background, a domain the bundled fluorescence model ``nuclei-unet`` was never trained
on (its polarity rule inverts such images, so it starts above zero, not at it), with
exact labels saved as each image's segmentation version in local adapters (SQLite + files).
The fine-tuning job runs as the worker runs it (:class:`TorchModelJobRunner`) and the table
gives the held-out AP@0.5 of the start and the new model, the data used and the time per
epoch. Run from the repository root: ``./dev bench finetune`` or
``.venv/bin/python bench/bench_finetune.py [--images 12 --epochs 10 --side 256]``.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "layers"), str(_ROOT / "containers" / "gpu_worker"), str(_ROOT)]

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image as PilImage  # noqa: E402

from bench.table import print_table  # noqa: E402
from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore  # noqa: E402
from cellhub.adapters.local.sqlite_database import SqliteDatabase  # noqa: E402
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository  # noqa: E402
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository  # noqa: E402
from cellhub.adapters.local.url_signing import UrlSigner  # noqa: E402
from cellhub.domain.images import Image, ImageStatus, SegmentationVersion  # noqa: E402
from cellhub.domain.jobs import Job  # noqa: E402
from cellhub.domain.projects import Project  # noqa: E402
from cellhub.geometry import polygons_from_labels  # noqa: E402
from cellhub.results import SEGMENTATION_SCHEMA  # noqa: E402
from cellhub.services.project_models import ProjectModelStore  # noqa: E402
from cellhub.services.segmentation_documents import document_key, save_document  # noqa: E402
from cellhub_worker.model_jobs import TorchModelJobRunner  # noqa: E402
from cellhub_worker.registry import load_segmenter  # noqa: E402
from cellhub_worker.synthetic import synthetic_nuclei  # noqa: E402

START_MODEL = "nuclei-unet"


def build_project(
    root: Path, *, images: int, side: int
) -> tuple[SqliteImagesRepository, FilesystemBlobStore, str]:
    """A project of ``images`` dark-on-bright nuclei images, each with its exact labels."""
    database = SqliteDatabase(root / "meta.sqlite3")
    project = Project.new("Brightfield nuclei", owner_id="bench")
    SqliteProjectsRepository(database).create(project)
    blobs = FilesystemBlobStore(
        root / "blobs", base_url="http://127.0.0.1", signer=UrlSigner(b"k" * 32)
    )
    repository = SqliteImagesRepository(database)
    for index in range(images):
        pixels, labels = synthetic_nuclei((side, side), count=side * side // 1600, seed=index)
        shifted = (255 - pixels.astype(np.int32)).astype(np.uint8)
        # Fixed ids: the held-out split (by id and seed) is then the same on every run.
        image = replace(
            Image.new(
                project.id,
                f"bf{index}.png",
                size=1,
                content_type="image/png",
                blob_key=f"originals/{index}.png",
            ),
            id=f"bench{index:04d}",
        )
        buffer = io.BytesIO()
        PilImage.fromarray(shifted).save(buffer, format="PNG")
        blobs.put(image.blob_key, buffer.getvalue())
        repository.add_many([image])
        repository.update_status(image.id, [ImageStatus.UPLOADING], ImageStatus.READY)
        polygons = polygons_from_labels(labels)
        key = document_key(project.id, image.id, 1)
        save_document(
            blobs,
            key,
            {
                "schema": SEGMENTATION_SCHEMA,
                "image": {"name": image.name, "width": side, "height": side},
                "model": {"name": "manual", "version": ""},
                "threshold": None,
                "polygons": [p.to_document() for p in polygons],
            },
        )
        repository.add_version(
            image.id,
            0,
            SegmentationVersion(
                image.id,
                0,
                key,
                len(polygons),
                "manual",
                None,
                "manual",
                None,
                "bench",
            ),
        )
    return repository, blobs, project.id


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as folder:
        images, blobs, project_id = build_project(Path(folder), images=args.images, side=args.side)
        runner = TorchModelJobRunner(
            images=images,
            blobs=blobs,
            store=ProjectModelStore(blobs),
            segmenter_for=lambda _project, model: load_segmenter(model, device="cpu"),
            device="cpu",
        )
        options = {
            "name": "bf-nuclei",
            "epochs": args.epochs,
            "holdout_fraction": 0.25,
            "min_objects": 20,
            "seed": 0,
        }
        job = Job.new(
            project_id,
            model=START_MODEL,
            threshold=0.5,
            total=1,
            created_by="bench",
            options=options,
            kind="finetune",
        )
        began = time.perf_counter()
        outcome = runner.finetune(
            job, progress=lambda unit: print(unit, flush=True), heartbeat=lambda: None
        )
        seconds = time.perf_counter() - began
    report = outcome.report
    start, new = report["start_scores"], report["new_scores"]
    print_table(
        f"fine-tuning {START_MODEL} on {args.images} dark-on-bright nuclei images "
        f"{args.side}x{args.side}, CPU, {args.threads} threads",
        [
            "images (train/held-out)",
            "objects (train)",
            "epochs",
            "steps/epoch",
            "s/epoch",
            "start AP50",
            "new AP50",
            "start fg IoU",
            "new fg IoU",
            "accepted",
            "total s",
        ],
        [
            [
                f"{report['images']['training']}/{report['images']['held_out']}",
                report["objects"]["training"],
                report["epochs"],
                report["steps_per_epoch"],
                report["train_seconds"] / report["epochs"],
                start["ap50"],
                new["ap50"],
                start["fg_iou"],
                new["fg_iou"],
                outcome.accepted,
                seconds,
            ]
        ],
    )
    return 0 if outcome.accepted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
