"""The optimisation loop: batches of augmented crops, AdamW with a warm-up + cosine schedule.

Loss per batch: binary cross-entropy on the ``foreground`` and ``boundary`` planes (see
:mod:`cellhub_worker.training.targets`) plus a soft Dice term on each, which keeps the thin
boundary plane from collapsing to zero. Mixed precision (bf16, or fp16 with a gradient
scaler) runs on CUDA only; CPU trains in float32.

Determinism: the seed fixes the net's initial weights (``torch.manual_seed``) and every
crop and augmentation (one ``numpy`` generator); deterministic algorithms are requested,
so the same seed, data and step count give the same weights on the same machine and
thread count. ``max_minutes`` bounds the wall time instead: the cosine then follows
whichever runs out first, steps or time, and training stops at the deadline. That breaks
the guarantee (step times vary), so the checkpoint records the steps actually taken.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from cellhub_worker.nets import build_net, stride_multiple_of
from cellhub_worker.training.augment import Augmentation, random_crop
from cellhub_worker.training.data import TrainingSet
from cellhub_worker.training.targets import OUTPUTS, targets_from_labels


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; all of them are recorded in the checkpoint's provenance."""

    architecture: str = "unet"
    widths: tuple[int, ...] = (16, 32, 64, 128)
    net_options: dict[str, Any] = field(default_factory=dict)
    crop: int = 256
    batch_size: int = 8
    steps: int = 1000
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    seed: int = 0
    boundary_weight: float = 1.0
    augmentation: Augmentation = field(default_factory=Augmentation)
    max_minutes: float | None = None

    def net_config(self) -> dict[str, Any]:
        return {"widths": list(self.widths), **self.net_options}

    def as_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        fields["widths"] = list(self.widths)
        return fields


@dataclass
class TrainResult:
    net: nn.Module
    losses: list[float]
    steps: int
    seconds: float
    stopped_early: bool


def train(
    data: TrainingSet,
    config: TrainConfig,
    *,
    device: str = "cpu",
    progress: Callable[[int, float], None] | None = None,
    initial: nn.Module | None = None,
) -> TrainResult:
    """Train a net of ``config.architecture`` on ``data``; return it in eval mode.

    ``initial``: weights to start from (fine-tuning; trained in place), else a fresh net.
    """
    target = torch.device(device)
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    rng = np.random.default_rng(config.seed)
    net = initial or build_net(
        config.architecture,
        in_channels=data.in_channels,
        out_channels=len(OUTPUTS),
        **config.net_config(),
    )
    net = net.to(target)
    if config.crop % stride_multiple_of(net):
        raise ValueError(f"crop {config.crop} is not a multiple of {stride_multiple_of(net)}")
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    amp_dtype = _amp_dtype(target)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    weights = _sampling_weights(data)
    losses: list[float] = []
    start = time.monotonic()
    stopped_early = False
    net.train()
    for step in range(config.steps):
        elapsed = time.monotonic() - start
        factor = learning_rate_factor(step, config.warmup_steps, config.steps)
        if config.max_minutes is not None:
            # A wall-time budget ends the cosine by the deadline even if the steps run out later.
            late = learning_rate_factor(
                round(config.steps * min(1.0, elapsed / (60 * config.max_minutes))),
                config.warmup_steps,
                config.steps,
            )
            factor = min(factor, late) if step >= config.warmup_steps else factor
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * factor
        images, targets = _batch(data, config, rng, weights)
        images, targets = images.to(target), targets.to(target)
        with torch.autocast(
            target.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None
        ):
            logits = net(images)
        loss = segmentation_loss(logits.float(), targets, config.boundary_weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(step + 1, losses[-1])
        if config.max_minutes is not None and time.monotonic() - start >= 60 * config.max_minutes:
            stopped_early = step + 1 < config.steps
            break
    return TrainResult(net.eval(), losses, len(losses), time.monotonic() - start, stopped_early)


def segmentation_loss(
    logits: torch.Tensor, targets: torch.Tensor, boundary_weight: float = 1.0
) -> torch.Tensor:
    """BCE + soft Dice on each plane of ``(N, 2, H, W)`` logits against {0, 1} targets."""
    bce = functional.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(
        dim=(0, 2, 3)
    )
    probabilities = logits.sigmoid()
    overlap = (probabilities * targets).sum(dim=(0, 2, 3))
    total = probabilities.sum(dim=(0, 2, 3)) + targets.sum(dim=(0, 2, 3))
    dice = 1.0 - (2.0 * overlap + 1.0) / (total + 1.0)
    per_plane = bce + dice
    return per_plane[0] + boundary_weight * per_plane[1:].sum()


def learning_rate_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up over ``warmup`` steps, then a cosine decay to zero at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _batch(
    data: TrainingSet, config: TrainConfig, rng: np.random.Generator, weights: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    crops, targets = [], []
    for _ in range(config.batch_size):
        item = data.images[int(rng.choice(len(data.images), p=weights))]
        crop, labels = random_crop(item.pixels, item.labels, config.crop, rng, config.augmentation)
        crops.append(crop.transpose(2, 0, 1))
        targets.append(targets_from_labels(labels))
    return torch.from_numpy(np.stack(crops)), torch.from_numpy(np.stack(targets))


def _sampling_weights(data: TrainingSet) -> np.ndarray:
    """Images are drawn in proportion to their area, so every pixel is equally likely."""
    areas = np.array([i.labels.size for i in data.images], dtype=np.float64)
    return areas / areas.sum()


def _amp_dtype(device: torch.device) -> torch.dtype | None:
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
