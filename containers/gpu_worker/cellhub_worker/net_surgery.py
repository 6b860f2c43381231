"""Inference-time rewrites of a net: batch norms folded into convs, oneDNN-packed convs.

Both change only how a net runs, never what it computes (up to float rounding). Packing uses
the private oneDNN ops that ``torch.compile`` emits for CPU convolutions; they are used only
when this torch build exposes them (:func:`fused_convolutions_available`), so a torch without
them falls back to ordinary convolutions instead of failing.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fused_convolutions_available() -> bool:
    """Whether oneDNN and the private packed-convolution ops exist in this torch build."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        torch.ops.mkldnn._convolution_pointwise  # noqa: B018 - looked up to probe existence
        torch._C._nn.mkldnn_reorder_conv2d_weight  # noqa: B018
    except (AttributeError, RuntimeError):
        return False
    return True


class PackedConv2d(nn.Module):
    """A CPU ``Conv2d``, optionally followed by ReLU, as one oneDNN call on weights laid out
    once in oneDNN's blocked format (what ``torch.compile`` emits for CPU convolutions).

    Inference only: the packed weights are opaque oneDNN tensors, neither trainable nor saved.
    """

    def __init__(self, conv: nn.Conv2d, *, relu: bool) -> None:
        super().__init__()
        padding = list(cast(tuple[int, ...], conv.padding))
        self.params = (padding, list(conv.stride), list(conv.dilation), conv.groups)
        weight = conv.weight.detach().to_mkldnn()
        self.weight = torch._C._nn.mkldnn_reorder_conv2d_weight(weight, *self.params)
        self.bias = None if conv.bias is None else conv.bias.detach()
        self.unary = "relu" if relu else "none"

    def forward(self, x: Tensor) -> Tensor:
        conv = torch.ops.mkldnn._convolution_pointwise
        return cast(Tensor, conv(x, self.weight, self.bias, *self.params, self.unary, [], ""))


def pack_convolutions(module: nn.Module) -> nn.Module:
    """Replace every zero-padded ``Conv2d`` in ``module`` (in place) by a
    :class:`PackedConv2d`, absorbing a ``ReLU`` that follows it in the same ``nn.Sequential``
    (past ``nn.Identity`` left by :func:`fold_batch_norms`)."""
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d) and not isinstance(child.padding, str):
            if child.padding_mode == "zeros":
                setattr(module, name, PackedConv2d(child, relu=False))
        else:
            pack_convolutions(child)
    if isinstance(module, nn.Sequential):
        layers = list(module)
        for index, layer in enumerate(layers):
            rest = [i for i in range(index + 1, len(layers)) if type(layers[i]) is not nn.Identity]
            if isinstance(layer, PackedConv2d) and rest and isinstance(layers[rest[0]], nn.ReLU):
                layer.unary = "relu"
                module[rest[0]] = nn.Identity()
    return module


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Fold every eval-mode ``BatchNorm2d`` directly preceded by a ``Conv2d`` in the same
    ``nn.Sequential`` into that conv (in place); the norm becomes an ``nn.Identity``."""
    for child in module.children():
        fold_batch_norms(child)
    if isinstance(module, nn.Sequential):
        for index in range(len(module) - 1):
            conv, norm = module[index], module[index + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module[index] = fuse_conv_bn_eval(conv, norm)
                module[index + 1] = nn.Identity()
    return module
