"""Image folders for the ``cellhub segment`` end-to-end tests: good images and every bad kind."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from cellhub_worker.synthetic import synthetic_nuclei


def png_claiming(width: int, height: int) -> bytes:
    """A syntactically valid PNG whose IHDR claims ``width x height`` with a tiny IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def good_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("good")
    image8, _ = synthetic_nuclei((256, 256), count=12, seed=1, bit_depth=8)
    Image.fromarray(image8).save(root / "nuclei_a.png")
    image16, _ = synthetic_nuclei((256, 320), count=15, seed=2, bit_depth=16)
    (root / "plate").mkdir()
    tifffile.imwrite(root / "plate" / "well_b.tif", image16)
    tifffile.imwrite(
        root / "plate" / "well_c.ome.tif",
        image16[np.newaxis],
        ome=True,
        metadata={"axes": "CYX", "PhysicalSizeX": 0.325, "PhysicalSizeY": 0.325},
    )
    return root


@pytest.fixture(scope="session")
def bad_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file per bad-input case; the value tells the expected outcome."""
    root = tmp_path_factory.mktemp("bad")
    image8, _ = synthetic_nuclei((128, 128), count=6, seed=3, bit_depth=8)
    good_png = root / "fine.png"
    Image.fromarray(image8).save(good_png)
    (root / "zero_bytes.png").write_bytes(b"")
    (root / "truncated.png").write_bytes(good_png.read_bytes()[:200])
    tiff_path = root / "truncated.tif"
    tifffile.imwrite(tiff_path, (image8.astype(np.uint16) * 200))
    tiff_path.write_bytes(tiff_path.read_bytes()[:3000])
    (root / "text.png").write_text("this is not an image\n")
    (root / "bomb.png").write_bytes(png_claiming(100_000, 100_000))
    tifffile.imwrite(root / "float32.tif", image8.astype(np.float32) / 255.0)
    tifffile.imwrite(root / "int32.tif", image8.astype(np.int32) * 1000)
    Image.fromarray(image8).convert("P").save(root / "palette.png")
    rgba = np.dstack([image8, image8, image8, np.full_like(image8, 255)])
    Image.fromarray(rgba, mode="RGBA").save(root / "rgba.png")
    stack = np.broadcast_to(image8.astype(np.uint16), (2, 3, 2, 128, 128)).copy()
    tifffile.imwrite(root / "five_d.ome.tif", stack, ome=True, metadata={"axes": "TZCYX"})
    Image.fromarray(np.zeros((128, 128), np.uint8)).save(root / "all_black.png")
    return root
