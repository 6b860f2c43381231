"""Shrinks an installed Lambda layer so the export function (which needs all of it) fits.

Measured on the Python 3.12 manylinux wheels: the layer is about 450 MB as pip installs it,
against Lambda's 250 MB for a function with its layers. Three cuts, each kept only because
the assets' import check still passes afterwards:

- debug symbols stripped from extension modules (``strip --strip-unneeded``; skipped where
  binutils is missing). Never the libraries auditwheel vendors into ``<package>.libs``:
  those were rewritten by patchelf and no longer load once stripped.
- scipy's test suites. numpy's stay: ``numpy.testing`` imports ``numpy._core.tests``.
- imagecodecs codecs no microscopy TIFF or PNG the hub reads uses (AVIF, JPEG XL, SZ3,
  Brunsli, Ultra HDR, SPERR, ZFP, JPEG XR) with the libraries only they link; reading
  such a file raises a decode error, as any unsupported compression does.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

logger = logging.getLogger(__name__)

UNUSED_IMAGECODECS = ("avif", "jpegxl", "sz3", "brunsli", "ultrahdr", "sperr", "zfp", "jpegxr")
# Vendored libraries linked only by the codecs above (``readelf -d`` NEEDED entries).
UNUSED_IMAGECODECS_LIBS = (
    "libavif", "libaom", "libjxl", "libjxl_cms", "libjxl_threads", "libSZ3c",
    "libbrunslienc-c", "libbrunslidec-c", "libuhdr", "libSPERR", "libzfp", "libjpegxr",
    "libjxrglue",
)  # fmt: skip
PRUNED_TEST_SUITES = ("scipy",)


def slim(site: Path) -> None:
    """Apply every cut to the packages installed in ``site`` (a layer's ``python/``)."""
    for package in PRUNED_TEST_SUITES:
        for tests in sorted((site / package).rglob("tests"), reverse=True):
            if tests.is_dir():
                shutil.rmtree(tests)
    prune_imagecodecs(site)
    strip_extensions(site)
    for cache in list(site.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)


def prune_imagecodecs(site: Path) -> None:
    codecs = site / "imagecodecs"
    for codec in UNUSED_IMAGECODECS:
        for module in codecs.glob(f"_{codec}.*.so"):
            module.unlink()
    for library in (site / "imagecodecs.libs").glob("*"):
        # ``libjxl-0af66f74.so.0.11.1``: the name is everything before the auditwheel hash.
        if library.name.rsplit("-", 1)[0] in UNUSED_IMAGECODECS_LIBS:
            library.unlink()


def strip_extensions(site: Path) -> None:
    strip = shutil.which("strip")
    if strip is None:
        logger.warning("no strip command (binutils): extension modules keep debug symbols")
        return
    modules = [
        p for p in site.rglob("*.so")
        if p.is_file() and not any(part.endswith(".libs") for part in p.relative_to(site).parts)
    ]  # fmt: skip
    for start in range(0, len(modules), 200):
        batch = [str(p) for p in modules[start : start + 200]]
        subprocess.run([strip, "--strip-unneeded", *batch], check=True)
