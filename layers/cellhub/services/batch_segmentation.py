"""A folder (or list of files) in, exports out: the batch use case behind ``cellhub segment``.

Images stream one at a time from discovery through segmentation into the exporters, so a run
over 10,000 images holds only a bounded window of results. A bad image fails alone with its
typed reason; every other image is still segmented and exported.
"""

from __future__ import annotations

import functools
import logging
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cellhub.errors import CellhubError, ProcessingError
from cellhub.exporters import open_exporters
from cellhub.exporters.base import ExportContext, ExportSink
from cellhub.results import ImageResult
from cellhub.segmenter import Segmenter
from cellhub.services.image_discovery import RunImage
from cellhub.services.image_segmentation import SegmentOptions, segment_image
from cellhub.services.process_pool import map_in_processes

log = logging.getLogger(__name__)

SegmenterFactory = Callable[[], Segmenter]


@dataclass(slots=True)
class Failure:
    name: str
    code: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"image": self.name, "code": self.code, "reason": self.reason}


@dataclass(slots=True)
class BatchReport:
    """What a run did; written as ``summary.json`` and printed by the CLI."""

    model: str = ""
    formats: tuple[str, ...] = ()
    pixel_size_um: float | None = None
    images_total: int = 0
    images_processed: int = 0
    objects: int = 0
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_failed(self) -> int:
        return len({f.name for f in self.failures})

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "formats": list(self.formats),
            "pixel_size_um": self.pixel_size_um,
            "units": "um" if self.pixel_size_um else "px",
            "images_total": self.images_total,
            "images_processed": self.images_processed,
            "images_failed": self.images_failed,
            "objects": self.objects,
            "seconds": round(self.seconds, 3),
            "failures": [f.as_dict() for f in self.failures],
            "warnings": self.warnings,
        }


def run_batch(
    sources: Sequence[RunImage],
    segmenter_factory: SegmenterFactory,
    options: SegmentOptions,
    *,
    formats: Sequence[str],
    sink: ExportSink,
    context: ExportContext,
    workers: int = 1,
    on_image_done: Callable[[str, bool], None] | None = None,
) -> BatchReport:
    """Segment ``sources`` and stream every result into the exporters of ``formats``.

    ``segmenter_factory`` must be picklable when ``workers > 1`` (each worker process builds
    its segmenter once). ``context.pixel_size_um`` is the run's unit decision.
    """
    started = time.perf_counter()
    exporters = open_exporters(formats, sink, context)
    report = BatchReport(
        model=f"{context.model} {context.model_version}".strip(),
        formats=tuple(formats),
        pixel_size_um=context.pixel_size_um,
        images_total=len(sources),
    )
    for source, outcome in _segment_all(sources, segmenter_factory, options, context, workers):
        if isinstance(outcome, Failure):
            report.failures.append(outcome)
        else:
            # What actually ran, which the context only announced.
            report.model = f"{outcome.model} {outcome.model_version}".strip()
            _export(outcome, exporters, report)
        if on_image_done is not None:
            on_image_done(source.name, not isinstance(outcome, Failure))
    for exporter in exporters:
        report.warnings.extend(exporter.close())
    report.seconds = time.perf_counter() - started
    return report


def _export(result: ImageResult, exporters: Sequence[Any], report: BatchReport) -> None:
    report.images_processed += 1
    report.objects += len(result.polygons)
    report.warnings.extend(f"{result.image.name}: {w}" for w in result.image.warnings)
    for exporter in exporters:
        try:
            exporter.add(result)
        except CellhubError as exc:
            report.failures.append(
                Failure(result.image.name, exc.code, f"{exporter.format_name}: {exc.reason}")
            )
    result.pixels = None


Outcome = ImageResult | Failure


def _segment_all(
    sources: Sequence[RunImage],
    factory: SegmenterFactory,
    options: SegmentOptions,
    context: ExportContext,
    workers: int,
) -> Iterator[tuple[RunImage, Outcome]]:
    if workers <= 1 or len(sources) <= 1:
        segmenter = factory()
        for source in sources:
            yield source, _segment_safely(segmenter, source, options, context.pixel_size_um)
        return
    pixel_size = context.pixel_size_um
    yield from map_in_processes(
        functools.partial(_segment_in_worker, options=options, pixel_size=pixel_size),
        sources,
        workers=workers,
        on_crash=_crashed,
        initializer=_init_worker,
        initargs=(factory,),
    )


def _crashed(source: RunImage) -> Outcome:
    return Failure(
        source.name,
        ProcessingError.code,
        "the worker process died on this image (a crash in a decoder or native library, "
        "or the machine ran out of memory)",
    )


def _segment_safely(
    segmenter: Segmenter, source: RunImage, options: SegmentOptions, pixel_size: float | None
) -> Outcome:
    if source.missing_reason is not None:
        return Failure(source.name, "not_found", source.missing_reason)
    try:
        return segment_image(
            source.path,
            source.name,
            segmenter,
            options,
            pixel_size_um=pixel_size or source.pixel_size_um,
        )
    except CellhubError as exc:
        return Failure(source.name, exc.code, exc.reason)
    except MemoryError:
        return Failure(source.name, "too_large", "ran out of memory while processing this image")
    except Exception as exc:  # a bug must fail one image, not the run; keep the trace in the log
        log.error("unexpected error on %s:\n%s", source.name, traceback.format_exc())
        return Failure(source.name, ProcessingError.code, f"{type(exc).__name__}: {exc}")


_worker_segmenter: Segmenter | None = None


def _init_worker(factory: SegmenterFactory) -> None:
    global _worker_segmenter
    _worker_segmenter = factory()


def _segment_in_worker(
    source: RunImage, *, options: SegmentOptions, pixel_size: float | None
) -> Outcome:
    assert _worker_segmenter is not None, "worker initialiser did not run"
    return _segment_safely(_worker_segmenter, source, options, pixel_size)
