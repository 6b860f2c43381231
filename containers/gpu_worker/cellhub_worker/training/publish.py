"""Writing a trained net as a checkpoint with full provenance, scoring it, and its model card.

Provenance (``CheckpointMeta.provenance``) records the data source, the split, a SHA-256
over the training file list, the git commit the code was at (``-dirty`` when the tree had
local changes), every hyper-parameter, the seed, the date, the steps taken and the wall
time. Scores, once measured with :func:`score_checkpoint`, name the folder they were
measured on (``provenance.scored_on``) so a card never passes off one split for another.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import torch

from cellhub_worker.checkpoint import (
    CheckpointMeta,
    Normalization,
    Provenance,
    read_checkpoint_meta,
    rewrite_meta,
)
from cellhub_worker.training.data import TrainingSet
from cellhub_worker.training.loop import TrainConfig, TrainResult
from cellhub_worker.training.targets import OUTPUTS


def checkpoint_meta(
    *,
    name: str,
    version: str,
    config: TrainConfig,
    data: TrainingSet,
    result: TrainResult,
    normalization: Normalization,
    classes: tuple[str, ...],
    description: str,
) -> CheckpointMeta:
    """The metadata of a freshly trained net, before any scores are known."""
    provenance = Provenance.model_validate(
        {
            "data": data.data,
            "split": data.split,
            "commit": git_commit(),
            "hyperparameters": config.as_dict(),
            "seed": config.seed,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "file_list_sha256": data.file_list_sha256,
            "training_images": len(data.images),
            "steps": result.steps,
            "stopped_early": result.stopped_early,
            "train_seconds": round(result.seconds, 1),
            "final_loss": round(sum(result.losses[-20:]) / max(1, len(result.losses[-20:])), 4),
            "torch": torch.__version__,
        }
    )
    return CheckpointMeta(
        name=name,
        version=version,
        architecture=config.architecture,
        config=config.net_config(),
        in_channels=data.in_channels,
        outputs=OUTPUTS,
        normalization=normalization,
        classes=classes,
        tile_size=512,
        provenance=provenance,
        description=description,
    )


def score_checkpoint(
    path: Path, folder: Path, *, device: str | None = "cpu"
) -> tuple[dict[str, float], str]:
    """Evaluate the checkpoint at ``path`` on an annotated folder and store the pooled scores.

    The checkpoint is rewritten in place (same storage precision) with ``scores`` and
    ``provenance.scored_on``; returns the scores and the file's new SHA-256.
    """
    from cellhub_worker.evaluation.runner import evaluate_folder
    from cellhub_worker.learned import LearnedSegmenter

    evaluation = evaluate_folder(LearnedSegmenter(path, device=device), folder)
    scores = {k: round(v, 4) for k, v in evaluation.summary().items()}
    meta = read_checkpoint_meta(path)
    provenance = meta.provenance.model_copy(update={"scored_on": str(folder)})
    speed = f"{scores['ms_per_image']:.0f} ms/image on CPU over {folder} (mean image size)"
    updated = meta.model_copy(
        update={"scores": scores, "provenance": provenance, "speed_notes": speed}
    )
    return scores, rewrite_meta(path, path, updated)


def git_commit() -> str:
    """``HEAD``'s hash, with ``-dirty`` when tracked files differ; ``""`` outside a checkout."""
    here = Path(__file__).parent
    try:
        commit = _git(here, "rev-parse", "HEAD")
        dirty = _git(here, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return ""
    return commit + ("-dirty" if dirty else "")


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
    )
    return done.stdout.strip()
