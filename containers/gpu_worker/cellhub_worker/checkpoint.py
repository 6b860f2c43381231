"""The versioned on-disk format of a trained net: weights plus everything needed to use them.

One file, written by ``torch.save`` and read with ``torch.load(weights_only=True)``, so it can
hold only tensors and plain Python values (never pickled classes: a checkpoint from an
untrusted lab cannot run code). The top-level dict is::

    {"format": "cellhub.checkpoint/1",
     "name", "version", "architecture", "config", "in_channels", "outputs", "normalization",
     "classes", "tile_size", "provenance", "scores", "description", "speed_notes",
     "postprocess", "test_time_augmentation",
     "storage": "float32" | "float16",
     "state_dict": {parameter name: tensor}}

``config`` holds the net's keyword arguments other than its channel counts (``widths``, ...);
the net is rebuilt as ``build_net(architecture, in_channels=in_channels,
out_channels=len(outputs), **config)``. With ``storage="float16"`` floating tensors are kept at
half precision (half the file size) and widened back to float32 on load.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from torch import nn

from cellhub.errors import InputNotFound, InvalidParameter
from cellhub_worker.instance_filters import AreaReference
from cellhub_worker.nets import build_net

CHECKPOINT_FORMAT = "cellhub.checkpoint/1"
_FORMAT_FAMILY = "cellhub.checkpoint/"
_FP16_MAX = float(torch.finfo(torch.float16).max)
_HASH_CHUNK = 1 << 20


# ``as_is``: the normalised pixels go to the net unchanged. ``bright_objects``: the net was
# trained on bright objects (fluorescence); an image whose objects look dark on a bright field
# (brightfield, H&E, an inverted LUT; :func:`cellhub_worker.preprocess.objects_look_dark`)
# is inverted, ``1 - x``, after normalisation.
Polarity = Literal["as_is", "bright_objects"]


class Normalization(BaseModel):
    """How raw pixels become net input: per-channel percentiles mapped to 0 and 1.

    ``polarity`` defaults to ``as_is``, the behaviour of checkpoints written before it existed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["percentile"] = "percentile"
    low: float = Field(default=1.0, ge=0.0, le=100.0)
    high: float = Field(default=99.8, ge=0.0, le=100.0)
    polarity: Polarity = "as_is"

    @model_validator(mode="after")
    def _ordered(self) -> Normalization:
        if self.low >= self.high:
            raise ValueError(f"low percentile {self.low} must be below high {self.high}")
        return self


class Postprocessing(BaseModel):
    """How a net's probabilities become instances, tuned per net on its training data.

    ``threshold``: foreground cut (``None``: the settings' default); ``seed_threshold``: the
    cut on ``foreground - boundary`` that seeds one instance (``None``: ``threshold``);
    ``min_relative_area``: drop instances below this fraction of the image's median
    (``relative_to="largest"``: largest) instance area, except those touching the edge when
    ``spare_border``. The defaults are the behaviour of checkpoints written before these
    settings existed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    seed_threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    min_relative_area: float = Field(default=0.0, ge=0.0, lt=1.0)
    spare_border: bool = True
    relative_to: AreaReference = "median"


# Test-time augmentation: probabilities averaged over the identity only, the four flips
# (identity, horizontal, vertical, both) or all eight symmetries of the square.
TestTimeAugmentation = Literal["none", "flips", "d4"]


class Provenance(BaseModel):
    """Where the weights came from, enough to reproduce the training run."""

    model_config = ConfigDict(frozen=True, extra="allow")
    data: str = ""
    split: str = ""
    commit: str = ""
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    date: str = ""  # ISO 8601


class CheckpointMeta(BaseModel):
    """Everything in a checkpoint except the weights."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = Field(min_length=1)
    architecture: str
    config: dict[str, Any] = Field(default_factory=dict)
    in_channels: int = Field(ge=1)
    outputs: tuple[str, ...] = Field(min_length=1)
    normalization: Normalization = Field(default_factory=Normalization)
    classes: tuple[str, ...] = ()
    tile_size: int = Field(default=512, ge=16)
    provenance: Provenance = Field(default_factory=Provenance)
    scores: dict[str, float] = Field(default_factory=dict)
    description: str = ""
    speed_notes: str = ""
    postprocess: Postprocessing = Field(default_factory=Postprocessing)
    test_time_augmentation: TestTimeAugmentation = "none"

    @model_validator(mode="after")
    def _channels_not_in_config(self) -> CheckpointMeta:
        clash = {"in_channels", "out_channels"} & self.config.keys()
        if clash:
            raise ValueError(f"config must not repeat {sorted(clash)}; they are fields")
        return self

    def build(self) -> nn.Module:
        """A freshly initialised net of this architecture and config, in eval mode."""
        net = build_net(
            self.architecture,
            in_channels=self.in_channels,
            out_channels=len(self.outputs),
            **self.config,
        )
        return net.eval()


def save_checkpoint(
    path: str | os.PathLike[str], net: nn.Module, meta: CheckpointMeta, *, half: bool = False
) -> str:
    """Write ``net``'s weights and ``meta`` to ``path`` atomically; return the file's SHA-256.

    ``half=True`` stores floating tensors as float16, except any whose values would not
    survive the narrowing (outside the float16 range), which stay float32.
    """
    state: dict[str, torch.Tensor] = {}
    for key, tensor in net.state_dict().items():
        value = tensor.detach().to("cpu", copy=True)
        if half and value.is_floating_point() and _fits_float16(value):
            value = value.to(torch.float16)
        state[key] = value
    return _write(path, meta, "float16" if half else "float32", state)


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, CheckpointMeta]:
    """Rebuild the net stored at ``path`` with float32 weights, in eval mode, on ``map_location``.

    Raises ``InputNotFound`` for a missing file and ``InvalidParameter`` for a corrupt file,
    a file that is not a cellhub checkpoint, an unsupported format version, invalid metadata
    or weights that do not fit the declared architecture.
    """
    payload = _read_payload(path, map_location)
    meta = _meta_from(payload, path)
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise InvalidParameter(f"checkpoint {path} holds no state_dict", path=str(path))
    net = meta.build()
    widened = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        net.load_state_dict(widened, strict=True)
    except RuntimeError as exc:
        raise InvalidParameter(
            f"weights in {path} do not fit {meta.architecture} with config {meta.config}",
            path=str(path),
        ) from exc
    return net.to(map_location).eval(), meta


def read_checkpoint_meta(path: str | os.PathLike[str]) -> CheckpointMeta:
    """The metadata of the checkpoint at ``path`` without building its net.

    The file is memory-mapped, so the weights are not read into memory.
    """
    return _meta_from(_read_payload(path, "cpu", mmap=True), path)


def rewrite_meta(
    source: str | os.PathLike[str], target: str | os.PathLike[str], meta: CheckpointMeta
) -> str:
    """Write ``source``'s weights, as stored (float16 or float32), with ``meta`` to ``target``.

    For settings that do not touch the weights (post-processing, scores, description);
    ``target`` may be ``source``. Returns the new file's SHA-256.
    """
    payload = _read_payload(source, "cpu")
    _meta_from(payload, source)
    return _write(target, meta, payload.get("storage", "float32"), payload["state_dict"])


def _write(
    path: str | os.PathLike[str], meta: CheckpointMeta, storage: str, state: dict[str, Any]
) -> str:
    """Save a checkpoint payload atomically (a partial file renamed into place); its SHA-256."""
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        **meta.model_dump(mode="json"),
        "storage": storage,
        "state_dict": state,
    }
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    torch.save(payload, partial)
    partial.replace(target)
    return sha256_of(target)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_payload(
    path: str | os.PathLike[str], map_location: str | torch.device, *, mmap: bool = False
) -> dict[str, Any]:
    if not Path(path).is_file():
        raise InputNotFound(f"checkpoint {path} does not exist", path=str(path))
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    # Garbage bytes fail inside torch's unpickler in unbounded ways (KeyError, struct.error,
    # UnicodeDecodeError, ...); every one of them means the same thing here.
    except Exception as exc:
        raise InvalidParameter(
            f"checkpoint {path} is corrupt or not a torch file: {exc}", path=str(path)
        ) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("format"), str):
        raise InvalidParameter(f"{path} is not a cellhub checkpoint", path=str(path))
    found = payload["format"]
    if found != CHECKPOINT_FORMAT:
        known = found.startswith(_FORMAT_FAMILY)
        raise InvalidParameter(
            f"checkpoint {path} has {'unsupported version' if known else 'unknown format'} "
            f"{found!r}; this worker reads {CHECKPOINT_FORMAT!r}",
            path=str(path),
            format=found,
        )
    return payload


def _meta_from(payload: dict[str, Any], path: str | os.PathLike[str]) -> CheckpointMeta:
    fields = {k: v for k, v in payload.items() if k not in ("format", "storage", "state_dict")}
    try:
        return CheckpointMeta.model_validate(fields)
    except ValidationError as exc:
        raise InvalidParameter(
            f"checkpoint {path} has invalid metadata: {exc}", path=str(path)
        ) from exc


def _fits_float16(tensor: torch.Tensor) -> bool:
    if tensor.numel() == 0:
        return True
    return bool(torch.isfinite(tensor).all()) and float(tensor.abs().max()) <= _FP16_MAX
