"""Fetch the mnfinder nuclei annotations from PyPI into a local, git-ignored data cache.

The ``mnfinder==1.2.3`` wheel (MIT licence) carries 49 annotated fluorescence images of
nuclei under ``mnfinder/{training,validation,test}-data/<set>/images/<name>.tif`` with
instance masks ``nucleus_masks/<name>.png`` (RGBA; the blue channel is the instance id).
The package itself is never imported (it depends on TensorFlow): the wheel is downloaded
with ``pip download --no-deps`` and read as a zip file.

Output, one folder per split (``training``, ``validation``, ``test``)::

    <cache>/mnfinder-1.2.3/<split>/images/<set>__<name>.tif    the original bytes
    <cache>/mnfinder-1.2.3/<split>/labels/<set>__<name>.png    uint16 (Y, X), 0 = background
    <cache>/mnfinder-1.2.3/manifest.json                       files, counts and SHA-256s

Each split folder is what ``cellhub evaluate`` and ``cellhub train`` read.

``--synthetic-spheroids N`` also writes N generated brightfield spheroid images (seeds
100000 onwards, never used for training) with their exact masks to
``<cache>/synthetic-spheroids/test/``: the held-out set the spheroid model is scored on.
``--synthetic-spheroids-validation N`` writes N more (seeds 200000 onwards, in neither the
training nor the test range) to ``<cache>/synthetic-spheroids/validation/``: the set the
spheroid model's post-processing is chosen on, so the test set is never tuned against.

``--dsb-sample`` also writes the one annotated image of the 2018 Data Science Bowl nuclei
set (Caicedo et al., Nature Methods 2019) that the ``stardist==0.9.2`` wheel (BSD-3) carries
as ``stardist/data/images/{img2d,mask2d}.tif``, to ``<cache>/dsb2018-sample/``: 125 nuclei from
another lab and microscope than mnfinder's, an outside check of the nuclei models that no
setting is chosen on.

    python scripts/fetch_training_data.py [--cache .cellhub-data] [--synthetic-spheroids 24]
        [--synthetic-spheroids-validation 24] [--dsb-sample]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

PACKAGE, VERSION = "mnfinder", "1.2.3"
DSB_PACKAGE, DSB_VERSION = "stardist", "0.9.2"
DSB_MEMBERS = {
    "images": "stardist/data/images/img2d.tif",
    "labels": "stardist/data/images/mask2d.tif",
}
SPLITS = ("training", "validation", "test")
# First generator seed of each synthetic split; training uses seeds 0 onwards.
SYNTHETIC_FIRST_SEED = {"test": 100_000, "validation": 200_000}
_IMAGE = re.compile(r"^mnfinder/(training|validation|test)-data/([^/]+)/images/([^/]+)\.tif$")


def fetch(cache: Path) -> Path:
    """Download the wheel into ``cache`` (once) and unpack its annotated images; return root."""
    root = cache / f"{PACKAGE}-{VERSION}"
    wheel = _download_wheel(cache / "wheels", PACKAGE, VERSION)
    manifest: dict[str, Any] = {
        "source": f"pypi:{PACKAGE}=={VERSION}",
        "wheel": wheel.name,
        "files": [],
    }
    manifest["wheel_sha256"] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for member in sorted(names):
            match = _IMAGE.match(member)
            if match is None:
                continue
            split, subset, stem = match.groups()
            mask_member = f"mnfinder/{split}-data/{subset}/nucleus_masks/{stem}.png"
            if mask_member not in names:
                print(f"skipping {member}: no nucleus mask", file=sys.stderr)
                continue
            entry = _unpack_pair(archive, member, mask_member, root / split, f"{subset}__{stem}")
            manifest["files"].append({"split": split, "source": member, **entry})
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return root


def labels_from_mask(rgba: np.ndarray) -> np.ndarray:
    """An mnfinder nucleus mask (cv2's BGRA order, uint8) → uint16 instance labels.

    The blue channel is the instance id; a pixel is background where it is 0. Ids are
    renumbered 1..N in order of first appearance so the label image is compact.
    """
    blue = rgba[..., 0] if rgba.ndim == 3 else rgba
    ids, inverse = np.unique(blue, return_inverse=True)
    # np.unique sorts, so id 0 (background) maps to 0 whenever it is present.
    offset = 0 if ids[0] == 0 else 1
    return (inverse.reshape(blue.shape) + offset).astype(np.uint16)


def _unpack_pair(
    archive: zipfile.ZipFile, image_member: str, mask_member: str, folder: Path, stem: str
) -> dict[str, object]:
    image_bytes = archive.read(image_member)
    mask_bytes = archive.read(mask_member)
    mask = cv2.imdecode(np.frombuffer(mask_bytes, np.uint8), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise RuntimeError(f"cannot decode {mask_member}")
    labels = labels_from_mask(mask)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    image_path = folder / "images" / f"{stem}.tif"
    label_path = folder / "labels" / f"{stem}.png"
    image_path.write_bytes(image_bytes)
    if not cv2.imwrite(str(label_path), labels):
        raise RuntimeError(f"cannot write {label_path}")
    return {
        "image": str(image_path.relative_to(folder.parent)),
        "labels": str(label_path.relative_to(folder.parent)),
        "objects": int(labels.max()),
        "shape": list(labels.shape),
        "image_sha256": hashlib.sha256(image_bytes).hexdigest(),
        "mask_sha256": hashlib.sha256(mask_bytes).hexdigest(),
    }


def write_synthetic_spheroids(
    cache: Path, count: int, first_seed: int | None = None, *, split: str = "test"
) -> Path:
    """Write ``count`` generated spheroid fields (512²) and their labels; return the folder.

    ``split`` names the folder and, unless ``first_seed`` is given, the seed range
    (:data:`SYNTHETIC_FIRST_SEED`).
    """
    from cellhub_worker.synthetic_spheroids import spheroid_field

    if first_seed is None:
        first_seed = SYNTHETIC_FIRST_SEED[split]
    folder = cache / "synthetic-spheroids" / split
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    for seed in range(first_seed, first_seed + count):
        image, labels = spheroid_field((512, 512), seed=seed)
        cv2.imwrite(str(folder / "images" / f"spheroids-{seed}.png"), image)
        cv2.imwrite(str(folder / "labels" / f"spheroids-{seed}.png"), labels.astype(np.uint16))
    return folder


def fetch_dsb_sample(cache: Path) -> Path:
    """Unpack the stardist wheel's annotated DSB 2018 image into ``<cache>/dsb2018-sample``."""
    root = cache / "dsb2018-sample"
    wheel = _download_wheel(cache / "wheels", DSB_PACKAGE, DSB_VERSION)
    with zipfile.ZipFile(wheel) as archive:
        for kind, member in DSB_MEMBERS.items():
            (root / kind).mkdir(parents=True, exist_ok=True)
            (root / kind / "dsb2018.tif").write_bytes(archive.read(member))
    return root


def _download_wheel(folder: Path, package: str, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    found = sorted(folder.glob(f"{package}-{version}-*.whl"))
    if found:
        return found[0]
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
             f"{package}=={version}", "-d", scratch],
            check=True,
        )  # fmt: skip
        wheel = next(Path(scratch).glob("*.whl"))
        return wheel.replace(folder / wheel.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(".cellhub-data"), help="cache folder")
    parser.add_argument("--synthetic-spheroids", type=int, default=0, metavar="N")
    parser.add_argument("--synthetic-spheroids-validation", type=int, default=0, metavar="N")
    parser.add_argument("--dsb-sample", action="store_true", help="the stardist DSB 2018 image")
    args = parser.parse_args(argv)
    if args.dsb_sample:
        print(f"dsb2018       1 image    125 nuclei  {fetch_dsb_sample(args.cache)}")
    for split, count in (
        ("test", args.synthetic_spheroids),
        ("validation", args.synthetic_spheroids_validation),
    ):
        if count:
            folder = write_synthetic_spheroids(args.cache, count, split=split)
            print(f"synthetic   {count:>3} images              {folder}")
    root = fetch(args.cache)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    for split in SPLITS:
        entries = [f for f in manifest["files"] if f["split"] == split]
        objects = sum(int(f["objects"]) for f in entries)
        print(f"{split:<11} {len(entries):>3} images {objects:>5} nuclei  {root / split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
