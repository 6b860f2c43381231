"""Exports: request a ZIP of a project's segmentations, build it in a handler, hand it out.

``run`` is the export handler's body. It walks the selected images page by page, loads one
image's latest segmentation document at a time, feeds every requested exporter through one
``ZipSink`` on a temporary file, then stores the file with ``blobs.put`` (a stream: the S3
adapter uploads it in parts), so memory stays bounded for 10,000 images.

Retries. A run first moves the export queued → running. A redelivered message whose first
run died leaves the state ``running``; the handler then calls ``run(..., resume=True)``
(e.g. when SQS reports a receive count above 1, i.e. the first run outlived its visibility
timeout or failed), which accepts ``running`` again and starts over. A transient error
(anything but a permanent ``CellhubError``) leaves the export ``running`` and is re-raised,
so the message is delivered again; only on the last delivery (``last_attempt=True``, the
default for a caller that never retries) is it recorded ``failed``. Each run writes its own
blob key (``exports/<export>/<attempt>.zip``) and only the run whose running → done change
succeeds keeps its blob, so a late zombie run can never replace or delete the recorded ZIP.
Runs of a done, failed or cancelled export do nothing.

Metrics are shape metrics only (``measure`` without pixels) so every image of a run has the
same columns; originals are decoded only when the ``overlay`` format needs them.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from cellhub.domain.events import ExportDone, ExportFailed, ExportProgress
from cellhub.domain.images import Image
from cellhub.domain.jobs import Export, ExportState
from cellhub.domain.projects import new_id, utc_now
from cellhub.errors import CellhubError, ExportNotFound, ImageError, InvalidParameter
from cellhub.exporters import EXPORTERS, ExportContext, open_exporters
from cellhub.exporters.base import Exporter, ZipSink
from cellhub.imageio import read_image
from cellhub.metrics import measure, summarize
from cellhub.ports.blob_store import BlobStore
from cellhub.ports.images_repository import MAX_IMAGES_PER_BATCH, ImagesRepository
from cellhub.ports.jobs_repository import JobsRepository
from cellhub.ports.notifier import Notifier
from cellhub.results import ImageInfo, ImageResult
from cellhub.services.export_keys import export_blob_key
from cellhub.services.segmentation_documents import load_document, polygons_of

PAGE_SIZE = 100
# Progress is written and published at most once per this fraction of the images.
PROGRESS_STEP = 0.02
_FINAL_STATES = (ExportState.DONE, ExportState.FAILED, ExportState.CANCELLED)


class ExportService:
    """Creates, runs, cancels and hands out exports."""

    def __init__(
        self,
        images: ImagesRepository,
        jobs: JobsRepository,
        blobs: BlobStore,
        notifier: Notifier,
        *,
        expiry: timedelta = timedelta(days=7),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.images = images
        self.jobs = jobs
        self.blobs = blobs
        self.notifier = notifier
        self.expiry = expiry
        self.clock = clock

    def create(
        self,
        project_id: str,
        *,
        formats: Sequence[str],
        image_ids: Sequence[str] | None,
        pixel_size_um: float | None,
        created_by: str,
    ) -> Export:
        """Record a queued export; the caller enqueues its message. Formats are checked here."""
        wanted = tuple(dict.fromkeys(f.strip().lower() for f in formats))
        unknown = [f for f in wanted if f not in EXPORTERS]
        if not wanted or unknown:
            raise InvalidParameter(
                "unknown or no export format",
                parameter="formats",
                unknown=unknown,
                known=list(EXPORTERS),
            )
        if pixel_size_um is not None and not (math.isfinite(pixel_size_um) and pixel_size_um > 0):
            raise InvalidParameter("pixel_size_um must be positive", pixel_size_um=pixel_size_um)
        selection = None if image_ids is None else tuple(dict.fromkeys(image_ids))
        if selection is not None and not 0 < len(selection) <= MAX_IMAGES_PER_BATCH:
            raise InvalidParameter(
                f"select 1..{MAX_IMAGES_PER_BATCH} images", parameter="image_ids"
            )
        export = Export.new(
            project_id,
            wanted,
            created_by=created_by,
            image_ids=selection,
            pixel_size_um=pixel_size_um,
        )
        self.jobs.create_export(export)
        return export

    def get(self, project_id: str, export_id: str) -> Export:
        export = self.jobs.get_export(project_id, export_id)
        if export is None:
            raise ExportNotFound("no such export", project_id=project_id, export_id=export_id)
        return export

    def cancel(self, project_id: str, export_id: str) -> bool:
        """Cancel a queued or running export; False when it had already finished."""
        self.get(project_id, export_id)
        active = (ExportState.QUEUED, ExportState.RUNNING)
        return self.jobs.set_export_state(export_id, active, ExportState.CANCELLED)

    def download_url(self, project_id: str, export_id: str, *, expires_in: int) -> str:
        """A presigned URL of the ZIP, never outliving the export's own expiry."""
        export = self.get(project_id, export_id)
        now = self.clock()
        if export.state is not ExportState.DONE or export.blob_key is None:
            raise InvalidParameter("the export is not done", state=export.state.value)
        if export.expires_at is None or export.expires_at <= now:
            raise InvalidParameter("the export has expired", export_id=export_id)
        remaining = int((export.expires_at - now).total_seconds())
        return self.blobs.presign_download(
            export.blob_key,
            expires_in=max(1, min(expires_in, remaining)),
            filename=f"export-{export_id}.zip",
        )

    def run(
        self,
        export_id: str,
        project_id: str,
        *,
        resume: bool = False,
        last_attempt: bool = True,
    ) -> Export:
        """Build the export's ZIP; returns the export as it stands afterwards.

        A permanent ``CellhubError`` fails the export with its reason. Any other error fails
        it only on the ``last_attempt`` (re-raising an unexpected one); before that the error
        is re-raised with the export left ``running``, for a redelivery to resume.
        """
        export = self.get(project_id, export_id)
        if export.state in _FINAL_STATES:
            return export
        starts = (ExportState.QUEUED, ExportState.RUNNING) if resume else (ExportState.QUEUED,)
        if not self.jobs.set_export_state(export_id, starts, ExportState.RUNNING):
            return self.get(project_id, export_id)
        try:
            self._build(export)
        except CellhubError as error:
            if not (error.permanent or last_attempt):
                raise
            self._fail(export, error.reason)
        except Exception:
            if last_attempt:
                self._fail(export, "internal error while building the export")
            raise
        return self.get(project_id, export_id)

    def _build(self, export: Export) -> None:
        key = export_blob_key(export.project_id, export.id, new_id())
        context = ExportContext(pixel_size_um=export.pixel_size_um)
        with tempfile.TemporaryFile(prefix="cellhub-export-") as spool:
            sink = ZipSink(spool)
            try:
                exporters = open_exporters(export.formats, sink, context)
                completed = self._write_images(export, exporters)
                if completed:
                    warnings = [w for exporter in exporters for w in exporter.close()]
                    if warnings:
                        sink.write_bytes("warnings.txt", "\n".join(warnings).encode() + b"\n")
            finally:
                # Closed even when abandoned: an open ZipFile would later write into the
                # spool file after it is gone.
                sink.close()
            if not completed:
                return  # cancelled: the spool file vanishes with the context
            spool.seek(0)
            self.blobs.put(key, spool, content_type="application/zip")
        done = self.jobs.set_export_state(
            export.id,
            (ExportState.RUNNING,),
            ExportState.DONE,
            blob_key=key,
            expires_at=self.clock() + self.expiry,
        )
        if not done:
            self.blobs.delete(key)  # cancelled (or finished by another run) meanwhile
            return
        self.notifier.publish(ExportDone(project_id=export.project_id, export_id=export.id))

    def _write_images(self, export: Export, exporters: list[Exporter]) -> bool:
        """Feed every selected image to the exporters; False when the export was cancelled."""
        total = self._count(export)
        reported = 0.0
        with_pixels = "overlay" in export.formats
        for done, image in enumerate(self._selected(export), start=1):
            result = self._result(image, export.pixel_size_um, with_pixels)
            if result is not None:
                for exporter in exporters:
                    exporter.add(result)
            progress = done / total if total else 1.0
            if progress - reported >= PROGRESS_STEP or done == total:
                if not self.jobs.set_export_progress(export.id, progress):
                    return False
                reported = progress
                self.notifier.publish(
                    ExportProgress(
                        project_id=export.project_id, export_id=export.id, progress=progress
                    )
                )
        # A run with no images still learns of a cancellation before it stores anything.
        return total > 0 or self.jobs.set_export_progress(export.id, 1.0)

    def _count(self, export: Export) -> int:
        if export.image_ids is not None:
            return len(export.image_ids)
        return sum(1 for _ in self._selected(export))

    def _selected(self, export: Export) -> Iterator[Image | None]:
        """The selected images one at a time (None for a chosen id that is gone)."""
        if export.image_ids is not None:
            for image_id in export.image_ids:
                yield self.images.get(export.project_id, image_id)
            return
        cursor: str | None = None
        while True:
            page = self.images.list(export.project_id, cursor=cursor, limit=PAGE_SIZE, order="name")
            yield from (image for image in page.items if image.latest_version > 0)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _result(
        self, image: Image | None, pixel_size_um: float | None, with_pixels: bool
    ) -> ImageResult | None:
        if image is None or image.latest_version == 0:
            return None
        record = self.images.get_version(image.id, image.latest_version)
        if record is None:
            return None
        document = load_document(self.blobs, record.blob_key)
        polygons = polygons_of(document)
        width = image.width or int(document["image"]["width"])
        height = image.height or int(document["image"]["height"])
        info = ImageInfo(
            image.name, width, height, image.channels or 1, image.dtype or "", pixel_size_um
        )
        pixels = None
        if with_pixels:
            try:
                pixels = read_image(self.blobs.get(image.blob_key), name=image.name).pixels
            except ImageError as error:
                # One unreadable original must not sink the whole export; its overlay is
                # drawn on a blank canvas and the warning says why.
                info.warnings.append(f"{image.name}: overlay drawn without the original: {error}")
        metrics = measure(polygons, pixel_size=pixel_size_um)
        return ImageResult(
            image=info,
            polygons=polygons,
            metrics=metrics,
            summary=summarize(
                metrics, image_width=width, image_height=height, pixel_size=pixel_size_um
            ),
            model=str(document["model"].get("name", record.model)),
            model_version=str(document["model"].get("version", "")),
            threshold=document.get("threshold"),
            pixels=pixels,
        )

    def _fail(self, export: Export, reason: str) -> None:
        if self.jobs.set_export_state(
            export.id, (ExportState.RUNNING,), ExportState.FAILED, error=reason
        ):
            self.notifier.publish(
                ExportFailed(project_id=export.project_id, export_id=export.id, reason=reason)
            )
