"""Running a loaded net over whole images: device-specific optimisation plus tiled prediction.

A :class:`Predictor` is built once per process and reused for every image. ``predict`` takes
a ``(Y, X, C)`` float32 image in ``[0, 1]`` (already normalised, ``C`` = the net's input
channels) and returns ``(C_out, Y, X)`` float32 sigmoid probabilities, one plane per entry
of the checkpoint's ``outputs``. See :mod:`cellhub_worker.tiling` for the tile layout.

Peak memory of ``predict`` beyond the caller's image: the float32 output
(``4 * C_out * Y * X`` bytes; 800 MB for two outputs of a 10,000 x 10,000 image), one batch
of tiles in and out (``4 * batch * tile² * (C + C_out)`` bytes, ~6 MB for 2 x 512² tiles) and
the net's activations for that batch. No full-size padded copy or weight image is made:
a 10,000 x 10,000 image through HRNet raised peak RSS by 764 MB, the output's own size.

The optimised path (``optimize=True``) was chosen by measurement on a shared 2-core
AMD EPYC (Zen 4, avx512_bf16), per 512² image, UNet / CBAM-ResUNet / HRNet at default
widths (``bench/bench_inference.py``; runs vary by ~15% with load):

    plain fp32 NCHW (no_grad)                 ~140-225 / ~200-270 / ~35-49 ms
    channels-last fp32                        1.0-1.6x   1.0-1.1x   1.0-1.2x
    + conv-BN folded                          1.0-1.6x   1.1x       1.1-1.4x
    + bf16 autocast                           2.3-3.9x   1.9-2.1x   1.5-2.0x
    + bf16 weights                            2.2-3.9x   2.0-2.2x   1.6-2.1x
    + packed convs, ReLU fused (chosen)       2.3-3.9x   2.3x       2.2-2.3x
    torch.compile (inductor), bf16            ~1.1-1.4x over eager bf16 after a 20-30 s
                                              compile, too slow to start for one-off runs

so a CPU with native bf16 dot products (avx512_bf16 or AMX) runs a BN-folded, channels-last
bfloat16 copy of the net; other CPUs keep float32 (oneDNN would emulate bf16). Every conv is
packed once into oneDNN's blocked weight layout with a following ReLU fused in (eager
``Conv2d`` re-lays its weights out per call and runs ReLU as a separate pass). Tiles are at
least :data:`CPU_TILE` px and run one at a time: a 1024² image is one pass, not 3 x 3 tiles
of 512 px computing 2.25x its pixels; one 1024² tile's bf16 activations peak at ~160 MB
(UNet, CBAM-ResUNet) or ~20 MB (HRNet) at default widths. CUDA runs a folded channels-last
net under autocast (bf16 where supported, else fp16). Probabilities are always computed in
float32. On UNet and HRNet trained briefly on synthetic nuclei, bf16 moved probabilities by
~2e-4 on average and flipped the 0.5 threshold on ~1e-4 of pixels, none further than 0.1 off.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from cellhub.errors import InvalidParameter
from cellhub_worker.checkpoint import CheckpointMeta
from cellhub_worker.net_surgery import (
    fold_batch_norms,
    fused_convolutions_available,
    pack_convolutions,
)
from cellhub_worker.nets import stride_multiple_of
from cellhub_worker.tiling import TileGrid, extract_tile, plan_tiles

DEFAULT_OVERLAP = 64
# Tiles per forward pass: two cores gain nothing from bigger CPU batches; GPUs need them.
_DEFAULT_BATCH = {"cpu": 2, "cuda": 8}
# Smallest tile side of the optimised CPU plan (module docstring: speed and memory).
CPU_TILE = 1024
# Rows normalised per step, bounding the temporary weight band to ~10 MB at 10,000 px wide.
_NORMALISE_ROWS = 256


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """How a net runs on a device: layout, folding, weight dtype and autocast dtype."""

    channels_last: bool = False
    fold_batch_norm: bool = False
    weight_dtype: torch.dtype = torch.float32
    autocast_dtype: torch.dtype | None = None
    # CPU only: convolutions prepacked for oneDNN with ReLU fused (see :func:`pack_convolutions`).
    pack_convolutions: bool = False
    # Tiles grow to at least this side (never past the image) and run ``batch_size`` at a time.
    min_tile_size: int = 0
    batch_size: int | None = None

    @property
    def input_dtype(self) -> torch.dtype:
        return self.weight_dtype


PLAIN = ExecutionPlan()


def plan_for(device: torch.device, *, optimize: bool) -> ExecutionPlan:
    """The fastest accurate plan measured for ``device`` (module docstring), or :data:`PLAIN`."""
    if not optimize:
        return PLAIN
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        return ExecutionPlan(
            channels_last=True,
            fold_batch_norm=True,
            autocast_dtype=torch.bfloat16 if bf16 else torch.float16,
        )
    return ExecutionPlan(
        channels_last=True,
        fold_batch_norm=True,
        weight_dtype=torch.bfloat16 if cpu_has_native_bf16() else torch.float32,
        pack_convolutions=fused_convolutions_available(),
        min_tile_size=CPU_TILE,
        batch_size=1,
    )


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bfloat16 convolutions in hardware (avx512_bf16 / AMX) here."""
    return torch.backends.mkldnn.is_available() and bool(
        torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


def prepare_net(net: nn.Module, plan: ExecutionPlan, device: torch.device) -> nn.Module:
    """An eval-mode copy of ``net`` on ``device`` laid out and typed per ``plan``.

    The caller's net is left untouched (it may still be trained or saved).
    """
    prepared = copy.deepcopy(net).eval()
    if plan.fold_batch_norm:
        fold_batch_norms(prepared)
    prepared = prepared.to(device=device, dtype=plan.weight_dtype)
    if plan.channels_last:
        # What ``Module.to(memory_format=...)`` does, spelled out for the type checker.
        for tensor in [*prepared.parameters(), *prepared.buffers()]:
            if tensor.dim() == 4:
                tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)
    prepared.requires_grad_(False)
    if plan.pack_convolutions and device.type == "cpu":
        pack_convolutions(prepared)
    return prepared


class Predictor:
    """A net prepared for one device, predicting probabilities for whole images by tiles.

    ``optimize`` picks :func:`plan_for` the device (``False``: plain fp32 NCHW eval); an
    explicit ``plan`` overrides it (benchmarks compare plans this way). ``tile_size``
    defaults to the checkpoint's, raised to the plan's ``min_tile_size``; ``overlap`` to
    64 px (a quarter tile at most); ``batch_size`` (tiles per forward pass) to the plan's,
    else 2 on CPU and 8 on CUDA.
    """

    def __init__(
        self,
        net: nn.Module,
        meta: CheckpointMeta,
        device: torch.device | str = "cpu",
        *,
        optimize: bool = True,
        plan: ExecutionPlan | None = None,
        batch_size: int | None = None,
        tile_size: int | None = None,
        overlap: int | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.meta = meta
        if self.device.type == "cuda":
            # Tiles share one shape, so cuDNN's per-shape algorithm search pays off at once.
            torch.backends.cudnn.benchmark = True
        self.plan = plan or plan_for(self.device, optimize=optimize)
        self.net = prepare_net(net, self.plan, self.device)
        self.multiple = stride_multiple_of(net)
        self.tile_size = (
            max(meta.tile_size, self.plan.min_tile_size) if tile_size is None else tile_size
        )
        rounded = max(self.multiple, self.tile_size // self.multiple * self.multiple)
        self.overlap = min(DEFAULT_OVERLAP, rounded // 4) if overlap is None else overlap
        default_batch = self.plan.batch_size or _DEFAULT_BATCH.get(self.device.type, 1)
        self.batch_size = default_batch if batch_size is None else batch_size
        if self.batch_size < 1:
            raise InvalidParameter(f"batch_size must be >= 1, got {self.batch_size}")
        # Validate tile and overlap once, not per image.
        plan_tiles(1, 1, tile=self.tile_size, overlap=self.overlap, multiple=self.multiple)

    def predict(self, image: NDArray[Any]) -> NDArray[np.float32]:
        """``(Y, X, C)`` float32 in ``[0, 1]`` → ``(C_out, Y, X)`` float32 probabilities."""
        if image.ndim != 3 or image.shape[2] != self.meta.in_channels:
            raise InvalidParameter(
                f"expected (Y, X, {self.meta.in_channels}) pixels, got shape {image.shape}"
            )
        height, width = image.shape[:2]
        grid = plan_tiles(
            height, width, tile=self.tile_size, overlap=self.overlap, multiple=self.multiple
        )
        positions = grid.positions
        if len(positions) == 1:
            # One (padded) tile: its probabilities, cropped, are the answer; nothing to blend.
            tile = extract_tile(image, 0, 0, grid.rows.size, grid.cols.size)
            return np.ascontiguousarray(self.forward_tiles(tile[np.newaxis])[0, :, :height, :width])
        out = np.zeros((len(self.meta.outputs), height, width), dtype=np.float32)
        for first in range(0, len(positions), self.batch_size):
            batch = positions[first : first + self.batch_size]
            tiles = np.stack(
                [
                    extract_tile(
                        image,
                        grid.rows.starts[i],
                        grid.cols.starts[j],
                        grid.rows.size,
                        grid.cols.size,
                    )
                    for i, j in batch
                ]
            )
            for (i, j), probabilities in zip(batch, self.forward_tiles(tiles), strict=True):
                _accumulate(out, grid, i, j, probabilities)
        _normalise(out, grid)
        return out

    def forward_tiles(self, tiles: NDArray[np.float32]) -> NDArray[np.float32]:
        """``(B, H, W, C)`` float32 tiles (``H``, ``W`` multiples of the stride multiple) →
        ``(B, C_out, H, W)`` float32 probabilities (possibly a strided view)."""
        # NHWC memory viewed as NCHW is exactly the channels-last layout: no copy needed.
        batch = torch.from_numpy(tiles).permute(0, 3, 1, 2)
        memory_format = torch.channels_last if self.plan.channels_last else torch.contiguous_format
        batch = batch.to(self.device, self.plan.input_dtype).contiguous(memory_format=memory_format)
        with torch.inference_mode():
            if self.plan.autocast_dtype is not None:
                with torch.autocast(self.device.type, dtype=self.plan.autocast_dtype):
                    logits = self.net(batch)
            else:
                logits = self.net(batch)
            # The logits are a temporary: convert and squash them in place, in any layout.
            probabilities = logits.float().sigmoid_()
        return probabilities.cpu().numpy()


def _accumulate(
    out: NDArray[np.float32], grid: TileGrid, i: int, j: int, tile: NDArray[np.float32]
) -> None:
    """Add one tile's ``(C_out, h, w)`` probabilities into ``out``, weighted by its window."""
    top, left = grid.rows.starts[i], grid.cols.starts[j]
    rows = min(grid.rows.size, grid.rows.length - top)
    cols = min(grid.cols.size, grid.cols.length - left)
    weighted = tile[:, :rows, :cols] * grid.window(i, j)[:rows, :cols]
    out[:, top : top + rows, left : left + cols] += weighted


def _normalise(out: NDArray[np.float32], grid: TileGrid) -> None:
    """Divide the weighted sums in ``out`` by the summed weights, a band of rows at a time."""
    for top in range(0, grid.rows.length, _NORMALISE_ROWS):
        band = slice(top, top + _NORMALISE_ROWS)
        out[:, band, :] /= np.outer(grid.rows.total[band], grid.cols.total)


# (quarter turns, horizontal flip) of each symmetry set; ``d4`` adds the quarter turns.
_SYMMETRIES: dict[str, tuple[tuple[int, bool], ...]] = {
    "none": ((0, False),),
    "flips": ((0, False), (0, True), (2, False), (2, True)),
    "d4": tuple((turns, flip) for turns in range(4) for flip in (False, True)),
}


def predict_symmetric(
    predictor: Predictor, image: NDArray[Any], symmetries: str = "none"
) -> NDArray[np.float32]:
    """``predictor.predict`` averaged over the ``symmetries`` of :data:`_SYMMETRIES`.

    ``image``: ``(Y, X, C)`` float32; returns ``(C_out, Y, X)`` float32 probabilities, each
    transformed prediction mapped back onto the original grid before averaging. A net's
    errors differ between orientations while nuclei do not, so averaging removes some.
    """
    if symmetries not in _SYMMETRIES:
        raise InvalidParameter(f"unknown test-time augmentation {symmetries!r}")
    total: NDArray[np.float32] | None = None
    for turns, flip in _SYMMETRIES[symmetries]:
        view = np.rot90(image, turns, axes=(0, 1))
        if flip:
            view = view[:, ::-1]
        predicted = predictor.predict(np.ascontiguousarray(view))
        if flip:
            predicted = predicted[:, :, ::-1]
        restored = np.rot90(predicted, -turns, axes=(1, 2))
        total = np.array(restored, dtype=np.float32) if total is None else total + restored
    assert total is not None
    total /= len(_SYMMETRIES[symmetries])
    return np.ascontiguousarray(total)
