"""Optimised execution, tiled prediction and the learned segmenter end to end."""

from __future__ import annotations

import copy
import logging
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from numpy.typing import NDArray
from scipy import ndimage as ndi
from torch import nn

import cellhub_worker.device as device_module
from cellhub.errors import InvalidParameter, UnsupportedPixelType
from cellhub.segmenter import Instances
from cellhub_worker.checkpoint import CheckpointMeta, save_checkpoint
from cellhub_worker.device import available_cpu_count, resolve_device
from cellhub_worker.inference import CPU_TILE, PLAIN, Predictor, cpu_has_native_bf16, plan_for
from cellhub_worker.learned import LearnedSegmenter
from cellhub_worker.net_surgery import PackedConv2d, fold_batch_norms, pack_convolutions

SMALL: dict[str, dict[str, Any]] = {
    "unet": {"widths": (8, 16, 32)},
    "cbam_resunet": {"widths": (8, 16, 32)},
    "hrnet": {"widths": (8, 16, 32), "stem_stride": 2},
}


def _meta(architecture: str, *, in_channels: int = 1, tile_size: int = 512) -> CheckpointMeta:
    return CheckpointMeta(
        name=f"test-{architecture}",
        version="1",
        architecture=architecture,
        config=SMALL[architecture],
        in_channels=in_channels,
        outputs=("foreground", "boundary"),
        tile_size=tile_size,
    )


def _blobs(height: int, width: int, channels: int = 1, seed: int = 0) -> NDArray[np.float32]:
    """Smooth random texture in [0, 1]: more like a micrograph than white noise."""
    noise = np.random.default_rng(seed).random((height, width, channels), dtype=np.float32)
    smooth = ndi.gaussian_filter(noise, (3, 3, 0))
    return ((smooth - smooth.min()) / (smooth.max() - smooth.min())).astype(np.float32)


def _calibrated(meta: CheckpointMeta, image: NDArray[np.float32]) -> nn.Module:
    """A random net given a trained net's statistics: batch norms fitted to ``image`` and the
    head scaled to logits of std 2, so probabilities spread over (0, 1) instead of sitting
    at 0.5 as an untouched random net's do (which would make any comparison vacuous)."""
    torch.manual_seed(0)
    net = meta.build()
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    crop = image[: image.shape[0] // 32 * 32, : image.shape[1] // 32 * 32]
    x = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None]
    with torch.no_grad():
        net.train()(x)
        spread = float(net.eval()(x).std())
        head = [m for m in net.modules() if isinstance(m, nn.Conv2d)][-1]
        head.weight.mul_(2.0 / spread)
        assert head.bias is not None
        head.bias.zero_()
    return net


@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_folding_batch_norms_preserves_outputs(architecture: str) -> None:
    image = _blobs(64, 96)
    net = _calibrated(_meta(architecture), image)
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    folded = fold_batch_norms(copy.deepcopy(net))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), net(x), atol=1e-4, rtol=1e-4)


def test_plan_per_device() -> None:
    cpu = torch.device("cpu")
    assert plan_for(cpu, optimize=False) == PLAIN
    plan = plan_for(cpu, optimize=True)
    assert plan.channels_last and plan.fold_batch_norm
    assert plan.weight_dtype == (torch.bfloat16 if cpu_has_native_bf16() else torch.float32)


@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_optimised_agrees_with_plain(architecture: str) -> None:
    image = _blobs(192, 256)
    meta = _meta(architecture)
    net = _calibrated(meta, image)
    plain = Predictor(net, meta, optimize=False).predict(image)
    fast = Predictor(net, meta, optimize=True).predict(image)
    confident = np.abs(plain - 0.5) > 0.1
    assert np.abs(fast - plain).mean() < 0.03
    assert ((fast > 0.5) == (plain > 0.5))[confident].mean() > 0.995


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="needs oneDNN")
@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_packing_convolutions_preserves_outputs(architecture: str) -> None:
    image = _blobs(64, 96)
    net = _calibrated(_meta(architecture), image)
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    folded = fold_batch_norms(copy.deepcopy(net))
    packed = pack_convolutions(copy.deepcopy(folded))
    assert not any(isinstance(m, nn.Conv2d) for m in packed.modules())
    fused = [m for m in packed.modules() if isinstance(m, PackedConv2d) and m.unary == "relu"]
    assert fused
    with torch.inference_mode():
        torch.testing.assert_close(packed(x), folded(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_optimised_cpu_tiles_are_large_and_agree_with_small_tiles(architecture: str) -> None:
    """The optimised CPU plan runs one big tile where the checkpoint's tile would need a
    grid; blending several small tiles must give practically the same answer."""
    image = _blobs(160, 640)
    meta = _meta(architecture, tile_size=256)
    net = _calibrated(meta, image)
    big = Predictor(net, meta, "cpu", optimize=True)
    assert big.tile_size == max(CPU_TILE, meta.tile_size)
    assert big.batch_size == 1
    small = Predictor(net, meta, "cpu", optimize=True, tile_size=256, batch_size=2)
    reference = big.predict(image)
    tiled = small.predict(image)
    confident = np.abs(reference - 0.5) > 0.1
    assert np.abs(tiled - reference).mean() < 0.03
    assert ((tiled > 0.5) == (reference > 0.5))[confident].mean() > 0.995


@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_tiled_matches_untiled(architecture: str) -> None:
    """An image 2.5 tiles wide, tiled with 256 px tiles, against one untiled pass.

    Not bit-equal: zero padding at tile borders changes what a pixel near them sees, and
    CBAM's global pooling sees the tile, not the image; the blending hides the former."""
    image = _blobs(160, 640)
    meta = _meta(architecture, tile_size=256)
    net = _calibrated(meta, image)
    untiled = Predictor(net, meta, optimize=False, tile_size=1024).predict(image)
    tiled = Predictor(net, meta, optimize=False, overlap=64).predict(image)
    confident = np.abs(untiled - 0.5) > 0.1
    assert np.abs(tiled - untiled).mean() < 0.03
    assert ((tiled > 0.5) == (untiled > 0.5))[confident].mean() > 0.995


def test_tiling_is_exact_for_a_pointwise_net() -> None:
    """With no spatial context to lose, blending must reproduce the untiled output."""
    meta = CheckpointMeta(
        name="pointwise", version="1", architecture="unet", in_channels=2, outputs=("a", "b")
    )
    net = nn.Conv2d(2, 2, 1)
    image = _blobs(300, 700, channels=2)
    untiled = Predictor(net, meta, optimize=False, tile_size=1024).predict(image)
    for batch in (1, 3):
        tiled = Predictor(net, meta, optimize=False, tile_size=128, overlap=32, batch_size=batch)
        np.testing.assert_allclose(tiled.predict(image), untiled, atol=1e-6)


def test_peak_memory_is_the_output_plus_one_batch() -> None:
    """No full-size temporaries (padded copy, weight image): numpy's peak during ``predict``
    stays within the output plus a few MB of per-batch buffers."""
    meta = CheckpointMeta(
        name="pointwise", version="1", architecture="unet", in_channels=1, outputs=("a", "b")
    )
    image = np.random.default_rng(0).random((2500, 2000, 1), dtype=np.float32)
    predictor = Predictor(nn.Conv2d(1, 2, 1), meta, optimize=False, tile_size=256)
    tracemalloc.start()
    try:
        out = predictor.predict(image)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < out.nbytes + 16 * 2**20


def test_device_choice() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert torch.get_num_threads() == available_cpu_count()
    with pytest.raises(InvalidParameter):
        resolve_device("tpu:0")
    if not torch.cuda.is_available():
        assert resolve_device(None) == torch.device("cpu")
        with pytest.raises(InvalidParameter, match="CUDA"):
            resolve_device("cuda")


@pytest.mark.parametrize(("quota", "expected"), [("max 100000", 2), ("150000 100000", 1)])
def test_cpu_count_honours_cgroup_quota(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quota: str, expected: int
) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text(quota + "\n")
    monkeypatch.setattr(device_module, "_CGROUP_CPU_MAX", cpu_max)
    monkeypatch.setattr(device_module.os, "sched_getaffinity", lambda _pid: {0, 1})
    assert available_cpu_count() == expected


def test_predict_rejects_wrong_channel_count() -> None:
    meta = _meta("unet")
    with pytest.raises(InvalidParameter):
        Predictor(meta.build(), meta).predict(np.zeros((32, 32, 3), dtype=np.float32))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_cuda_agrees_with_cpu(architecture: str) -> None:
    image = _blobs(192, 320)
    meta = _meta(architecture)
    net = _calibrated(meta, image)
    cpu = Predictor(net, meta, "cpu", optimize=False).predict(image)
    cuda = Predictor(net, meta, "cuda", optimize=True).predict(image)
    assert np.abs(cuda - cpu).mean() < 0.03


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    meta = _meta("unet", in_channels=3, tile_size=64)
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, _calibrated(meta, _blobs(64, 64, channels=3)), meta, half=True)
    return path


def test_learned_segmenter_end_to_end(tiny_checkpoint: Path) -> None:
    segmenter = LearnedSegmenter(tiny_checkpoint, device="cpu")
    assert (segmenter.name, segmenter.version) == ("test-unet", "1")
    pixels = (_blobs(90, 150, channels=3) * 4000).astype(np.uint16)
    result = segmenter.segment(pixels, threshold=0.5)
    assert isinstance(result, Instances)
    assert result.labels.shape == (90, 150) and result.labels.dtype == np.int32
    ids = set(np.unique(result.labels)) - {0}
    assert ids, "a calibrated net should find some foreground"
    assert set(result.scores) == ids
    assert all(0.5 <= score <= 1.0 for score in result.scores.values())


def test_learned_segmenter_matches_channels(
    tiny_checkpoint: Path, caplog: pytest.LogCaptureFixture
) -> None:
    segmenter = LearnedSegmenter(tiny_checkpoint, device="cpu")
    grey = (_blobs(40, 50)[..., 0] * 255).astype(np.uint8)
    prepared = segmenter.prepare(grey)
    assert prepared.shape == (40, 50, 3)
    assert np.array_equal(prepared[..., 0], prepared[..., 2])
    with caplog.at_level(logging.WARNING, logger="cellhub_worker.learned"):
        four = segmenter.prepare(np.dstack([grey] * 4))
    assert four.shape == (40, 50, 3) and "using the first 3" in caplog.text
    with pytest.raises(UnsupportedPixelType):
        segmenter.prepare(np.dstack([grey] * 2))


def test_learned_segmenter_needs_a_foreground_output(tmp_path: Path) -> None:
    meta = CheckpointMeta(
        name="edges",
        version="1",
        architecture="unet",
        config={"widths": [4, 8]},
        in_channels=1,
        outputs=("boundary",),
    )
    save_checkpoint(tmp_path / "edges.pt", meta.build(), meta)
    with pytest.raises(InvalidParameter, match="foreground"):
        LearnedSegmenter(tmp_path / "edges.pt", device="cpu")
