"""Segmenters for models a project brings as TorchScript or ONNX files.

The I/O convention such a model must follow: input float32 ``(N, C, H, W)`` with each channel
percentile-normalised to ``[0, 1]`` (as our own nets see it); output ``(N, K, H, W)`` with
``K >= 1``, channel 0 the foreground and, when ``K >= 2``, channel 1 the object boundary;
further channels are ignored. Outputs are probabilities in ``[0, 1]`` or logits, which get
a sigmoid; which of the two a model gives is decided once, when it is imported, and kept in
its :class:`ExportedNetSpec` (the project model card's ``validation``).

Images of any size run in tiles (:mod:`cellhub_worker.tiling`) of ``spec.tile`` px whose sides
are multiples of ``spec.multiple``; a model with a fixed input size gets exactly that size.
Instances come from :func:`cellhub_worker.postprocess.instances_from_probabilities`, as for
every other learned model.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from cellhub.errors import InvalidParameter
from cellhub.segmenter import Instances
from cellhub.settings import get_settings
from cellhub_worker.checkpoint import Normalization
from cellhub_worker.model_jobs.project_data import net_input
from cellhub_worker.postprocess import instances_from_probabilities
from cellhub_worker.tiling import extract_tile, plan_tiles

OutputKind = Literal["probabilities", "logits"]
DEFAULT_TILE = 512
# Largest stride a usual encoder-decoder needs its input to be a multiple of.
DEFAULT_MULTIPLE = 32


class NetRunner(Protocol):
    """Runs the model: float32 ``(N, C, H, W)`` → float32 ``(N, K, H, W)`` (unchecked)."""

    def __call__(self, batch: NDArray[np.float32]) -> NDArray[np.float32]: ...


class TorchScriptRunner:
    """A ``torch.jit`` module on ``device``; a tuple or list output yields its first tensor."""

    def __init__(self, module: Any, device: str = "cpu") -> None:
        self.module = module
        self.device = device

    @classmethod
    def from_bytes(cls, data: bytes, device: str = "cpu") -> TorchScriptRunner:
        import torch

        # TorchScript is deprecated in torch but still the one self-contained format it runs.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(io.BytesIO(data), map_location=device)
        return cls(module.eval(), device)

    def __call__(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        import torch

        with torch.inference_mode():
            output = self.module(torch.from_numpy(batch).to(self.device))
        if isinstance(output, tuple | list) and output:
            output = output[0]
        if not isinstance(output, torch.Tensor):
            raise InvalidParameter(f"the model returned {type(output).__name__}, not a tensor")
        return np.asarray(output.detach().float().cpu().numpy(), dtype=np.float32)


class OnnxRunner:
    """An ``onnxruntime`` CPU session of a model with one input (its first output is used)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_name: str = session.get_inputs()[0].name

    @classmethod
    def from_bytes(cls, data: bytes) -> OnnxRunner:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(
            data, sess_options=options, providers=["CPUExecutionProvider"]
        )
        return cls(session)

    def declared_input(self) -> tuple[int | None, int | None, int | None]:
        """The input's fixed ``(C, H, W)`` where the file declares them, else None each."""
        shape = list(self.session.get_inputs()[0].shape)
        dims = [d if isinstance(d, int) and d > 0 else None for d in shape[1:4]]
        channels, height, width = [*dims, None, None, None][:3]
        return channels, height, width

    def __call__(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        output = self.session.run(None, {self.input_name: batch})[0]
        return np.asarray(output, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class ExportedNetSpec:
    """How to feed a brought model and read its output, found when it was imported."""

    in_channels: int = 1
    output: OutputKind = "logits"
    tile: int = DEFAULT_TILE
    multiple: int = DEFAULT_MULTIPLE
    low_percentile: float = 1.0
    high_percentile: float = 99.8

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, facts: dict[str, Any]) -> ExportedNetSpec:
        """The spec inside a card's ``validation`` (other keys ignored)."""
        known = {k: facts[k] for k in cls.__dataclass_fields__ if k in facts}
        spec = cls(**known)
        if spec.in_channels < 1 or spec.tile < 16 or spec.multiple < 1:
            raise InvalidParameter(f"unusable model input spec {spec.to_dict()}")
        if spec.output not in ("probabilities", "logits"):
            raise InvalidParameter(f"unknown model output kind {spec.output!r}")
        return spec


class ExportedNetSegmenter:
    """A TorchScript or ONNX model behind the :class:`cellhub.segmenter.Segmenter` port."""

    def __init__(
        self, runner: NetRunner, spec: ExportedNetSpec, *, name: str, version: str = "1"
    ) -> None:
        self.runner = runner
        self.spec = spec
        self.name = name
        self.version = version
        self.normalization = Normalization(low=spec.low_percentile, high=spec.high_percentile)

    def segment(self, pixels: NDArray[Any], *, threshold: float | None = None) -> Instances:
        """Raw ``(Y, X[, C])`` pixels → instances, as :class:`LearnedSegmenter` does."""
        if pixels.ndim == 2:
            pixels = pixels[:, :, np.newaxis]
        image = net_input(pixels, self.spec.in_channels, self.normalization)
        planes = self.probabilities(image)
        boundary = planes[1] if planes.shape[0] >= 2 else None
        cut = get_settings().default_threshold if threshold is None else threshold
        return instances_from_probabilities(planes[0], boundary, threshold=cut)

    def probabilities(self, image: NDArray[np.float32]) -> NDArray[np.float32]:
        """``(Y, X, C)`` float32 in ``[0, 1]`` → ``(K', Y, X)`` probabilities, ``K' <= 2``."""
        height, width = image.shape[:2]
        tile = self.spec.tile
        grid = plan_tiles(
            height, width, tile=tile, overlap=min(64, tile // 4 - 1), multiple=self.spec.multiple
        )
        out: NDArray[np.float32] | None = None
        for i, j in grid.positions:
            top, left = grid.rows.starts[i], grid.cols.starts[j]
            window = extract_tile(image, top, left, grid.rows.size, grid.cols.size)
            planes = self.forward(window.transpose(2, 0, 1)[np.newaxis])[0]
            if out is None:
                out = np.zeros((planes.shape[0], height, width), dtype=np.float32)
            rows = min(grid.rows.size, height - top)
            cols = min(grid.cols.size, width - left)
            weight = grid.window(i, j)[:rows, :cols]
            out[:, top : top + rows, left : left + cols] += planes[:, :rows, :cols] * weight
        assert out is not None  # a grid always has at least one tile
        out /= np.outer(grid.rows.total, grid.cols.total)[np.newaxis]
        return out

    def forward(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """One ``(N, C, H, W)`` batch → ``(N, K', H, W)`` probabilities (first two planes)."""
        output = self.runner(np.ascontiguousarray(batch, dtype=np.float32))
        if output.ndim != 4 or output.shape[0] != batch.shape[0] or output.shape[1] < 1:
            raise InvalidParameter(
                f"model output shape {output.shape} is not (N, K, H, W) for input {batch.shape}"
            )
        planes = output[:, :2]
        if self.spec.output == "logits":
            planes = expit(planes)
        return np.asarray(np.clip(planes, 0.0, 1.0), dtype=np.float32)
