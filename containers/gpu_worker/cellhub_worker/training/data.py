"""Training images held in memory, normalised exactly as the segmenter normalises at inference.

A source is either annotated folders (``images/`` + ``labels/``, see
:mod:`cellhub_worker.evaluation.dataset`) or a synthetic generator (``"nuclei"`` or
``"spheroids"``). Either way every image becomes a :class:`TrainingImage` with float32
``(Y, X, C)`` pixels in ``[0, 1]`` and int32 ``(Y, X)`` labels, plus a description of where
it came from for the checkpoint's provenance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from cellhub.errors import InvalidParameter
from cellhub_worker.checkpoint import Normalization
from cellhub_worker.evaluation.dataset import file_list_hash, read_labelled_folder
from cellhub_worker.preprocess import normalize_percentile, oriented

SyntheticKind = Literal["nuclei", "spheroids"]


@dataclass(frozen=True, slots=True)
class TrainingImage:
    name: str
    pixels: NDArray[np.float32]
    labels: NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """Images plus provenance: ``data`` (the source), ``split`` and a hash of the file list."""

    images: tuple[TrainingImage, ...]
    data: str
    split: str
    file_list_sha256: str

    @property
    def in_channels(self) -> int:
        return int(self.images[0].pixels.shape[2])


def folder_training_set(
    folders: list[Path], normalization: Normalization, in_channels: int = 1
) -> TrainingSet:
    """Every annotated image of ``folders``; multi-channel images keep ``in_channels``."""
    images = []
    for folder in folders:
        for item in read_labelled_folder(folder):
            pixels = item.pixels[:, :, :in_channels]
            normalized = normalize_percentile(pixels, normalization.low, normalization.high)
            normalized = oriented(normalized, normalization.polarity)
            images.append(TrainingImage(f"{folder.name}/{item.name}", normalized, item.labels))
    if not images:
        raise InvalidParameter("no training images found")
    return TrainingSet(
        images=tuple(images),
        data=" + ".join(_describe(f) for f in folders),
        split="+".join(f.name for f in folders),
        file_list_sha256=file_list_hash(folders),
    )


def synthetic_training_set(
    kind: SyntheticKind, count: int, *, seed: int, shape: tuple[int, int] = (512, 512)
) -> TrainingSet:
    """``count`` generated images of ``kind``, seeds ``seed .. seed + count - 1``."""
    from cellhub_worker.synthetic import synthetic_nuclei
    from cellhub_worker.synthetic_spheroids import spheroid_field

    images = []
    for index in range(count):
        image_seed = seed + index
        if kind == "nuclei":
            pixels, labels = synthetic_nuclei(
                shape, count=shape[0] * shape[1] // 6500, seed=image_seed
            )
        elif kind == "spheroids":
            pixels, labels = spheroid_field(shape, seed=image_seed)
        else:
            raise InvalidParameter(f"unknown synthetic kind {kind!r}")
        normalized = normalize_percentile(pixels[:, :, np.newaxis])
        images.append(TrainingImage(f"synthetic-{kind}-{image_seed}", normalized, labels))
    description = f"synthetic:{kind} ({count} images {shape[0]}x{shape[1]}, seeds {seed}+)"
    digest = json.dumps({"kind": kind, "count": count, "seed": seed, "shape": list(shape)})
    return TrainingSet(tuple(images), description, "synthetic", _sha256_text(digest))


def _describe(folder: Path) -> str:
    """The source recorded in the folder's fetch manifest, if any, with the split name."""
    manifest = folder.parent / "manifest.json"
    if manifest.is_file():
        try:
            source: Any = json.loads(manifest.read_text(encoding="utf-8")).get("source")
        except (OSError, ValueError):
            source = None
        if isinstance(source, str):
            return f"{source} {folder.name}"
    return str(folder)


def _sha256_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
