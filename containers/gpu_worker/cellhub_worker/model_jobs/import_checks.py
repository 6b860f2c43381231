"""The checks an uploaded model must pass, per format; see :mod:`.model_import` for the list.

Each check that fails raises :class:`ModelRejected` with the reason a member reads and the
facts gathered so far; the caller turns it into a rejected outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.errors import InvalidInput
from cellhub_worker.checkpoint import Normalization
from cellhub_worker.exported_models import (
    DEFAULT_MULTIPLE,
    DEFAULT_TILE,
    ExportedNetSegmenter,
    ExportedNetSpec,
    NetRunner,
    OnnxRunner,
    OutputKind,
    TorchScriptRunner,
)
from cellhub_worker.model_jobs.project_data import net_input
from cellhub_worker.tiling import extract_tile

# A 512² image must take less than this on the CPU (second of two runs).
MAX_MS_PER_IMAGE = 5000.0
# The end-to-end check segments at most this much of the sample image.
_SAMPLE_SIDE = 1024
_MESSAGE_LIMIT = 300


class ModelRejected(Exception):
    """The uploaded model failed a check; ``str()`` is the reason shown to the member."""

    def __init__(self, reason: str, checks: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.checks = dict(checks or {})


@dataclass(frozen=True, slots=True)
class CheckedModel:
    """What the checks found: ``checks`` goes into the card's ``validation``."""

    checks: dict[str, Any]
    architecture: str = "imported"
    classes: tuple[str, ...] = ("object",)
    description: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    data: str = ""


def check_checkpoint(data: bytes, folder: Path, sample: NDArray[Any], *, name: str) -> CheckedModel:
    """A file in our checkpoint format: loads, predicts a 512² image in time, segments."""
    from cellhub_worker.learned import LearnedSegmenter

    path = folder / "upload.pt"
    path.write_bytes(data)
    try:
        segmenter = LearnedSegmenter(path, device="cpu")
    except InvalidInput as exc:
        raise ModelRejected(_short(str(exc).replace(str(path), "the file"))) from exc
    meta = segmenter.meta
    image = _square(net_input(sample, meta.in_channels, meta.normalization), DEFAULT_TILE)
    checks: dict[str, Any] = {
        "in_channels": meta.in_channels,
        "outputs": list(meta.outputs),
        "input_shape": [1, meta.in_channels, DEFAULT_TILE, DEFAULT_TILE],
    }
    segmenter.predictor.predict(image)
    start = time.perf_counter()
    planes = segmenter.predictor.predict(image)
    checks["ms_per_512"] = round(1000.0 * (time.perf_counter() - start), 1)
    checks["output_shape"] = [1, *planes.shape]
    if not np.isfinite(planes).all():
        raise ModelRejected("the model's output holds NaN or infinite values", checks)
    _check_speed(checks)
    _check_segments(segmenter.segment, sample, checks)
    return CheckedModel(
        checks=checks,
        architecture=meta.architecture,
        classes=meta.classes or ("object",),
        description=meta.description,
        scores=dict(meta.scores),
        data=meta.provenance.data,
    )


def check_exported(
    data: bytes, model_format: str, sample: NDArray[Any], *, name: str
) -> CheckedModel:
    """A TorchScript or ONNX file following the I/O convention of :mod:`exported_models`."""
    runner, channels, side = _load(data, model_format, sample)
    checks: dict[str, Any] = {}
    output: NDArray[np.float32] | None = None
    errors = []
    batch = np.zeros((1, 1, side, side), np.float32)
    for count in channels:
        try:
            image = _square(net_input(sample, count, Normalization()), side)
            batch = np.ascontiguousarray(image.transpose(2, 0, 1)[np.newaxis])
            output = runner(batch)
        # Any failure of the member's code is a rejection, whatever it raises.
        except Exception as exc:
            errors.append(f"{count} channel(s): {_short(str(exc))}")
            continue
        checks["in_channels"] = count
        checks["input_shape"] = list(batch.shape)
        break
    if output is None:
        raise ModelRejected(
            f"the model does not accept a float32 (1, C, {side}, {side}) input: "
            + "; ".join(errors)
        )
    checks["output_shape"] = list(output.shape)
    if output.ndim != 4 or output.shape[0] != 1 or output.shape[1] < 1:
        raise ModelRejected(f"output shape {tuple(output.shape)} is not (1, K, H, W)", checks)
    if output.shape[2:] != (side, side):
        raise ModelRejected(
            f"output shape {tuple(output.shape)} does not match input {side}×{side}", checks
        )
    if not np.isfinite(output).all():
        raise ModelRejected("the model's output holds NaN or infinite values", checks)
    low, high = float(output.min()), float(output.max())
    kind: OutputKind = "probabilities" if low >= 0.0 and high <= 1.0 else "logits"
    checks.update(output=kind, output_range=[round(low, 4), round(high, 4)])
    start = time.perf_counter()
    runner(batch)
    ms = 1000.0 * (time.perf_counter() - start) * (DEFAULT_TILE / side) ** 2
    checks["ms_per_512"] = round(ms, 1)
    _check_speed(checks)
    fixed = _fixed_side(runner) is not None
    spec = ExportedNetSpec(
        in_channels=checks["in_channels"],
        output=kind,
        tile=side if fixed else DEFAULT_TILE,
        multiple=side if fixed else DEFAULT_MULTIPLE,
    )
    checks.update(spec.to_dict())
    segmenter = ExportedNetSegmenter(runner, spec, name=name)
    _check_segments(segmenter.segment, sample, checks)
    return CheckedModel(checks=checks, architecture=f"imported {model_format}")


def _load(data: bytes, model_format: str, sample: NDArray[Any]) -> tuple[NetRunner, list[int], int]:
    """The runner, the channel counts to try in order, and the square input side to test."""
    guesses = list(dict.fromkeys([min(sample.shape[2], 3), 1, 3]))
    try:
        if model_format == "torchscript":
            return TorchScriptRunner.from_bytes(data, "cpu"), guesses, DEFAULT_TILE
        runner = OnnxRunner.from_bytes(data)
    # Corrupt bytes fail inside the loaders in many ways; each means the same here.
    except Exception as exc:
        raise ModelRejected(
            f"the file is not a loadable {model_format} model: {_short(str(exc))}"
        ) from exc
    channels, height, width = runner.declared_input()
    if height is not None and width is not None and height != width:
        raise ModelRejected(
            f"the model's fixed input {height}×{width} is not square; "
            "export it with dynamic height and width"
        )
    return runner, [channels] if channels else guesses, height or DEFAULT_TILE


def _fixed_side(runner: NetRunner) -> int | None:
    if isinstance(runner, OnnxRunner):
        return runner.declared_input()[1]
    return None


def _check_speed(checks: dict[str, Any]) -> None:
    if checks["ms_per_512"] > MAX_MS_PER_IMAGE:
        raise ModelRejected(
            f"{checks['ms_per_512']:.0f} ms per 512² image on CPU is over the "
            f"{MAX_MS_PER_IMAGE:.0f} ms limit",
            checks,
        )


def _check_segments(segment: Any, sample: NDArray[Any], checks: dict[str, Any]) -> None:
    """Segment (a corner of) the sample end to end; zero objects is allowed, but noted."""
    try:
        instances = segment(sample[:_SAMPLE_SIDE, :_SAMPLE_SIDE])
    # Any failure of the member's code is a rejection, whatever it raises.
    except Exception as exc:
        reason = f"segmenting the sample image failed: {_short(str(exc))}"
        raise ModelRejected(reason, checks) from exc
    checks["sample_objects"] = int(instances.labels.max(initial=0))
    if checks["sample_objects"] == 0:
        checks["warnings"] = ["the model found no objects in the sample image"]


def _square(image: NDArray[np.float32], side: int) -> NDArray[np.float32]:
    """The top-left ``side``² window of ``image``, reflection-padded where it is smaller."""
    return extract_tile(image, 0, 0, side, side)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"
