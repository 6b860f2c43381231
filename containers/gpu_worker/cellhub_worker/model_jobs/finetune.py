"""Fine-tuning a model on a project's own segmentations, kept only if it scores better.

Steps, each reported to the caller's ``progress`` as one unit:

1. read the segmented images (:mod:`.project_data`; at most ``max_images``, a seeded subset
   of a larger project chosen before decoding), hold out a seeded slice by image id and
   refuse (``InvalidParameter``) a project with too few images or training objects;
2. ``baseline``: score the start model on the held-out images;
3. ``epoch-0001`` ...: train from the start checkpoint's weights with the ordinary training
   loop (:func:`cellhub_worker.training.loop.train`; mixed precision on CUDA). An epoch is a
   fixed number of optimiser steps, one cosine schedule spanning all epochs;
4. ``final``: score the new weights on the same held-out images.

The new model is accepted only when its held-out AP@0.5 is strictly higher than the start
model's; the artifact is then a checkpoint in our format whose provenance names the project
data, the start model and both sets of held-out scores. On CPU the same project, options and
thread count give the same weights and scores (the loop's determinism).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cellhub.domain.jobs import Job
from cellhub.errors import InvalidParameter
from cellhub.ports.blob_store import BlobStore
from cellhub.ports.images_repository import ImagesRepository
from cellhub.ports.model_jobs import ModelArtifact, ModelJobOutcome, Progress
from cellhub.segmenter import Segmenter
from cellhub.services.project_models import ProjectModelCard, ProjectModelStore
from cellhub_worker.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
from cellhub_worker.learned import LearnedSegmenter
from cellhub_worker.model_jobs.finetune_options import FinetuneOptions
from cellhub_worker.model_jobs.project_data import (
    ProjectSample,
    read_project_data,
    split_samples,
    training_set,
)
from cellhub_worker.model_jobs.scoring import PRIMARY_SCORE, held_out_scores
from cellhub_worker.model_jobs.start_model import start_checkpoint
from cellhub_worker.nets import stride_multiple_of
from cellhub_worker.training.loop import TrainConfig, train
from cellhub_worker.training.publish import checkpoint_meta

# Steps per epoch when the options leave it open: bounds for tiny and huge projects.
_MIN_STEPS_PER_EPOCH = 4
_MAX_STEPS_PER_EPOCH = 200
# Heartbeats inside the loop come at most this often (each may be a network call).
_HEARTBEAT_SECONDS = 10.0


def finetune(
    job: Job,
    *,
    images: ImagesRepository,
    blobs: BlobStore,
    store: ProjectModelStore,
    segmenter_for: Callable[[str, str], Segmenter],
    progress: Progress,
    heartbeat: Callable[[], None],
    device: str,
) -> ModelJobOutcome:
    """Run the four steps of the module docstring for ``job`` (kind ``finetune``)."""
    began = time.monotonic()
    options = FinetuneOptions.from_options(job.options)
    project = job.project_id
    data = read_project_data(
        images, blobs, project, max_images=options.max_images, seed=options.seed
    )
    heartbeat()
    training, held_out = split_samples(
        data.samples, holdout_fraction=options.holdout_fraction, seed=options.seed
    )
    objects = sum(s.objects for s in training)
    if objects < options.min_objects:
        raise InvalidParameter(
            f"fine-tuning needs at least {options.min_objects} segmented objects in the "
            f"training images; the project's {len(training)} training image(s) hold {objects}",
            objects=objects,
            min_objects=options.min_objects,
        )
    with tempfile.TemporaryDirectory(prefix="cellhub-finetune-") as folder:
        # Resolved before the baseline, so a start model that cannot be trained fails fast.
        start_path, start_sha = start_checkpoint(store, project, job.model, Path(folder))
        net, start_meta = load_checkpoint(start_path)
        start_segmenter = segmenter_for(project, job.model)
        baseline = held_out_scores(start_segmenter, held_out, heartbeat=heartbeat)
        progress("baseline")
        config = _train_config(start_meta, options, training, stride_multiple_of(net))
        data_set = training_set(
            training,
            project_id=project,
            in_channels=start_meta.in_channels,
            normalization=start_meta.normalization,
            split=f"project {project} training slice (seed {options.seed}, "
            f"{len(held_out)} of {len(data.samples)} images held out)",
        )
        result = train(
            data_set,
            config,
            device=device,
            initial=net,
            progress=_epoch_reporter(config.steps // options.epochs, progress, heartbeat),
        )
        meta = checkpoint_meta(
            name=options.name,
            version="1",
            config=config,
            data=data_set,
            result=result,
            normalization=start_meta.normalization,
            classes=start_meta.classes,
            description=f"{job.model} fine-tuned on project {project}'s segmentations",
        )
        new_path = Path(folder) / "new.pt"
        save_checkpoint(new_path, result.net, meta)
        new_scores = held_out_scores(
            LearnedSegmenter(new_path, device=device), held_out, heartbeat=heartbeat
        )
        progress("final")
        meta = _with_scores(meta, job, start_sha, baseline, new_scores, held_out)
        save_checkpoint(new_path, result.net, meta)
        weights = new_path.read_bytes()
    accepted = new_scores[PRIMARY_SCORE] > baseline[PRIMARY_SCORE]
    report: dict[str, Any] = {
        "kind": "finetune",
        "start_model": job.model,
        "new_model": options.name,
        "accepted": accepted,
        "start_scores": baseline,
        "new_scores": new_scores,
        "images": {"training": len(training), "held_out": len(held_out)},
        "objects": {"training": objects, "held_out": sum(s.objects for s in held_out)},
        "held_out_image_ids": [s.image_id for s in held_out],
        "skipped_images": [{"image_id": i, "reason": r} for i, r in data.skipped],
        "segmented_images": data.segmented_images,
        "left_out_by_cap": data.left_out_by_cap,
        "max_images": options.max_images,
        "epochs": options.epochs,
        "steps": result.steps,
        "steps_per_epoch": config.steps // options.epochs,
        "train_seconds": round(result.seconds, 1),
        "seconds": round(time.monotonic() - began, 1),
        "device": device,
        "seed": options.seed,
        "final_loss": meta.provenance.model_dump().get("final_loss"),
    }
    if not accepted:
        reason = (
            f"the fine-tuned model's held-out AP@0.5 {new_scores[PRIMARY_SCORE]:.3f} does not "
            f"beat the start model's {baseline[PRIMARY_SCORE]:.3f}"
        )
        return ModelJobOutcome(accepted=False, report=report, reason=reason)
    card = ProjectModelCard(
        name=options.name,
        architecture=meta.architecture,
        format="checkpoint",
        origin="fine-tuned",
        base_model=job.model,
        description=meta.description,
        classes=meta.classes,
        scores=new_scores,
        speed=f"{new_scores['ms_per_image']:.0f} ms/image on {device} over the held-out images",
        data=data_set.data,
        sha256=hashlib.sha256(weights).hexdigest(),
        job_id=job.id,
        created_at=dt.datetime.now(dt.UTC),
        validation={
            "held_out_images": len(held_out),
            "start_scores": baseline,
            "new_scores": new_scores,
        },
    )
    return ModelJobOutcome(accepted=True, report=report, artifact=ModelArtifact(card, weights))


def steps_per_epoch_for(samples: tuple[ProjectSample, ...], batch_size: int, crop: int) -> int:
    """Enough steps that an epoch's crops cover about as many pixels as the images hold."""
    pixels = sum(s.labels.size for s in samples)
    steps = math.ceil(pixels / (batch_size * crop * crop))
    return min(_MAX_STEPS_PER_EPOCH, max(_MIN_STEPS_PER_EPOCH, steps))


def _train_config(
    start: CheckpointMeta,
    options: FinetuneOptions,
    training: tuple[ProjectSample, ...],
    multiple: int,
) -> TrainConfig:
    """The loop's settings: the start net's architecture and config, the job's schedule."""
    widths = start.config.get("widths")
    if not isinstance(widths, list | tuple) or not widths:
        raise InvalidParameter(f"start model {start.name!r} records no layer widths")
    smallest = min(min(s.labels.shape) for s in training)
    crop = max(multiple, min(options.crop, smallest) // multiple * multiple)
    per_epoch = options.steps_per_epoch or steps_per_epoch_for(training, options.batch_size, crop)
    steps = per_epoch * options.epochs
    return TrainConfig(
        architecture=start.architecture,
        widths=tuple(int(w) for w in widths),
        net_options={k: v for k, v in start.config.items() if k != "widths"},
        crop=crop,
        batch_size=options.batch_size,
        steps=steps,
        learning_rate=options.learning_rate,
        warmup_steps=max(1, steps // 10),
        seed=options.seed,
    )


def _epoch_reporter(
    per_epoch: int, progress: Progress, heartbeat: Callable[[], None]
) -> Callable[[int, float], None]:
    """The loop's per-step callback: a progress unit per epoch, heartbeats in between."""
    last = [time.monotonic()]

    def step_done(step: int, loss: float) -> None:
        now = time.monotonic()
        if step % per_epoch == 0:
            progress(f"epoch-{step // per_epoch:04d}")
        if step % per_epoch == 0 or now - last[0] >= _HEARTBEAT_SECONDS:
            heartbeat()
            last[0] = now

    return step_done


def _with_scores(
    meta: CheckpointMeta,
    job: Job,
    start_sha: str,
    baseline: dict[str, float],
    new_scores: dict[str, float],
    held_out: tuple[ProjectSample, ...],
) -> CheckpointMeta:
    """``meta`` with the held-out scores and where the start weights came from."""
    extra = {
        "initialised_from": f"{job.model} sha256 {start_sha}",
        "scored_on": f"project {job.project_id} held-out images ({len(held_out)})",
        "held_out_image_ids": [s.image_id for s in held_out],
        "start_scores": baseline,
        "job_id": job.id,
    }
    provenance = meta.provenance.model_copy(update=extra)
    speed = f"{new_scores['ms_per_image']:.0f} ms/image over the held-out images"
    return meta.model_copy(
        update={"scores": new_scores, "provenance": provenance, "speed_notes": speed}
    )
