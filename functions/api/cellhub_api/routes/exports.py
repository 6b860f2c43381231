"""``/projects/{id}/exports``: request a ZIP export, follow it, cancel it, download it.

The API only records the export and queues a ``cellhub.export/1`` message; the export
handler builds the ZIP. Downloads go through a short-lived signed URL, never through the API.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, status

from cellhub.domain.jobs import Export, ExportState
from cellhub.errors import Conflict
from cellhub_api.deps import EditorAccess, Services, ViewerAccess
from cellhub_api.schemas.exports import ExportCancelled, ExportCreate, ExportDownload, ExportOut

# How long one download link works; the ZIP itself lives until the export's expiry.
DOWNLOAD_LINK_SECONDS = 15 * 60

router = APIRouter(prefix="/projects/{project_id}/exports", tags=["exports"])

ExportId = Annotated[str, Path(max_length=64)]


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_export(access: EditorAccess, body: ExportCreate, services: Services) -> ExportOut:
    """Record the export and queue it; follow it with ``GET .../exports/{export_id}``."""
    export = services.exports.create(
        access.project_id,
        formats=body.formats,
        image_ids=body.image_ids,
        pixel_size_um=body.pixel_size_um,
        created_by=access.user.id,
    )
    # The message module imports the export builder (every exporter): only when one is asked.
    from cellhub.services.export_messages import ExportRequested

    message = ExportRequested(export_id=export.id, project_id=export.project_id)
    services.export_queue.send(message.to_json(), deduplication_id=export.id)
    return ExportOut.of(export)


@router.get("/{export_id}")
def get_export(access: ViewerAccess, export_id: ExportId, services: Services) -> ExportOut:
    return ExportOut.of(services.exports.get(access.project_id, export_id))


@router.post("/{export_id}/cancel")
def cancel_export(access: EditorAccess, export_id: ExportId, services: Services) -> ExportCancelled:
    """Stop a queued or running export; a finished one is left as it is."""
    cancelled = services.exports.cancel(access.project_id, export_id)
    export = services.exports.get(access.project_id, export_id)
    return ExportCancelled(cancelled=cancelled, export=ExportOut.of(export))


@router.get("/{export_id}/download")
def download_export(
    access: ViewerAccess, export_id: ExportId, services: Services
) -> ExportDownload:
    """A signed URL of the ZIP; 409 ``conflict`` while the export is not done or has expired."""
    export = services.exports.get(access.project_id, export_id)
    now = services.exports.clock()
    _check_downloadable(export, now)
    url = services.exports.download_url(
        access.project_id, export_id, expires_in=DOWNLOAD_LINK_SECONDS
    )
    link_expiry = now + timedelta(seconds=DOWNLOAD_LINK_SECONDS)
    expires_at = min(link_expiry, export.expires_at) if export.expires_at else link_expiry
    return ExportDownload(url=url, expires_at=expires_at)


def _check_downloadable(export: Export, now: datetime) -> None:
    if export.state is not ExportState.DONE:
        raise Conflict("the export is not ready", state=export.state.value)
    if export.expires_at is None or export.expires_at <= now:
        raise Conflict("the export has expired; request it again", state="expired")
