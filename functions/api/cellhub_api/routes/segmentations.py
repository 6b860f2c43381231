"""``/projects/{id}/images/{image_id}/segmentation``: read versions, save edits, revert.

Saves are optimistic: the caller names the version it edited (``base_version`` in the body
or ``If-Match: "<version>"``); a stale one is 409 ``version_conflict`` with
``details.current_version``, never a silent overwrite. Reads send ``ETag: "<version>"`` so
the client can hand it straight back as ``If-Match``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from cellhub.domain.images import SegmentationVersion
from cellhub.errors import InvalidParameter
from cellhub_api.deps import EditorAccess, Services, ViewerAccess
from cellhub_api.schemas.segmentations import (
    SegmentationOut,
    SegmentationRevert,
    SegmentationSaved,
    SegmentationUpdate,
    SegmentationVersionOut,
    SegmentationVersionsOut,
    metric_rows,
)

router = APIRouter(
    prefix="/projects/{project_id}/images/{image_id}/segmentation", tags=["segmentations"]
)

ImageId = Annotated[str, Path(max_length=64)]
VersionNumber = Annotated[int, Path(ge=1)]
PixelSize = Annotated[float | None, Query(gt=0, description="µm per pixel for the metrics")]
IfMatch = Annotated[str | None, Header(description='the edited version, as "<version>"')]


@router.get("")
def get_latest(
    access: ViewerAccess,
    image_id: ImageId,
    services: Services,
    response: Response,
    pixel_size_um: PixelSize = None,
) -> SegmentationOut:
    """The latest version with its polygons and shape metrics."""
    record, document = services.editing.latest(access.project_id, image_id)
    response.headers["ETag"] = etag(record.version)
    return _segmentation(image_id, record, document, pixel_size_um)


@router.get("/versions")
def list_versions(
    access: ViewerAccess, image_id: ImageId, services: Services
) -> SegmentationVersionsOut:
    records = services.editing.versions(access.project_id, image_id)
    return SegmentationVersionsOut(
        image_id=image_id, versions=[SegmentationVersionOut.of(r) for r in records]
    )


@router.get("/versions/{version}")
def get_version(
    access: ViewerAccess,
    image_id: ImageId,
    version: VersionNumber,
    services: Services,
    response: Response,
    pixel_size_um: PixelSize = None,
) -> SegmentationOut:
    record, document = services.editing.get(access.project_id, image_id, version)
    response.headers["ETag"] = etag(record.version)
    return _segmentation(image_id, record, document, pixel_size_um)


@router.put("")
def save(
    access: EditorAccess,
    image_id: ImageId,
    body: SegmentationUpdate,
    services: Services,
    response: Response,
    if_match: IfMatch = None,
) -> SegmentationSaved:
    """Store the edited polygons as the next version; metrics are recomputed."""
    record, metrics = services.editing.save(
        access.project_id,
        image_id,
        base_version=base_version_of(body.base_version, if_match),
        polygons=[polygon.to_entry() for polygon in body.polygons],
        user_id=access.user.id,
        pixel_size_um=body.pixel_size_um,
    )
    response.headers["ETag"] = etag(record.version)
    return SegmentationSaved(
        image_id=image_id, version=SegmentationVersionOut.of(record), metrics=metric_rows(metrics)
    )


@router.post("/revert")
def revert(
    access: EditorAccess,
    image_id: ImageId,
    body: SegmentationRevert,
    services: Services,
    response: Response,
    if_match: IfMatch = None,
) -> SegmentationSaved:
    """Store the polygons of ``to_version`` again as the next version."""
    record, metrics = services.editing.revert(
        access.project_id,
        image_id,
        to_version=body.to_version,
        base_version=base_version_of(body.base_version, if_match),
        user_id=access.user.id,
    )
    response.headers["ETag"] = etag(record.version)
    return SegmentationSaved(
        image_id=image_id, version=SegmentationVersionOut.of(record), metrics=metric_rows(metrics)
    )


def etag(version: int) -> str:
    return f'"{version}"'


def base_version_of(in_body: int | None, if_match: str | None) -> int:
    """The edited version from the body or ``If-Match`` (``"3"``, ``W/"3"`` or ``3``).

    One of them is required; when both are given they must agree.
    """
    if if_match is None:
        if in_body is None:
            raise InvalidParameter(
                'name the edited version: base_version in the body or If-Match: "<version>"',
                parameter="base_version",
            )
        return in_body
    from_header = _version_in(if_match)
    if in_body is not None and in_body != from_header:
        raise InvalidParameter(
            "base_version and If-Match disagree", base_version=in_body, if_match=from_header
        )
    return from_header


def _version_in(if_match: str) -> int:
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 9:
        raise InvalidParameter('If-Match must be "<version>"', parameter="If-Match")
    return int(tag)


def _segmentation(
    image_id: str,
    record: SegmentationVersion,
    document: dict[str, Any],
    pixel_size_um: float | None,
) -> SegmentationOut:
    # numpy, scipy and the exporters load with the first segmentation served, not at cold start.
    from cellhub.metrics import measure
    from cellhub.services.segmentation_documents import polygons_of

    metrics = measure(polygons_of(document), pixel_size=pixel_size_um)
    return SegmentationOut(
        image_id=image_id,
        version=SegmentationVersionOut.of(record),
        document=document,
        metrics=metric_rows(metrics),
    )
