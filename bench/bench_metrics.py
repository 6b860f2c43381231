"""Throughput of the morphometrics stage (``cellhub.metrics.measure``) on one CPU core.

Bar: at least 10,000 polygons/s without an image, for ~100-vertex blobby polygons (a fifth of
them with a hole). The with-image figure (512 x 512 uint16, 2 channels, ~50 px objects) is
reported for reference. Each figure is the fastest of several runs. Run from the repository
root: ``.venv/bin/python bench/bench_metrics.py``; the exit status is 1 when a bar is missed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

# One core: the bar is per core, and threaded BLAS would flatter it. Must precede numpy.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "layers"), str(_ROOT)]

import numpy as np  # noqa: E402

from bench.table import print_table  # noqa: E402
from cellhub.geometry.polygon import Polygon  # noqa: E402
from cellhub.metrics import measure  # noqa: E402

BAR_POLYGONS_PER_S = 10_000.0
VERTICES = 100


def blob_polygons(
    count: int, *, radius: tuple[float, float], extent: int, seed: int, hole_share: float = 0.2
) -> list[Polygon]:
    """``count`` star-shaped blobs with ``VERTICES`` vertices, radii drawn from ``radius``,
    centres uniform in ``[0, extent)²``; ``hole_share`` of them get an elliptic hole."""
    rng = np.random.default_rng(seed)
    theta = np.linspace(0.0, 2.0 * np.pi, VERTICES, endpoint=False)
    harmonics = np.arange(2, 6)[:, np.newaxis]
    polygons = []
    for k in range(count):
        r0 = rng.uniform(*radius)
        wobble = rng.uniform(0.0, 0.08, (4, 1)) * np.cos(
            harmonics * theta + rng.uniform(0, 6.3, (4, 1))
        )
        r = r0 * (1.0 + wobble.sum(axis=0))
        centre = rng.uniform(0.0, extent, 2)
        exterior = np.stack([centre[0] + r * np.cos(theta), centre[1] + r * np.sin(theta)], axis=1)
        holes: tuple[np.ndarray, ...] = ()
        if rng.random() < hole_share:
            t = theta[::4]
            hole = np.stack(
                [centre[0] + 0.3 * r0 * np.cos(t), centre[1] + 0.2 * r0 * np.sin(t)], axis=1
            )
            holes = (hole[::-1].copy(),)
        polygons.append(Polygon(exterior=exterior, holes=holes, id=k))
    return polygons


def best_rate(count: int, run: Callable[[], object], repeats: int = 3) -> float:
    """Polygons per second of the fastest of ``repeats`` runs."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    shapes = blob_polygons(20_000, radius=(10.0, 60.0), extent=4096, seed=1)
    no_image = best_rate(len(shapes), lambda: measure(shapes))
    scaled = best_rate(len(shapes), lambda: measure(shapes, pixel_size=0.325))

    image = np.random.default_rng(2).integers(0, 65535, (512, 512, 2), dtype=np.uint16)
    cells = blob_polygons(2_000, radius=(22.0, 28.0), extent=512, seed=3)
    with_image = best_rate(len(cells), lambda: measure(cells, image=image))
    one_image = cells[:100]
    per_image = best_rate(len(one_image), lambda: measure(one_image, image=image), repeats=20)

    bar = f"≥ {BAR_POLYGONS_PER_S:,.0f}"
    print_table(
        "measure() throughput, one core",
        ["case", "polygons", "polygons/s", "bar", "result"],
        [
            ["no image, ~100 vertices, 20 % holed", len(shapes), no_image, bar, _verdict(no_image)],
            ["same, pixel size 0.325 µm", len(shapes), scaled, bar, _verdict(scaled)],
            ["512×512 uint16 ×2 ch, ~50 px objects", len(cells), with_image, "—", "info"],
            ["same image, one call per 100 objects", len(one_image), per_image, "—", "info"],
        ],
    )
    if min(no_image, scaled) < BAR_POLYGONS_PER_S:
        raise SystemExit(1)


def _verdict(rate: float) -> str:
    return "PASS" if rate >= BAR_POLYGONS_PER_S else "FAIL"


if __name__ == "__main__":
    main()
