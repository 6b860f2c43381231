"""Shapes and configuration of the segmentation nets and their factory."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from cellhub.errors import InvalidParameter, UnknownModel
from cellhub_worker.checkpoint import CheckpointMeta
from cellhub_worker.inference import Predictor
from cellhub_worker.nets import CBAMResUNet, HRNet, UNet, build_net, stride_multiple_of

SMALL: dict[str, dict[str, Any]] = {
    "unet": {"widths": (4, 8, 16)},
    "cbam_resunet": {"widths": (4, 8, 16)},
    "hrnet": {"widths": (4, 8, 16), "stem_stride": 2},
}


@pytest.mark.parametrize("architecture", sorted(SMALL))
@pytest.mark.parametrize(("in_channels", "out_channels"), [(1, 2), (3, 1)])
def test_logits_have_input_size(architecture: str, in_channels: int, out_channels: int) -> None:
    net = build_net(
        architecture, in_channels=in_channels, out_channels=out_channels, **SMALL[architecture]
    ).eval()
    multiple = stride_multiple_of(net)
    x = torch.rand(2, in_channels, 3 * multiple, 5 * multiple)
    with torch.inference_mode():
        y = net(x)
    assert y.shape == (2, out_channels, 3 * multiple, 5 * multiple)
    assert y.dtype == torch.float32


@pytest.mark.parametrize(
    ("net", "multiple"),
    [
        (UNet(widths=(16, 32, 64, 128)), 8),
        (UNet(widths=(8, 16)), 2),
        (UNet(upsampling="bilinear"), 8),
        (CBAMResUNet(), 8),
        (CBAMResUNet(widths=(8, 16, 32), attention=False), 4),
        (HRNet(), 32),
        (HRNet(widths=(8, 16), stem_stride=2), 4),
    ],
)
def test_stride_multiple(net: torch.nn.Module, multiple: int) -> None:
    assert stride_multiple_of(net) == multiple


@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_predictor_pads_odd_sizes_and_crops_back(architecture: str) -> None:
    meta = CheckpointMeta(
        name="odd",
        version="1",
        architecture=architecture,
        config=SMALL[architecture],
        in_channels=1,
        outputs=("foreground", "boundary"),
    )
    image = np.random.default_rng(0).random((100, 130, 1), dtype=np.float32)
    for optimize in (False, True):
        out = Predictor(meta.build(), meta, optimize=optimize).predict(image)
        assert out.shape == (2, 100, 130)
        assert out.dtype == np.float32
        assert np.all((out >= 0) & (out <= 1))


def test_unknown_architecture() -> None:
    with pytest.raises(UnknownModel) as caught:
        build_net("resnet9000", in_channels=1, out_channels=1)
    assert "unet" in caught.value.details["known"]


@pytest.mark.parametrize(
    ("architecture", "config"),
    [
        ("unet", {"widths": (16,)}),
        ("unet", {"widths": (16, 0)}),
        ("unet", {"upsampling": "nearest"}),
        ("unet", {"depth": 3}),
        ("hrnet", {"widths": (8, 16, 32, 64, 128)}),
        ("hrnet", {"stem_stride": 8}),
        ("hrnet", {"units_per_stage": 0}),
    ],
)
def test_bad_config_is_invalid_parameter(architecture: str, config: dict[str, object]) -> None:
    with pytest.raises(InvalidParameter):
        build_net(architecture, in_channels=1, out_channels=1, **config)
