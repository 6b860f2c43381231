"""Inference speed of the learned nets: plain fp32 NCHW eval against the optimised path.

Bar (product spec): on CPU the optimised path (:func:`cellhub_worker.inference.plan_for`)
is at least 2x faster than plain fp32 NCHW eval, for every net at its default widths, per
image at 512² and 1024² (1 input channel, 2 outputs, a checkpoint tile of 512 px with 64 px
overlap). Plain runs 1024² as 3 x 3 tiles of 512 px; the optimised CPU plan's tiles are at
least ``CPU_TILE`` px, so it runs 1024² as one tile (the "tiles" column shows both). A second
table times the alternative plans at 512² that the choice was made from; a CUDA table is
added when a GPU is present (for reference).

Weights are random but batch norms are fitted to an image first, as in a trained net: an
untouched random net decays to subnormal activations, which time nothing real. Each figure
is the fastest of several runs, plain and optimised interleaved so load from other processes
hits both alike. Run from the repository root: ``.venv/bin/python bench/bench_inference.py``;
the exit status is 1 when a bar is missed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "layers"), str(_ROOT / "containers" / "gpu_worker"), str(_ROOT)]

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from bench.table import print_table  # noqa: E402
from cellhub_worker.checkpoint import CheckpointMeta  # noqa: E402
from cellhub_worker.device import resolve_device  # noqa: E402
from cellhub_worker.inference import ExecutionPlan, Predictor, plan_for  # noqa: E402
from cellhub_worker.net_surgery import fused_convolutions_available  # noqa: E402
from cellhub_worker.tiling import plan_tiles  # noqa: E402

BAR_SPEEDUP = 2.0
ARCHITECTURES = ("unet", "cbam_resunet", "hrnet")
SIZES = {512: 8, 1024: 3}  # image side -> timed runs of each path
ALTERNATIVES = {
    "plain fp32 NCHW": ExecutionPlan(),
    "channels-last fp32": ExecutionPlan(channels_last=True),
    "+ BN folded": ExecutionPlan(channels_last=True, fold_batch_norm=True),
    "+ bf16 autocast": ExecutionPlan(
        channels_last=True, fold_batch_norm=True, autocast_dtype=torch.bfloat16
    ),
    "+ bf16 weights": ExecutionPlan(
        channels_last=True, fold_batch_norm=True, weight_dtype=torch.bfloat16
    ),
    "+ packed convs": ExecutionPlan(
        channels_last=True,
        fold_batch_norm=True,
        weight_dtype=torch.bfloat16,
        pack_convolutions=fused_convolutions_available(),
    ),
}


def trained_like(architecture: str) -> tuple[nn.Module, CheckpointMeta]:
    """A default-width net whose batch norms hold statistics of a real forward pass."""
    meta = CheckpointMeta(
        name=f"bench-{architecture}",
        version="0",
        architecture=architecture,
        in_channels=1,
        outputs=("foreground", "boundary"),
    )
    torch.manual_seed(0)
    net = meta.build()
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None
    with torch.no_grad():
        net.train()(torch.rand(2, 1, 256, 256))
    return net.eval(), meta


def fastest_ms(
    predictors: dict[str, Predictor], image: np.ndarray, repeats: int
) -> dict[str, float]:
    """Best wall time of each predictor on ``image`` in ms; one warm-up each, then
    interleaved runs."""
    for predictor in predictors.values():
        predictor.predict(image)
    best = dict.fromkeys(predictors, float("inf"))
    for _ in range(repeats):
        for key, predictor in predictors.items():
            start = time.perf_counter()
            predictor.predict(image)
            best[key] = min(best[key], (time.perf_counter() - start) * 1000)
    return best


def main() -> None:
    cpu = resolve_device("cpu")
    rng = np.random.default_rng(0)
    images = {size: rng.random((size, size, 1), dtype=np.float32) for size in SIZES}
    rows, alternatives, cuda_rows, missed = [], [], [], False
    chosen = plan_for(cpu, optimize=True)
    for architecture in ARCHITECTURES:
        net, meta = trained_like(architecture)
        plain = Predictor(net, meta, cpu, optimize=False)
        fast = Predictor(net, meta, cpu, optimize=True)
        for size, repeats in SIZES.items():
            image = images[size]
            ms = fastest_ms({"plain": plain, "fast": fast}, image, repeats)
            speedup = ms["plain"] / ms["fast"]
            passed = speedup >= BAR_SPEEDUP
            missed |= not passed
            tiles = " → ".join(str(_tile_count(p, size)) for p in (plain, fast))
            rows.append(
                [
                    architecture,
                    f"{size}²",
                    tiles,
                    ms["plain"],
                    ms["fast"],
                    f"{speedup:.2f}x",
                    f"≥ {BAR_SPEEDUP:.0f}x",
                    "PASS" if passed else "FAIL",
                ]
            )
        predictors = {k: Predictor(net, meta, cpu, plan=p) for k, p in ALTERNATIVES.items()}
        ms = fastest_ms(predictors, images[512], 6)
        base = ms["plain fp32 NCHW"]
        alternatives.append([architecture, *(f"{v:.0f} ({base / v:.2f}x)" for v in ms.values())])
        if torch.cuda.is_available():
            cuda_rows.extend(_cuda_rows(architecture, net, meta, images))
    print_table(
        f"ms per image on CPU ({torch.get_num_threads()} threads); optimised = {_describe(chosen)}",
        ["net", "image", "tiles", "plain fp32 NCHW", "optimised", "speed-up", "bar", "result"],
        rows,
    )
    print_table(
        "alternative plans on CPU at 512², ms (speed-up over plain)",
        ["net", *ALTERNATIVES],
        alternatives,
    )
    if cuda_rows:
        print_table(
            f"ms per image on {torch.cuda.get_device_name()} (reference, no bar)",
            ["net", "image", "plain fp32 NCHW", "optimised", "speed-up"],
            cuda_rows,
        )
    if missed:
        raise SystemExit(1)


def _cuda_rows(
    architecture: str, net: nn.Module, meta: CheckpointMeta, images: dict[int, np.ndarray]
) -> list[list[object]]:
    cuda = torch.device("cuda")
    plain = Predictor(net, meta, cuda, optimize=False)
    fast = Predictor(net, meta, cuda, optimize=True)
    rows: list[list[object]] = []
    for size, image in images.items():
        # predict() returns host memory, so each timed call ends synchronised.
        ms = fastest_ms({"plain": plain, "fast": fast}, image, 10)
        rows.append(
            [architecture, f"{size}²", ms["plain"], ms["fast"], f"{ms['plain'] / ms['fast']:.2f}x"]
        )
    return rows


def _tile_count(predictor: Predictor, size: int) -> int:
    grid = plan_tiles(
        size, size, tile=predictor.tile_size, overlap=predictor.overlap, multiple=predictor.multiple
    )
    return len(grid.positions)


def _describe(plan: ExecutionPlan) -> str:
    parts = ["channels-last" if plan.channels_last else "NCHW"]
    if plan.fold_batch_norm:
        parts.append("BN folded")
    parts.append(str(plan.weight_dtype).removeprefix("torch.") + " weights")
    if plan.autocast_dtype is not None:
        parts.append(str(plan.autocast_dtype).removeprefix("torch.") + " autocast")
    if plan.pack_convolutions:
        parts.append("packed convs + fused ReLU")
    if plan.min_tile_size:
        parts.append(f"tiles ≥ {plan.min_tile_size} px, batch {plan.batch_size}")
    return ", ".join(parts)


if __name__ == "__main__":
    main()
