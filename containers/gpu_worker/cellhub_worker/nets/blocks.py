"""Building blocks shared by the segmentation nets: conv-BN-ReLU, residual blocks, CBAM.

Every block maps ``(N, C_in, H, W)`` float tensors to ``(N, C_out, H', W')`` with axis order
batch, channel, row, column. Each convolution that feeds a batch norm sits directly before
it inside an ``nn.Sequential``, so inference can fold the pair into one convolution by
walking sequentials alone (see ``cellhub_worker.inference``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cellhub.errors import InvalidParameter


class ConvBNAct(nn.Sequential):
    """``k×k`` conv (no bias), batch norm, optional ReLU.

    ``(N, in_ch, H, W)`` → ``(N, out_ch, H / stride, W / stride)``; ``padding = k // 2``.
    """

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int = 3, *, stride: int = 1, act: bool = True
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, kernel_size, stride, kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class DoubleConv(nn.Sequential):
    """The U-Net unit: two 3×3 conv-BN-ReLU. ``(N, in_ch, H, W)`` → ``(N, out_ch, H, W)``."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(ConvBNAct(in_ch, out_ch), ConvBNAct(out_ch, out_ch))


class ChannelAttention(nn.Module):
    """CBAM channel gate: a shared MLP over average- and max-pooled channel descriptors.

    ``(N, C, H, W)`` → same shape, each channel scaled by a weight in ``(0, 1)``.
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        # A floor of 4 hidden units keeps the gate expressive on the narrowest layers.
        hidden = max(channels // reduction, 4)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)

    def gate(self, x: Tensor) -> Tensor:
        """The per-channel weights, ``(N, C, 1, 1)``."""
        avg = self.mlp(_spatial_mean(x))
        # Adaptive pooling rather than amax over (H, W): the latter is ~10x slower on
        # channels-last tensors.
        peak = self.mlp(nn.functional.adaptive_max_pool2d(x, 1))
        return torch.sigmoid(avg + peak)


class SpatialAttention(nn.Module):
    """CBAM spatial gate: a ``k×k`` conv over the channel-wise mean and max maps.

    ``(N, C, H, W)`` → same shape, each pixel scaled by a weight in ``(0, 1)``.
    """

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)

    def gate(self, x: Tensor) -> Tensor:
        """The per-pixel weights, ``(N, 1, H, W)`` (or expanded to ``x``'s shape)."""
        pooled = torch.cat([_channel_mean(x), _channel_max(x)], dim=1)
        gate = torch.sigmoid(self.conv(pooled))
        if x.dtype == torch.bfloat16 and x.device.type == "cpu" and _is_channels_last(x):
            # Broadcasting along a short innermost bf16 axis runs a scalar loop on CPU
            # (~4x slower at 16 channels); a materialised gate multiplies vectorised.
            gate = gate.expand_as(x).contiguous(memory_format=torch.channels_last)
        return gate


# The pooling helpers below pick, per memory layout, the formulation measured fastest.
# On channels-last (the layout of the optimised path) torch's reductions are slow: a bf16
# mean first copies the whole tensor to float32, and a max over a short contiguous channel
# axis is not vectorised. A matrix product accumulates in float32 without the copy, and
# halving the channel axis turns the max into a few wide element-wise maxima.


def _is_channels_last(x: Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def _spatial_mean(x: Tensor) -> Tensor:
    """``(N, C, H, W)`` → ``(N, C, 1, 1)`` mean over rows and columns."""
    if not _is_channels_last(x):
        return nn.functional.adaptive_avg_pool2d(x, 1)
    n, c, h, w = x.shape
    weights = x.new_full((n, 1, h * w), 1.0 / (h * w))
    return torch.bmm(weights, x.permute(0, 2, 3, 1).reshape(n, h * w, c)).view(n, c, 1, 1)


def _channel_mean(x: Tensor) -> Tensor:
    """``(N, C, H, W)`` → ``(N, 1, H, W)`` mean over channels."""
    if not _is_channels_last(x):
        return torch.mean(x, dim=1, keepdim=True)
    n, c, h, w = x.shape
    weights = x.new_full((c, 1), 1.0 / c)
    pixels = x.permute(0, 2, 3, 1).reshape(n * h * w, c)
    return (pixels @ weights).view(n, h, w, 1).permute(0, 3, 1, 2)


def _channel_max(x: Tensor) -> Tensor:
    """``(N, C, H, W)`` → ``(N, 1, H, W)`` maximum over channels."""
    if not _is_channels_last(x):
        return torch.amax(x, dim=1, keepdim=True)
    while x.shape[1] > 1:
        half = x.shape[1] // 2
        folded = torch.maximum(x[:, :half], x[:, half : 2 * half])
        # An odd channel left over joins the next round.
        x = folded if x.shape[1] % 2 == 0 else torch.cat([folded, x[:, 2 * half :]], dim=1)
    return x


class CBAM(nn.Module):
    """Convolutional block attention: channel gate then spatial gate; shape-preserving.

    ``inplace=True`` scales ``x`` itself when autograd is off, saving two full-size
    allocations; only for a tensor nothing else reads (a block's fresh output).
    """

    def __init__(self, channels: int, reduction: int = 8, kernel_size: int = 7) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x: Tensor, inplace: bool = False) -> Tensor:
        # Autograd needs the unscaled tensors for the gates' gradients.
        inplace = inplace and not torch.is_grad_enabled()
        x = x.mul_(self.channel.gate(x)) if inplace else x * self.channel.gate(x)
        return x.mul_(self.spatial.gate(x)) if inplace else x * self.spatial.gate(x)


class ResidualBlock(nn.Module):
    """Basic residual block (two 3×3 convs), optionally gated by CBAM before the sum.

    ``(N, in_ch, H, W)`` → ``(N, out_ch, H / stride, W / stride)``. The shortcut is a
    1×1 conv-BN whenever the shape changes, the identity otherwise.
    """

    def __init__(
        self, in_ch: int, out_ch: int, *, stride: int = 1, attention: bool = False
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvBNAct(in_ch, out_ch, stride=stride), ConvBNAct(out_ch, out_ch, act=False)
        )
        self.attention = CBAM(out_ch) if attention else None
        self.shortcut: nn.Module = (
            ConvBNAct(in_ch, out_ch, 1, stride=stride, act=False)
            if stride != 1 or in_ch != out_ch
            else nn.Identity()
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        # The body's output is fresh, so attention and the sum work in place on it (the sum
        # as in torchvision's ResNet, which autograd allows).
        out = self.body(x)
        if self.attention is not None:
            out = self.attention(out, inplace=True)
        out += self.shortcut(x)
        return self.act(out)


def validate_widths(
    widths: tuple[int, ...] | list[int], *, at_least: int, at_most: int | None = None
) -> tuple[int, ...]:
    """Check a per-level channel-width list and return it as a tuple of ints.

    Raises ``InvalidParameter`` when there are too few/many levels or a width is not positive,
    so a bad config in a checkpoint fails with a reason instead of a shape error mid-forward.
    """
    levels = tuple(int(w) for w in widths)
    if len(levels) < at_least or (at_most is not None and len(levels) > at_most):
        bound = f"{at_least}..{at_most}" if at_most is not None else f">= {at_least}"
        raise InvalidParameter(f"widths needs {bound} levels, got {len(levels)}", widths=levels)
    if any(w <= 0 for w in levels):
        raise InvalidParameter("every width must be positive", widths=levels)
    return levels
