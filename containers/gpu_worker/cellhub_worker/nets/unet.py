"""U-Net: the plain encoder-decoder baseline for foreground/boundary segmentation.

Input ``(N, in_channels, H, W)`` float32 in ``[0, 1]``; output logits
``(N, out_channels, H, W)``. ``H`` and ``W`` must be multiples of ``stride_multiple``
(``2 ** (len(widths) - 1)``); the tiler pads to it and crops back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from cellhub.errors import InvalidParameter
from cellhub_worker.nets.blocks import DoubleConv, validate_widths

Upsampling = Literal["transpose", "bilinear"]


class UNet(nn.Module):
    """Double conv-BN-ReLU per level, 2×2 max-pool down, transposed conv or bilinear up.

    ``widths[i]`` is the channel count at resolution ``1 / 2**i``; the last entry is the
    bottleneck. Skips are concatenated along the channel axis.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        widths: Sequence[int] = (16, 32, 64, 128),
        upsampling: Upsampling = "transpose",
    ) -> None:
        super().__init__()
        levels = validate_widths(list(widths), at_least=2)
        if upsampling not in ("transpose", "bilinear"):
            raise InvalidParameter(f"unknown upsampling {upsampling!r}", upsampling=upsampling)
        self.stride_multiple = 2 ** (len(levels) - 1)
        self.encoders = nn.ModuleList()
        previous = in_channels
        for width in levels:
            self.encoders.append(DoubleConv(previous, width))
            previous = width
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        # Decoders run from the deepest skip up to full resolution.
        for deep, shallow in zip(levels[:0:-1], levels[-2::-1], strict=True):
            self.ups.append(_upsampler(deep, shallow, upsampling))
            self.decoders.append(DoubleConv(2 * shallow, shallow))
        self.head = nn.Conv2d(levels[0], out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips: list[Tensor] = []
        for index, encoder in enumerate(self.encoders):
            x = encoder(x if index == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up, decoder in zip(self.ups, self.decoders, strict=True):
            x = decoder(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)


def _upsampler(in_ch: int, out_ch: int, mode: Upsampling) -> nn.Module:
    """``(N, in_ch, H, W)`` → ``(N, out_ch, 2H, 2W)``."""
    if mode == "transpose":
        return nn.ConvTranspose2d(in_ch, out_ch, 2, stride=2)
    # Interpolation avoids the checkerboard artefacts transposed convs can learn. Mixing
    # first is the same linear map (the two commute) on fewer channels to interpolate.
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 1),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
    )
