"""Streaming exports at scale: COCO + YOLO + Excel + GeoJSON for 1,000 and 10,000 images.

Each image has 30 objects (~60-vertex blobs, 3 of them with a hole) and metric rows of ~35
numeric columns. Each size runs in a fresh subprocess, so its peak RSS (``ru_maxrss`` of that
process) is its own; results are generated lazily and exported into a ZIP on disk, as the
export handler does. Bar: peak RSS grows by at most 200 MB from 1,000 to 10,000 images (the
exporters hold nothing per image). Seconds count the exporters only, not the synthesis.
Run from the repository root: ``.venv/bin/python bench/bench_export.py``; exit status 1 when
the bar is missed.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# One core, like the export Lambda; threaded BLAS would also blur the RSS figures.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "layers"), str(_ROOT)]

from bench.table import print_table  # noqa: E402
from cellhub.exporters import open_exporters  # noqa: E402
from cellhub.exporters.base import ExportContext, ZipSink  # noqa: E402
from cellhub.geometry.polygon import Polygon  # noqa: E402
from cellhub.metrics.columns import ID_COLUMNS, metric_columns  # noqa: E402
from cellhub.results import ImageInfo, ImageResult  # noqa: E402

FORMATS = ("coco", "yolo", "excel", "geojson")
SIZES = (1_000, 10_000)
BAR_GROWTH_MB = 200.0
OBJECTS, VERTICES, HOLED = 30, 60, 3
SIDE = 1024


def synthetic_results(count: int) -> Iterator[ImageResult]:
    """``count`` results made one at a time; nothing is kept once yielded."""
    columns = [c for c in metric_columns(None, channels=1) if c not in ID_COLUMNS]
    theta = np.linspace(0.0, 2.0 * np.pi, VERTICES, endpoint=False)
    grid = np.array([(x, y) for y in range(5) for x in range(6)], dtype=np.float64)
    for index in range(count):
        rng = np.random.default_rng(index)
        polygons, rows = [], []
        for k in range(OBJECTS):
            centre = (grid[k] + 0.5) * (SIDE / 6) + rng.uniform(-20, 20, 2)
            r0 = rng.uniform(25, 60)
            r = r0 * (1 + 0.1 * np.cos(3 * theta + rng.uniform(0, 6.3)))
            exterior = centre + np.column_stack([r * np.cos(theta), r * np.sin(theta)])
            holes: tuple[np.ndarray, ...] = ()
            if k < HOLED:
                t = theta[::4]
                holes = (
                    (centre + 0.3 * r0 * np.column_stack([np.cos(t), np.sin(t)]))[::-1].copy(),
                )
            polygons.append(Polygon(exterior=exterior, holes=holes, id=k + 1, score=0.9))
            values = rng.uniform(0, 100, len(columns))
            rows.append(
                {
                    "object_id": k + 1,
                    "class": "object",
                    **dict(zip(columns, values.tolist(), strict=True)),
                }
            )
        summary: dict[str, Any] = {
            "object_count": OBJECTS,
            "total_area_px2": 1e5,
            "area_fraction": 0.1,
        }
        summary.update({f"{c}_mean": float(np.mean([row[c] for row in rows])) for c in columns})
        info = ImageInfo(
            name=f"plate{index // 384}/img{index:05d}.tif",
            width=SIDE,
            height=SIDE,
            channels=1,
            dtype="uint16",
        )
        yield ImageResult(
            image=info, polygons=polygons, metrics=rows, summary=summary, model="bench"
        )


def run_child(count: int) -> dict[str, Any]:
    """Exports ``count`` images into a temporary ZIP; returns times and this process's peak RSS.

    Seconds are per format (its ``add`` calls plus its ``close``, ZIP compression included).
    """
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_format = dict.fromkeys(FORMATS, 0.0)
    with tempfile.TemporaryDirectory() as scratch, (Path(scratch) / "export.zip").open("wb") as out:
        sink = ZipSink(out)
        exporters = open_exporters(FORMATS, sink, ExportContext(model="bench"))
        for result in synthetic_results(count):
            for exporter in exporters:
                started = time.perf_counter()
                exporter.add(result)
                per_format[exporter.format_name] += time.perf_counter() - started
        for exporter in exporters:
            started = time.perf_counter()
            exporter.close()
            per_format[exporter.format_name] += time.perf_counter() - started
        sink.close()
        zip_mb = out.tell() / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "images": count,
        "seconds": sum(per_format.values()),
        "per_format": per_format,
        "peak_mb": peak_mb,
        "baseline_mb": baseline_mb,
        "zip_mb": zip_mb,
    }


def main() -> None:
    measured = []
    for count in SIZES:
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(count)],
            cwd=_ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        measured.append(json.loads(child.stdout.strip().splitlines()[-1]))
    growth = measured[-1]["peak_mb"] - measured[0]["peak_mb"]
    passed = growth <= BAR_GROWTH_MB
    rows: list[list[object]] = [
        [
            f"{m['images']:,}",
            m["seconds"],
            m["images"] / m["seconds"],
            m["peak_mb"],
            m["baseline_mb"],
            m["zip_mb"],
            "—" if i == 0 else f"{growth:+.1f} MB",
            "—" if i == 0 else f"≤ {BAR_GROWTH_MB:.0f} MB growth",
            "—" if i == 0 else ("PASS" if passed else "FAIL"),
        ]
        for i, m in enumerate(measured)
    ]
    print_table(
        f"streaming export ({' + '.join(FORMATS)}), {OBJECTS} objects/image, one core",
        [
            "images",
            "seconds",
            "images/s",
            "peak RSS MB",
            "RSS after imports MB",
            "zip MB",
            "RSS growth 1k→10k",
            "bar",
            "result",
        ],
        rows,
    )
    print_table(
        "seconds per format (add + close)",
        ["images", *FORMATS],
        [[f"{m['images']:,}", *(m["per_format"][f] for f in FORMATS)] for m in measured],
    )
    if not passed:
        raise SystemExit(1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(run_child(int(sys.argv[2]))))
    else:
        main()
