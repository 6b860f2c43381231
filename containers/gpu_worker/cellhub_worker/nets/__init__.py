"""The learned segmentation nets and the factory that builds one from a checkpoint's config.

Every net maps ``(N, C_in, H, W)`` float32 images in ``[0, 1]`` to ``(N, C_out, H, W)``
logits, and exposes ``stride_multiple``: ``H`` and ``W`` must be multiples of it (the
tiler in ``cellhub_worker.tiling`` pads to it with reflection and crops back).

    architecture    class          stride_multiple (defaults)
    "unet"          UNet           2 ** (len(widths) - 1)                 8
    "cbam_resunet"  CBAMResUNet    2 ** (len(widths) - 1)                 8
    "hrnet"         HRNet          stem_stride * 2 ** (len(widths) - 1)   32
"""

from __future__ import annotations

from typing import Any

from torch import nn

from cellhub.errors import InvalidParameter, UnknownModel
from cellhub_worker.nets.cbam_resunet import CBAMResUNet
from cellhub_worker.nets.hrnet import HRNet
from cellhub_worker.nets.unet import UNet

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "unet": UNet,
    "cbam_resunet": CBAMResUNet,
    "hrnet": HRNet,
}

__all__ = ["ARCHITECTURES", "CBAMResUNet", "HRNet", "UNet", "build_net", "stride_multiple_of"]


def build_net(architecture: str, **config: Any) -> nn.Module:
    """Instantiate ``architecture`` with ``config`` (``in_channels``, ``out_channels``,
    ``widths``, and the class's own options). Weights are freshly initialised.

    Raises ``UnknownModel`` for an architecture not in ``ARCHITECTURES`` and
    ``InvalidParameter`` for a config the class does not accept.
    """
    try:
        cls = ARCHITECTURES[architecture]
    except KeyError:
        raise UnknownModel(
            f"unknown architecture {architecture!r}; known: {', '.join(sorted(ARCHITECTURES))}",
            architecture=architecture,
            known=sorted(ARCHITECTURES),
        ) from None
    try:
        return cls(**config)
    except TypeError as exc:
        raise InvalidParameter(
            f"bad config for {architecture}: {exc}", architecture=architecture
        ) from exc


def stride_multiple_of(net: nn.Module) -> int:
    """The multiple that the net's input height and width must be (1 for nets without one)."""
    value = getattr(net, "stride_multiple", 1)
    return int(value) if isinstance(value, int) else 1
