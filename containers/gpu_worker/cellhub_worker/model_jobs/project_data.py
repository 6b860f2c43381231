"""A project's own segmentations as training data: originals plus instance label images.

Every image whose current (latest) segmentation version exists takes part, whether a model
wrote that version or a member drew it by hand: a manual edit is simply the newest version.
Each becomes a :class:`ProjectSample` holding the decoded original ``(Y, X, C)`` in its native
dtype (what a segmenter is given) and int32 ``(Y, X)`` instance labels rasterised from the
version's polygons (0 = background, holes included; 1..N = objects in document order, later
polygons winning where two overlap).

A project with more segmented images than the job's cap is cut down before anything is
decoded (:func:`images_to_use`), so memory grows with the cap, not with the project.

The images used and the held-out slice are both chosen by image id and seed alone (each with
its own ranking, so the two choices are independent), so the same project and seed always use
and hold out the same images whatever order the repository lists them in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.domain.images import Image, ImageStatus
from cellhub.errors import ImageError, InvalidParameter
from cellhub.geometry import labels_from_polygons
from cellhub.imageio import read_image
from cellhub.ports.blob_store import BlobStore
from cellhub.ports.images_repository import ImagesRepository
from cellhub.services.segmentation_documents import load_document, polygons_of
from cellhub_worker.checkpoint import Normalization
from cellhub_worker.preprocess import normalize_percentile, oriented
from cellhub_worker.training.data import TrainingImage, TrainingSet

log = logging.getLogger(__name__)

# Images that were never decoded (or could not be) have no usable original.
_UNUSABLE = frozenset({ImageStatus.UPLOADING, ImageStatus.REJECTED})


@dataclass(frozen=True, slots=True)
class ProjectSample:
    """One segmented image: ``pixels`` native ``(Y, X, C)``, ``labels`` int32 ``(Y, X)``."""

    image_id: str
    name: str
    version: int
    pixels: NDArray[Any]
    labels: NDArray[np.int32]

    @property
    def objects(self) -> int:
        return int(np.count_nonzero(np.unique(self.labels)))


@dataclass(frozen=True, slots=True)
class ProjectData:
    """The samples of a project, the images left out (each with why), and what the cap cut.

    ``segmented_images`` counts every segmented image of the project; ``left_out_by_cap`` how
    many of them were never read because the project held more than the cap allows.
    """

    samples: tuple[ProjectSample, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    segmented_images: int = 0
    left_out_by_cap: int = 0


def segmented_images(images: ImagesRepository, project_id: str) -> Iterator[Image]:
    """The project's images that have a current segmentation, oldest first."""
    cursor: str | None = None
    while True:
        page = images.list(project_id, cursor=cursor, order="created")
        for image in page.items:
            if image.latest_version > 0 and image.status not in _UNUSABLE:
                yield image
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def images_to_use(candidates: list[Image], *, max_images: int, seed: int) -> list[Image]:
    """At most ``max_images`` of ``candidates``, in their given order, chosen by id and seed.

    Ranked by SHA-256 of ``"use:<seed>:<image id>"``: a salt apart from the held-out ranking,
    so a capped project does not keep exactly the images that would have been held out.
    """
    if len(candidates) <= max_images:
        return list(candidates)
    ranked = sorted(candidates, key=lambda image: _use_rank(seed, image.id))
    chosen = {image.id for image in ranked[:max_images]}
    return [image for image in candidates if image.id in chosen]


def read_project_data(
    images: ImagesRepository,
    blobs: BlobStore,
    project_id: str,
    *,
    max_images: int | None = None,
    seed: int = 0,
) -> ProjectData:
    """Decode the project's segmented images (at most ``max_images``) and rasterise each one's
    current version.

    The cap is applied to the image records before any pixels are read (see
    :func:`images_to_use`). An image whose original or document cannot be read is skipped
    (and listed with the reason), so one broken upload does not stop a project from being
    trained on; it is not replaced by one the cap left out.
    """
    candidates = list(segmented_images(images, project_id))
    chosen = (
        candidates
        if max_images is None
        else images_to_use(candidates, max_images=max_images, seed=seed)
    )
    if len(chosen) < len(candidates):
        log.info(
            "training on %d of the project's %d segmented images (cap %s)",
            len(chosen),
            len(candidates),
            max_images,
        )
    samples: list[ProjectSample] = []
    skipped: list[tuple[str, str]] = []
    for image in chosen:
        try:
            sample = read_sample(images, blobs, image)
        except (ImageError, InvalidParameter) as exc:
            log.warning("image %s left out of training: %s", image.id, exc)
            skipped.append((image.id, str(exc)))
            continue
        if sample is not None:
            samples.append(sample)
    return ProjectData(
        tuple(samples),
        tuple(skipped),
        segmented_images=len(candidates),
        left_out_by_cap=len(candidates) - len(chosen),
    )


def read_sample(images: ImagesRepository, blobs: BlobStore, image: Image) -> ProjectSample | None:
    """The image's original and its current version's labels; None if the version is gone."""
    record = images.get_version(image.id, image.latest_version)
    if record is None:
        return None
    pixels = read_image(blobs.get(image.blob_key), name=image.name).pixels
    polygons = polygons_of(load_document(blobs, record.blob_key))
    # Ids are renumbered: a hand-edited document may repeat or skip them.
    numbered = [dataclasses.replace(p, id=i + 1) for i, p in enumerate(polygons)]
    labels = labels_from_polygons(numbered, (int(pixels.shape[0]), int(pixels.shape[1])))
    return ProjectSample(image.id, image.name, record.version, pixels, labels)


def split_samples(
    samples: tuple[ProjectSample, ...], *, holdout_fraction: float, seed: int
) -> tuple[tuple[ProjectSample, ...], tuple[ProjectSample, ...]]:
    """``(training, held_out)``: ``holdout_fraction`` of the images, at least one each side.

    Images are ranked by SHA-256 of ``"<seed>:<image id>"`` and the first ones held out, so
    the split depends on ids and seed only. Raises ``InvalidParameter`` for fewer than two
    images or a fraction outside (0, 1).
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise InvalidParameter(
            f"holdout_fraction must lie strictly between 0 and 1, got {holdout_fraction}",
            parameter="holdout_fraction",
        )
    if len(samples) < 2:
        raise InvalidParameter(
            f"fine-tuning needs at least 2 segmented images (one to train on, one to check "
            f"the result on); the project has {len(samples)}",
            images=len(samples),
        )
    ranked = sorted(samples, key=lambda s: _rank(seed, s.image_id))
    held = min(len(ranked) - 1, max(1, round(holdout_fraction * len(ranked))))
    held_out = sorted(ranked[:held], key=lambda s: s.image_id)
    training = sorted(ranked[held:], key=lambda s: s.image_id)
    return tuple(training), tuple(held_out)


def data_fingerprint(samples: tuple[ProjectSample, ...]) -> str:
    """SHA-256 over the (image id, version) pairs: names the exact data a model saw."""
    text = "\n".join(f"{s.image_id}:{s.version}" for s in sorted(samples, key=lambda s: s.image_id))
    return hashlib.sha256(text.encode()).hexdigest()


def training_set(
    samples: tuple[ProjectSample, ...],
    *,
    project_id: str,
    in_channels: int,
    normalization: Normalization,
    split: str,
) -> TrainingSet:
    """The samples as net input, channels matched and normalised as inference does."""
    images = tuple(
        TrainingImage(s.name, net_input(s.pixels, in_channels, normalization), s.labels)
        for s in samples
    )
    objects = sum(s.objects for s in samples)
    data = f"project {project_id} segmentations ({len(samples)} images, {objects} objects)"
    return TrainingSet(images, data, split, data_fingerprint(samples))


def net_input(
    pixels: NDArray[Any], in_channels: int, normalization: Normalization
) -> NDArray[np.float32]:
    """Native ``(Y, X, C)`` pixels → float32 ``(Y, X, in_channels)`` in ``[0, 1]``.

    The same channel rule as :class:`cellhub_worker.learned.LearnedSegmenter`: extra
    channels are dropped, a single channel is repeated, anything else is refused.
    """
    have = pixels.shape[2]
    if have > in_channels:
        pixels = pixels[:, :, :in_channels]
    elif have != in_channels and have != 1:
        raise InvalidParameter(
            f"the start model wants {in_channels} channels; an image has {have}",
            channels=have,
            expected=in_channels,
        )
    normalized = normalize_percentile(pixels, normalization.low, normalization.high)
    # As the segmenter will see it: a fine-tuned net is run with its start's polarity rule.
    normalized = oriented(normalized, normalization.polarity)
    if normalized.shape[2] != in_channels:
        normalized = np.repeat(normalized, in_channels, axis=2)
    return normalized


def _rank(seed: int, image_id: str) -> str:
    return hashlib.sha256(f"{seed}:{image_id}".encode()).hexdigest()


def _use_rank(seed: int, image_id: str) -> str:
    return hashlib.sha256(f"use:{seed}:{image_id}".encode()).hexdigest()
