"""Benchmarks ``cellhub.imageio.read_image`` on a 4096 x 4096 uint16 image, TIFF and PNG.

For each encoding: file size, header-only ``probe_image`` time (best of ``REPEATS``),
``read_image`` time (median of ``REPEATS``), throughput, and the overhead over calling the
decoding library directly (the price of the safety checks and the ``(Y, X, C)``
normalisation), timed alternately with it. Run from the repository root:
``.venv/bin/python bench/bench_imageio.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import tifffile

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "layers"), str(_ROOT)]

from bench.table import print_table  # noqa: E402
from cellhub.imageio import probe_image, read_image  # noqa: E402

SIDE = 4096
REPEATS = 5


def _microscopy_like(side: int) -> np.ndarray:
    """Smooth blobs on a dark background plus shot noise: compresses like a real 16-bit field."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    field = 800 + 6000 * (np.sin(40 * x) * np.sin(33 * y)).clip(0, None)
    return (field + rng.normal(0, 30, (side, side))).clip(0, 65535).astype(np.uint16)


def _seconds(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _paired_medians(ours: Callable[[], Any], library: Callable[[], Any]) -> tuple[float, float]:
    """Median time of ``ours`` and median ratio ours/library, timed alternately.

    Alternating keeps a busy shared machine from loading one side more than the other.
    """
    ours(), library()  # warm-up: codec modules import lazily, the page cache fills
    times, ratios = [], []
    for _ in range(REPEATS):
        direct = _seconds(library)
        mine = _seconds(ours)
        times.append(mine)
        ratios.append(mine / direct)
    return statistics.median(times), statistics.median(ratios)


def _write_files(folder: Path, pixels: np.ndarray) -> dict[str, tuple[Path, Callable[[], Any]]]:
    """Each encoding's file and the direct library call that decodes it, for the baseline."""
    files: dict[str, tuple[Path, Callable[[], Any]]] = {}
    for label, compression in (("TIFF raw", None), ("TIFF deflate", "zlib"), ("TIFF zstd", "zstd")):
        path = folder / f"{label.replace(' ', '_')}.tif"
        tifffile.imwrite(path, pixels, compression=compression)
        files[label] = (path, partial(tifffile.imread, path))
    png = folder / "image.png"
    png.write_bytes(imagecodecs.png_encode(pixels, level=6))
    files["PNG 16-bit"] = (png, lambda: imagecodecs.png_decode(png.read_bytes()))
    return files


def main() -> None:
    pixels = _microscopy_like(SIDE)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, (path, direct) in _write_files(Path(folder), pixels).items():
            probe_s = min(_seconds(partial(probe_image, path)) for _ in range(REPEATS))
            read_s, ratio = _paired_medians(partial(read_image, path), direct)
            image = read_image(path)
            assert image.pixels.shape == (SIDE, SIDE, 1) and image.pixels.dtype == np.uint16
            rows.append(
                [
                    label,
                    path.stat().st_size / 1e6,
                    probe_s * 1e3,
                    read_s * 1e3,
                    SIDE * SIDE / read_s / 1e6,
                    f"{(ratio - 1) * 100:+.0f} %",
                ]
            )
    print_table(
        f"read_image, {SIDE} x {SIDE} uint16 (median of {REPEATS})",
        ["encoding", "file MB", "probe ms", "read ms", "Mpx/s", "vs library"],
        rows,
    )


if __name__ == "__main__":
    main()
