"""Reading an annotated image folder: ``images/<stem>.<ext>`` beside ``labels/<stem>.<ext>``.

Images are TIFF (read with tifffile) or anything OpenCV decodes, returned as ``(Y, X, C)``
in their native dtype. Label images are integer ``(Y, X)``, 0 = background and every other
value one instance (16-bit PNG or TIFF). This is the layout
``scripts/fetch_training_data.py`` writes per split, and what ``cellhub evaluate`` and
``cellhub train`` read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tifffile
from numpy.typing import NDArray

from cellhub.errors import InputNotFound, InvalidParameter

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")


@dataclass(frozen=True, slots=True)
class LabelledImage:
    """One annotated image: ``pixels`` ``(Y, X, C)`` native dtype, ``labels`` int32 ``(Y, X)``."""

    name: str
    pixels: NDArray[Any]
    labels: NDArray[np.int32]


def labelled_pairs(folder: str | Path) -> list[tuple[Path, Path]]:
    """The (image, labels) file pairs of ``folder``, sorted by stem.

    Raises ``InputNotFound`` when ``folder`` lacks ``images/`` or ``labels/``, and
    ``InvalidParameter`` when an image has no label file or there are no images at all.
    """
    root = Path(folder)
    images, labels = root / "images", root / "labels"
    if not images.is_dir() or not labels.is_dir():
        raise InputNotFound(f"{root} needs images/ and labels/ folders", path=str(root))
    by_stem = {p.stem: p for p in labels.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = []
    for image in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        label = by_stem.get(image.stem)
        if label is None:
            raise InvalidParameter(f"{image} has no label image in {labels}", path=str(image))
        pairs.append((image, label))
    if not pairs:
        raise InvalidParameter(f"no images in {images}", path=str(images))
    return pairs


def read_labelled_folder(folder: str | Path) -> Iterator[LabelledImage]:
    """Every annotated image of ``folder``, one at a time, in stem order."""
    for image_path, label_path in labelled_pairs(folder):
        pixels = read_pixels(image_path)
        labels = read_pixels(label_path)
        if labels.ndim == 3:
            labels = labels[:, :, 0]
        if labels.shape != pixels.shape[:2]:
            raise InvalidParameter(
                f"{label_path} is {labels.shape}, its image {pixels.shape[:2]}",
                path=str(label_path),
            )
        yield LabelledImage(image_path.stem, pixels, labels.astype(np.int32))


def read_pixels(path: Path) -> NDArray[Any]:
    """``(Y, X, C)`` native-dtype pixels of an image file (``(Y, X, 1)`` for grey)."""
    if path.suffix.lower() in (".tif", ".tiff"):
        pixels = np.asarray(tifffile.imread(path))
    else:
        decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if decoded is None:
            raise InvalidParameter(f"cannot decode {path}", path=str(path))
        pixels = np.asarray(decoded)
        if pixels.ndim == 3 and pixels.shape[2] >= 3:
            pixels = pixels[:, :, [2, 1, 0, *range(3, pixels.shape[2])]]  # BGR(A) → RGB(A)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.ndim != 3:
        raise InvalidParameter(f"{path} has shape {pixels.shape}; expected (Y, X[, C])")
    return pixels


def file_list_hash(folders: list[Path]) -> str:
    """SHA-256 over the names and contents of every image and label file of ``folders``."""
    digest = hashlib.sha256()
    for folder in folders:
        for image, label in labelled_pairs(folder):
            for path in (image, label):
                digest.update(f"{path.parent.name}/{path.name}\n".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
