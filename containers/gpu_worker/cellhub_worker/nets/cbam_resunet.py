"""CBAM-ResUNet: a residual U-Net whose blocks are gated by channel and spatial attention.

Attention helps on crowded, low-contrast fields (touching nuclei, phase-contrast halos) by
letting each block re-weight which channels and which pixels it passes on. Input
``(N, in_channels, H, W)`` float32 in ``[0, 1]``; output logits ``(N, out_channels, H, W)``.
``H`` and ``W`` must be multiples of ``stride_multiple`` (``2 ** (len(widths) - 1)``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from cellhub_worker.nets.blocks import ConvBNAct, ResidualBlock, validate_widths


class CBAMResUNet(nn.Module):
    """Encoder of residual+CBAM blocks (stride-2 convs down), mirrored decoder with skips.

    ``widths[i]`` is the channel count at resolution ``1 / 2**i``. Upsampling is a 1×1
    conv-BN-ReLU to the skip's width followed by bilinear interpolation; the skip is then
    concatenated along channels and fused by a residual+CBAM block.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        widths: Sequence[int] = (16, 32, 64, 128),
        attention: bool = True,
    ) -> None:
        super().__init__()
        levels = validate_widths(list(widths), at_least=2)
        self.stride_multiple = 2 ** (len(levels) - 1)
        self.stem = ConvBNAct(in_channels, levels[0])
        self.encoders = nn.ModuleList([ResidualBlock(levels[0], levels[0], attention=attention)])
        for shallow, deep in itertools.pairwise(levels):
            self.encoders.append(ResidualBlock(shallow, deep, stride=2, attention=attention))
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for deep, shallow in zip(levels[:0:-1], levels[-2::-1], strict=True):
            # Project, then upsample: interpolating ``shallow`` channels instead of ``deep``.
            self.ups.append(
                nn.Sequential(
                    ConvBNAct(deep, shallow, 1),
                    nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                )
            )
            self.decoders.append(ResidualBlock(2 * shallow, shallow, attention=attention))
        self.head = nn.Conv2d(levels[0], out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        skips: list[Tensor] = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
        x = skips.pop()
        for up, decoder in zip(self.ups, self.decoders, strict=True):
            x = decoder(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)
