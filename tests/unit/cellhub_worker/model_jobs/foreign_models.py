"""Tiny models in the formats members bring: TorchScript and ONNX, good and broken."""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn


class Blob(nn.Module):
    """Foreground logits from a fixed 3x3 smoothing of (bright - 0.5); boundary none."""

    def __init__(self, channels_out: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, channels_out, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.fill_(0.0)
            self.conv.weight[:, :, 1, 1] = 20.0
            self.conv.bias.fill_(-10.0)
            if channels_out > 1:
                self.conv.weight[1:] = 0.0
                self.conv.bias[1:] = -10.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Shrinking(nn.Module):
    """Three channels at a sixteenth of the input size: the wrong output shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        small = x[:, :, ::16, ::16]
        return torch.cat([small, small, small], dim=1)


class NotANumber(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * float("nan")


class MeanOfChannels(nn.Module):
    """Logits of the channels' mean brightness: a model that wants three channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 20.0 * (x.mean(dim=1, keepdim=True) - 0.5)


class Probabilities(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(20.0 * (x - 0.5))


def torchscript_bytes(module: nn.Module) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module.eval()), buffer)
    return buffer.getvalue()


def onnx_bytes(
    module: nn.Module, *, dynamic: bool = True, side: int = 64, channels: int = 1
) -> bytes:
    buffer = io.BytesIO()
    axes = {"image": {0: "n", 2: "h", 3: "w"}, "out": {0: "n", 2: "h", 3: "w"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (torch.zeros(1, channels, side, side),),
            buffer,
            input_names=["image"],
            output_names=["out"],
            dynamic_axes=axes if dynamic else None,
            dynamo=False,
        )
    return buffer.getvalue()
