"""Manual editing of segmentations: read versions, save edited polygons, revert.

Every save names the version the editor started from (``base_version``); the repository
appends ``base_version + 1`` only if that is still the latest, so a stale editor gets
``SegmentationVersionConflict`` (carrying the current version) instead of overwriting.

Document keys. Two editors saving from the same base both want version ``base + 1``; if
both wrote ``document_key(..., base + 1)`` the loser's bytes could replace the winner's after
the winner's record was stored. Each attempt therefore writes its own key
(``v000004-<attempt>.json.gz``, still sorting by version) and the version record points at
it; the loser deletes its orphan (best effort: a leftover orphan is unreferenced, never read).

Sources. A polygon whose geometry and class equal a polygon of the base version with the same
id keeps that polygon's ``source``; every other polygon is marked ``manual``.

Metrics. ``save`` recomputes shape metrics with ``measure`` from the polygons alone; intensity
metrics are added only when the caller passes the original's ``pixels``, because decoding
the original on every save would make saves as slow as the largest image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cellhub.domain.events import ImageSegmented
from cellhub.domain.images import (
    MAX_CLASS_NAME,
    MAX_POLYGONS,
    MAX_VERTICES,
    Image,
    ImageStatus,
    SegmentationVersion,
)
from cellhub.domain.projects import new_id
from cellhub.errors import ImageNotFound, InvalidParameter, NotFound, SegmentationVersionConflict
from cellhub.geometry.polygon import Polygon, signed_area
from cellhub.metrics import measure
from cellhub.ports.blob_store import BlobStore
from cellhub.ports.images_repository import ImagesRepository
from cellhub.ports.notifier import Notifier
from cellhub.results import ImageInfo, ImageResult
from cellhub.services.segmentation_documents import (
    document_key,
    load_document,
    polygons_of,
    save_document,
)

# Vertices may lie a little outside the image (an editor drags a handle past the border),
# but not absurdly far: half the image's size on each side.
OUTSIDE_FRACTION = 0.5

Document = dict[str, Any]
MetricRows = list[dict[str, Any]]


def attempt_key(project_id: str, image_id: str, version: int, attempt: str) -> str:
    """The document key of one save attempt of ``version``; unique per attempt."""
    base = document_key(project_id, image_id, version).removesuffix(".json.gz")
    return f"{base}-{attempt}.json.gz"


class EditingService:
    """Reads and writes the segmentation versions of a project's images."""

    def __init__(
        self, images: ImagesRepository, blobs: BlobStore, notifier: Notifier | None = None
    ) -> None:
        self.images = images
        self.blobs = blobs
        self.notifier = notifier

    def latest(self, project_id: str, image_id: str) -> tuple[SegmentationVersion, Document]:
        """The newest version and its document; ``NotFound`` while the image has none."""
        return self.get(project_id, image_id, None)

    def get(
        self, project_id: str, image_id: str, version: int | None
    ) -> tuple[SegmentationVersion, Document]:
        """That version (the latest when None) and its document."""
        self._image(project_id, image_id)
        record = self.images.get_version(image_id, version)
        if record is None:
            raise NotFound("no such segmentation version", image_id=image_id, version=version)
        return record, load_document(self.blobs, record.blob_key)

    def versions(self, project_id: str, image_id: str) -> list[SegmentationVersion]:
        """Every version of the image, oldest first."""
        self._image(project_id, image_id)
        return self.images.list_versions(image_id)

    def save(
        self,
        project_id: str,
        image_id: str,
        *,
        base_version: int,
        polygons: Sequence[dict[str, Any]],
        user_id: str,
        pixel_size_um: float | None = None,
        pixels: NDArray[Any] | None = None,
    ) -> tuple[SegmentationVersion, MetricRows]:
        """Store ``polygons`` (``cellhub.segmentation/1`` entries) as version ``base + 1``.

        Returns the stored record and one metric row per polygon. Raises
        ``InvalidParameter`` for malformed polygons, ``SegmentationVersionConflict`` when
        ``base_version`` is no longer the latest, ``ImageNotFound`` for a foreign image.
        """
        image = self._image(project_id, image_id)
        if image.width is None or image.height is None:
            raise InvalidParameter("the image has not been decoded yet", image_id=image_id)
        if pixel_size_um is not None and not (math.isfinite(pixel_size_um) and pixel_size_um > 0):
            raise InvalidParameter("pixel_size_um must be positive", pixel_size_um=pixel_size_um)
        if base_version < 0:
            raise InvalidParameter("base_version must be 0 or more", base_version=base_version)
        edited = parse_polygons(polygons, width=image.width, height=image.height)
        base = self.images.get_version(image_id, base_version) if base_version > 0 else None
        if base is None and base_version != 0:
            raise SegmentationVersionConflict(
                "the base version does not exist",
                current_version=image.latest_version,
                image_id=image_id,
            )
        base_document = load_document(self.blobs, base.blob_key) if base else None
        edited = _mark_sources(edited, polygons_of(base_document) if base_document else [])
        result = ImageResult(
            ImageInfo(
                image.name, image.width, image.height, image.channels or 1, image.dtype or ""
            ),
            edited,
            measure(edited, image=pixels, pixel_size=pixel_size_um),
            {},
            model=base.model if base else "manual",
            model_version=str(base_document["model"].get("version", "")) if base_document else "",
            threshold=base.threshold if base else None,
        )
        key = attempt_key(project_id, image_id, base_version + 1, new_id())
        save_document(self.blobs, key, result.to_document())
        record = SegmentationVersion(
            image_id=image_id,
            version=0,
            blob_key=key,
            object_count=len(edited),
            model=result.model,
            threshold=result.threshold,
            source="manual",
            job_id=None,
            created_by=user_id,
        )
        try:
            stored = self.images.add_version(image_id, base_version, record)
        except (SegmentationVersionConflict, ImageNotFound):
            self.blobs.delete(key)  # the losing attempt's document is referenced by nothing
            raise
        # A first hand-drawn version makes a ready (or failed) image segmented; an image that
        # is queued or processing keeps its status and the worker's version follows this one.
        self.images.update_status(
            image_id, (ImageStatus.READY, ImageStatus.FAILED), ImageStatus.SEGMENTED
        )
        if self.notifier is not None:
            self.notifier.publish(
                ImageSegmented(
                    project_id=project_id,
                    image_id=image_id,
                    version=stored.version,
                    object_count=stored.object_count,
                    seconds=0.0,
                )
            )
        return stored, result.metrics

    def revert(
        self, project_id: str, image_id: str, *, to_version: int, base_version: int, user_id: str
    ) -> tuple[SegmentationVersion, MetricRows]:
        """Save the polygons of ``to_version`` as a new version on top of ``base_version``."""
        _, document = self.get(project_id, image_id, to_version)
        return self.save(
            project_id,
            image_id,
            base_version=base_version,
            polygons=document["polygons"],
            user_id=user_id,
        )

    def _image(self, project_id: str, image_id: str) -> Image:
        image = self.images.get(project_id, image_id)
        if image is None:
            raise ImageNotFound("no such image", project_id=project_id, image_id=image_id)
        return image


def parse_polygons(entries: Sequence[Any], *, width: int, height: int) -> list[Polygon]:
    """Validate editor input into Polygons with unique ids; ``InvalidParameter`` otherwise.

    Each ring needs at least 3 finite ``[x, y]`` vertices within ``OUTSIDE_FRACTION`` of the
    image's size outside its borders, and the exterior a non-zero area. Entries without an
    id, or repeating one, get fresh ids after the largest given.
    """
    if len(entries) > MAX_POLYGONS:
        raise InvalidParameter(f"at most {MAX_POLYGONS} polygons", count=len(entries))
    x_range = (-OUTSIDE_FRACTION * width, (1 + OUTSIDE_FRACTION) * width)
    y_range = (-OUTSIDE_FRACTION * height, (1 + OUTSIDE_FRACTION) * height)
    parsed: list[Polygon] = []
    vertices = 0
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidParameter("a polygon must be an object", index=index)
        holes_in = entry.get("holes") or []
        if not isinstance(holes_in, list):
            raise InvalidParameter("holes must be a list of rings", index=index)
        rings = [_ring(entry.get("exterior"), index, x_range, y_range)]
        rings += [_ring(hole, index, x_range, y_range) for hole in holes_in]
        vertices += sum(len(r) for r in rings)
        if vertices > MAX_VERTICES:
            raise InvalidParameter(f"at most {MAX_VERTICES} vertices in all", index=index)
        if signed_area(rings[0]) == 0.0:
            raise InvalidParameter("a polygon's exterior has zero area", index=index)
        class_name = entry.get("class", "object")
        if not isinstance(class_name, str) or not 0 < len(class_name) <= MAX_CLASS_NAME:
            raise InvalidParameter("class must be a short non-empty string", index=index)
        score = entry.get("score")
        if score is not None and not (isinstance(score, int | float) and math.isfinite(score)):
            raise InvalidParameter("score must be a finite number or null", index=index)
        given_id = entry.get("id")
        # 0 stands for "no usable id"; _unique_ids gives those fresh ones.
        polygon_id = given_id if type(given_id) is int and given_id > 0 else 0
        document = {"exterior": rings[0], "holes": rings[1:], "class": class_name, "score": score}
        parsed.append(replace(Polygon.from_document(document), id=polygon_id))
    return _unique_ids(parsed)


def _ring(
    value: Any, index: int, x_range: tuple[float, float], y_range: tuple[float, float]
) -> NDArray[np.float64]:
    try:
        ring = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter("a ring must be a list of [x, y] numbers", index=index) from exc
    if ring.ndim != 2 or ring.shape[1] != 2 or len(ring) < 3:
        raise InvalidParameter("a ring needs at least 3 [x, y] vertices", index=index)
    if not np.isfinite(ring).all():
        raise InvalidParameter("a ring holds a non-finite coordinate", index=index)
    xs, ys = ring[:, 0], ring[:, 1]
    inside_x = x_range[0] <= xs.min() and xs.max() <= x_range[1]
    if not (inside_x and y_range[0] <= ys.min() and ys.max() <= y_range[1]):
        raise InvalidParameter("a vertex lies far outside the image", index=index)
    return ring


def _unique_ids(polygons: list[Polygon]) -> list[Polygon]:
    next_id = max((p.id for p in polygons), default=0) + 1
    seen: set[int] = set()
    result = []
    for polygon in polygons:
        if polygon.id == 0 or polygon.id in seen:
            polygon = replace(polygon, id=next_id)
            next_id += 1
        seen.add(polygon.id)
        result.append(polygon)
    return result


def _shape(polygon: Polygon) -> tuple[Any, ...]:
    entry = polygon.to_document()
    return entry["exterior"], entry["holes"], entry["class"]


def _mark_sources(edited: list[Polygon], base: list[Polygon]) -> list[Polygon]:
    before = {p.id: p for p in base}
    marked = []
    for polygon in edited:
        original = before.get(polygon.id)
        if original is not None and _shape(original) == _shape(polygon):
            marked.append(replace(polygon, source=original.source))
        else:
            marked.append(replace(polygon, source="manual"))
    return marked
