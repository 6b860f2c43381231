"""Regenerates the example images in examples/images/ (synthetic, with exact ground truth).

    .venv/bin/python examples/make_examples.py

The images are committed so the demo needs no generation step; the script documents how they
were made and rewrites them identically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from cellhub_worker.synthetic import synthetic_nuclei, synthetic_spheroids

HERE = Path(__file__).resolve().parent / "images"


def main() -> None:
    HERE.mkdir(exist_ok=True)
    nuclei8, _ = synthetic_nuclei((512, 512), count=45, seed=11, bit_depth=8)
    Image.fromarray(nuclei8).save(HERE / "nuclei_dapi.png", optimize=True)
    nuclei16, _ = synthetic_nuclei((512, 640), count=55, seed=12, bit_depth=16)
    tifffile.imwrite(
        HERE / "nuclei_h2b.ome.tif",
        nuclei16[np.newaxis],
        ome=True,
        compression="zlib",
        metadata={
            "axes": "CYX",
            "PhysicalSizeX": 0.65,
            "PhysicalSizeY": 0.65,
            "Channel": {"Name": ["H2B"]},
        },
    )
    spheroids, _ = synthetic_spheroids((512, 512), count=3, seed=13)
    Image.fromarray(spheroids).save(HERE / "spheroids_brightfield.jpg", quality=92)
    for path in sorted(HERE.iterdir()):
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
