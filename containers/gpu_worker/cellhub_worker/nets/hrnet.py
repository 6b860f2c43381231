"""A small HRNet: parallel multi-resolution branches that keep exchanging information.

Unlike an encoder-decoder, a high-resolution branch is kept from the stem to the head, so
boundaries are never reconstructed from a coarse bottleneck; coarser branches add context.
Input ``(N, in_channels, H, W)`` float32 in ``[0, 1]``; output logits
``(N, out_channels, H, W)``. ``H`` and ``W`` must be multiples of ``stride_multiple``
(``stem_stride * 2 ** (len(widths) - 1)``, 32 for the defaults).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from torch import Tensor, nn

from cellhub.errors import InvalidParameter
from cellhub_worker.nets.blocks import ConvBNAct, ResidualBlock, validate_widths


class HRNet(nn.Module):
    """Stem at ``1 / stem_stride``; branch ``i`` runs at ``1 / (stem_stride * 2**i)``.

    Stage ``s`` (``s = 1 .. len(widths) - 1``) opens branch ``s`` from the coarsest existing
    one and then runs ``units_per_stage`` exchange units, each made of
    ``blocks_per_unit`` residual blocks per branch followed by an all-to-all fusion (1×1
    conv + nearest upsampling towards finer branches, strided 3×3 convs towards coarser
    ones, as in the original HRNet). The head merges every branch into the finest (1×1
    conv to ``widths[0]``, bilinear upsampling, sum), maps that to ``out_channels`` and
    upsamples the logits bilinearly to the input size; they are float32 whatever the
    weights' dtype.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        widths: Sequence[int] = (16, 32, 64, 128),
        stem_stride: int = 4,
        units_per_stage: int = 1,
        blocks_per_unit: int = 2,
    ) -> None:
        super().__init__()
        levels = validate_widths(list(widths), at_least=2, at_most=4)
        if stem_stride not in (2, 4):
            raise InvalidParameter("stem_stride must be 2 or 4", stem_stride=stem_stride)
        if units_per_stage < 1 or blocks_per_unit < 1:
            raise InvalidParameter(
                "units_per_stage and blocks_per_unit must be >= 1",
                units_per_stage=units_per_stage,
                blocks_per_unit=blocks_per_unit,
            )
        self.stride_multiple = stem_stride * 2 ** (len(levels) - 1)
        stem: list[nn.Module] = [ConvBNAct(in_channels, levels[0], stride=2)]
        if stem_stride == 4:
            stem.append(ConvBNAct(levels[0], levels[0], stride=2))
        stem.append(ResidualBlock(levels[0], levels[0]))
        self.stem = nn.Sequential(*stem)
        self.transitions = nn.ModuleList()
        self.stages = nn.ModuleList()
        for stage in range(1, len(levels)):
            self.transitions.append(ConvBNAct(levels[stage - 1], levels[stage], stride=2))
            branches = levels[: stage + 1]
            self.stages.append(
                nn.Sequential(
                    *(ExchangeUnit(branches, blocks_per_unit) for _ in range(units_per_stage))
                )
            )
        # Projecting each branch to widths[0] before upsampling and summing expresses the same
        # maps as upsample-concatenate-1x1 (both steps are linear and commute) while
        # interpolating a fraction of the channels.
        self.merge = FuseInto(levels, 0, upsampling="bilinear")
        self.head = nn.Sequential(
            ConvBNAct(levels[0], levels[0]),
            nn.Conv2d(levels[0], out_channels, 1),
        )
        self.stem_stride = stem_stride

    def forward(self, x: Tensor) -> Tensor:
        branches = [self.stem(x)]
        for transition, stage in zip(self.transitions, self.stages, strict=True):
            branches = stage([*branches, transition(branches[-1])])
        logits = self.head(self.merge(branches))
        # Few-channel maps interpolate ~4x faster as float32 NCHW than channels-last bf16,
        # the layout an optimised run is in; so logits leave as float32 whatever the weights.
        return nn.functional.interpolate(
            logits.float().contiguous(),
            scale_factor=self.stem_stride,
            mode="bilinear",
            align_corners=False,
        )


class ExchangeUnit(nn.Module):
    """Residual blocks per branch, then every output branch sums all (resampled) inputs.

    Takes and returns a list of ``len(widths)`` tensors, branch ``i`` shaped
    ``(N, widths[i], H / 2**i, W / 2**i)`` relative to branch 0.
    """

    def __init__(self, widths: Sequence[int], blocks: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [nn.Sequential(*(ResidualBlock(w, w) for _ in range(blocks))) for w in widths]
        )
        self.fuse = nn.ModuleList([FuseInto(widths, dst) for dst in range(len(widths))])

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs, strict=True)]
        return [fuse(xs) for fuse in self.fuse]


class FuseInto(nn.Module):
    """Sum of every branch resampled onto branch ``dst``, then ReLU.

    ``upsampling``: interpolation from coarser branches (nearest inside exchange units).

    List of branch tensors → ``(N, widths[dst], H / 2**dst, W / 2**dst)``.
    """

    def __init__(
        self,
        widths: Sequence[int],
        dst: int,
        *,
        upsampling: Literal["nearest", "bilinear"] = "nearest",
    ) -> None:
        super().__init__()
        self.dst = dst
        self.paths = nn.ModuleList(
            [_resample(widths, src, dst, upsampling) for src in range(len(widths))]
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, xs: list[Tensor]) -> Tensor:
        # Resampled branches are fresh tensors, so the sum accumulates in place into the
        # first of them; branch ``dst`` itself is shared with the other fusions and only read.
        resampled = [
            path(x)
            for index, (path, x) in enumerate(zip(self.paths, xs, strict=True))
            if index != self.dst
        ]
        total = resampled[0]
        for term in resampled[1:]:
            total += term
        total += xs[self.dst]
        return self.act(total)


def _resample(
    widths: Sequence[int], src: int, dst: int, upsampling: Literal["nearest", "bilinear"]
) -> nn.Module:
    """Map branch ``src`` onto branch ``dst``'s width and resolution."""
    if src == dst:
        return nn.Identity()
    if src > dst:
        # Coarse to fine: 1×1 conv to the target width, then upsampling.
        factor = 2 ** (src - dst)
        upsample = (
            nn.Upsample(scale_factor=factor, mode="nearest")
            if upsampling == "nearest"
            else nn.Upsample(scale_factor=factor, mode="bilinear", align_corners=False)
        )
        return nn.Sequential(ConvBNAct(widths[src], widths[dst], 1, act=False), upsample)
    # Fine to coarse: one stride-2 3×3 conv per halving; ReLU on all but the last.
    steps: list[nn.Module] = [
        ConvBNAct(widths[src], widths[src], stride=2) for _ in range(dst - src - 1)
    ]
    steps.append(ConvBNAct(widths[src], widths[dst], stride=2, act=False))
    return nn.Sequential(*steps)
