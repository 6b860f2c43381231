"""Times the geometry stage (label image to polygons and back) against its one-core budget.

Scene: a 2048 x 2048 int32 label image with 1,000 ellipses (semi-axes 8–30 px, random angle),
painted in order so later ones overlap and touch earlier ones, a fifth of them with a hole and
some with an island inside the hole. The bar is ``polygons_from_labels`` in <= 0.5 s on one
core; painting the same polygons back and rasterising one 5,000-vertex polygon are reported
alongside. Run from the repository root: ``.venv/bin/python bench/bench_geometry.py``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

_ROOT = Path(__file__).resolve().parent.parent
for _path in (_ROOT, _ROOT / "layers"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench.table import print_table  # noqa: E402
from cellhub.geometry import (  # noqa: E402
    Polygon,
    labels_from_polygons,
    polygons_from_labels,
    rasterize_polygon,
)

SIZE = 2048
OBJECTS = 1000
TRACE_BAR_S = 0.5


def scene(seed: int = 0) -> NDArray[np.int32]:
    """The benchmark label image: ``(SIZE, SIZE)`` int32, labels 1..OBJECTS, 0 = background."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((SIZE, SIZE), dtype=np.int32)
    for label in range(1, OBJECTS + 1):
        a, b = rng.uniform(8, 30, 2)
        angle = rng.uniform(0, np.pi)
        cx, cy = rng.uniform(32, SIZE - 32, 2)
        r = int(np.ceil(max(a, b))) + 1
        y0, x0 = int(cy) - r, int(cx) - r
        yy, xx = np.mgrid[y0 : y0 + 2 * r + 1, x0 : x0 + 2 * r + 1] + 0.5
        u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        radius = (u / a) ** 2 + (v / b) ** 2
        window = labels[y0 : y0 + 2 * r + 1, x0 : x0 + 2 * r + 1]
        window[radius <= 1] = label
        if label % 5 == 0:
            window[radius <= 0.2] = 0
            if label % 10 == 0:
                window[radius <= 0.03] = label
    return labels


def regular_polygon(vertices: int, radius: float, centre: float) -> Polygon:
    """A wavy closed ring with ``vertices`` vertices around ``(centre, centre)``."""
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = radius * (1 + 0.1 * np.sin(7 * t))
    ring = np.column_stack((centre + r * np.cos(t), centre + r * np.sin(t)))
    return Polygon(exterior=ring, id=1)


def best_of(repeats: int, run: Callable[[], object]) -> float:
    """Fastest wall time of ``repeats`` runs, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    # The bar is for one core: keep the process (and any library threads) on a single CPU.
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    labels = scene()
    polygons = polygons_from_labels(labels)
    vertices = sum(p.vertex_count for p in polygons)
    trace_s = best_of(5, lambda: polygons_from_labels(labels))
    paint_s = best_of(5, lambda: labels_from_polygons(polygons, labels.shape))
    big = regular_polygon(5000, 800.0, SIZE / 2)
    big_paint_s = best_of(5, lambda: labels_from_polygons([big], labels.shape))
    big_mask_s = best_of(5, lambda: rasterize_polygon(big))

    verdict = "PASS" if trace_s <= TRACE_BAR_S else "FAIL"
    rows = [
        (
            "polygons_from_labels 2048² scene",
            len(polygons),
            vertices,
            trace_s,
            f"<= {TRACE_BAR_S} s",
            verdict,
        ),
        ("labels_from_polygons same polygons", len(polygons), vertices, paint_s, "-", "-"),
        ("labels_from_polygons 5,000-vertex", 1, big.vertex_count, big_paint_s, "-", "-"),
        ("rasterize_polygon 5,000-vertex", 1, big.vertex_count, big_mask_s, "-", "-"),
    ]
    headers = ("case", "objects", "vertices out", "seconds", "bar", "result")
    print_table("Geometry stage, one core, best of 5", headers, rows)


if __name__ == "__main__":
    main()
