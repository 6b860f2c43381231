"""``cellhub segment``: images in, every chosen export plus a summary out, no server needed."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from cellhub.domain.projects import SAMPLE_CLASS_NAMES
from cellhub.errors import InvalidParameter, UnknownModel
from cellhub.exporters import EXPORTERS
from cellhub.exporters.base import DirectorySink, ExportContext, ExportSink, ZipSink
from cellhub.services.batch_segmentation import BatchReport, run_batch
from cellhub.services.image_discovery import (
    discover_images,
    run_pixel_size,
    with_metadata_pixel_sizes,
)
from cellhub.services.image_segmentation import SegmentOptions
from cellhub.settings import get_settings

DEFAULT_FORMATS = "coco,yolo,excel,csv,geojson,masks,imagej,overlay,json"


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser(
        "segment",
        help="segment images or folders and write exports",
        description="Segment every image under PATHS and write the chosen exports to --output.",
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="image files or folders (recursive)"
    )
    parser.add_argument(
        "-o", "--output", required=True, type=Path, help="output folder (or .zip file)"
    )
    parser.add_argument(
        "--model", default=None, help="model name (see `cellhub models`; default: by --sample)"
    )
    parser.add_argument(
        "--sample",
        default="nuclei",
        choices=sorted(SAMPLE_CLASS_NAMES),
        help="what the images show; without --model, picks its best model (default nuclei)",
    )
    parser.add_argument(
        "--threshold", type=float, default=None, help="foreground threshold in (0, 1)"
    )
    parser.add_argument(
        "--pixel-size", type=float, default=None, help="µm per pixel (default: from metadata)"
    )
    parser.add_argument(
        "--channels", default=None, help="channels the model sees, e.g. 0 or 0,2 (default all)"
    )
    parser.add_argument(
        "--formats", default=DEFAULT_FORMATS, help=f"comma-separated; known: {','.join(EXPORTERS)}"
    )
    parser.add_argument(
        "--min-area", type=float, default=0.0, help="drop objects smaller than this (px)"
    )
    parser.add_argument("--class-name", default="object", help="class written for every object")
    parser.add_argument(
        "--workers", type=int, default=None, help="parallel processes (default: by model)"
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--no-numbers", action="store_true", help="omit object numbers in overlays")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cellhub_worker.registry import default_model_for, load_segmenter

    formats = _formats(args.formats)
    options = SegmentOptions(
        threshold=args.threshold,
        pixel_size_um=args.pixel_size,
        channels=_channels(args.channels),
        min_area_px=args.min_area,
        class_name=args.class_name,
        keep_pixels="overlay" in formats,
    )
    card = _model_card(args.model or get_settings().default_model or default_model_for(args.sample))
    sources = discover_images(args.paths)
    if not sources:
        raise InvalidParameter(f"no images found under {' '.join(args.paths)}", parameter="paths")
    if args.pixel_size is None:
        sources = with_metadata_pixel_sizes(sources)
    pixel_size, unit_warnings = run_pixel_size(sources, args.pixel_size)
    context = ExportContext(
        pixel_size_um=pixel_size,
        model=card.name,
        model_version=card.version,
        threshold=args.threshold,
        class_names=(args.class_name,),
        number_objects=not args.no_numbers,
    )
    workers = args.workers or _default_workers(card.kind)
    factory = functools.partial(load_segmenter, card.name, device=args.device)
    with (
        _open_sink(args.output) as sink,
        tqdm(total=len(sources), unit="img", file=sys.stderr) as bar,
    ):
        report = run_batch(
            sources,
            factory,
            options,
            formats=formats,
            sink=sink,
            context=context,
            workers=workers,
            on_image_done=lambda _name, _ok: bar.update(1),
        )
        report.warnings[:0] = unit_warnings
        sink.write_bytes("summary.json", json.dumps(report.as_dict(), indent=2).encode())
    _print_report(report, args.output)
    return 0 if not report.failures else 1


def _model_card(name: str) -> Any:
    from cellhub_worker.registry import list_models

    cards = {card.name: card for card in list_models()}
    if name not in cards:
        raise UnknownModel(f"no model named {name!r}; known: {', '.join(cards)}", model=name)
    return cards[name]


def _formats(raw: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in raw.split(",") if f.strip()))
    unknown = [f for f in formats if f not in EXPORTERS]
    if unknown or not formats:
        given = ", ".join(unknown) or "(none given)"
        raise InvalidParameter(
            f"unknown export format(s) {given}; known: {', '.join(EXPORTERS)}",
            parameter="formats",
        )
    return formats


def _channels(raw: str | None) -> tuple[int, ...] | None:
    if raw is None:
        return None
    try:
        return tuple(int(c) for c in raw.split(",") if c.strip())
    except ValueError as exc:
        raise InvalidParameter(
            f"--channels takes indices like 0 or 0,2, got {raw!r}", parameter="channels"
        ) from exc


def _default_workers(kind: str) -> int:
    # Learned nets already use every core inside torch; the classical model is single-threaded.
    return 1 if kind != "classical" else max(1, min(4, os.cpu_count() or 1))


@contextmanager
def _open_sink(output: Path) -> Iterator[ExportSink]:
    """A folder sink, or a single ZIP when ``output`` ends in ``.zip``."""
    if output.suffix.lower() != ".zip":
        yield DirectorySink(output)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as stream:
        sink = ZipSink(stream)
        try:
            yield sink
        finally:
            sink.close()  # even after a failure: a ZIP of what was written stays readable


def _print_report(report: BatchReport, output: Path) -> None:
    unit = f"{report.pixel_size_um} µm/px" if report.pixel_size_um else "pixels"
    print(
        f"{report.images_processed}/{report.images_total} images segmented, "
        f"{report.objects} objects, {report.images_failed} failed, "
        f"{report.seconds:.1f} s; measurements in {unit}; written to {output}"
    )
    for failure in report.failures:
        print(f"  failed: {failure.name}: {failure.reason} [{failure.code}]")
    for warning in report.warnings:
        print(f"  warning: {warning}")
