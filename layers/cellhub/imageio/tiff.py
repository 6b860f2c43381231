"""TIFF, BigTIFF and OME-TIFF through tifffile: header from the lazy series, pixels page by page.

Opening parses the IFDs and the first image series (tifffile's interpretation of OME-XML,
ImageJ hyperstack, shaped or generic page layouts) without decoding any pixel, so the size
check runs on what the file claims. Decoding follows ``cellhub.imageio.stacks``: first time
point, maximum-intensity projection over Z, channels last. Compression (LZW, deflate, zstd,
JPEG ...) is whatever imagecodecs decodes. Details the decoder settles:

* Only the first series (image) of a multi-image file is read, with a warning. Multi-file
  OME-TIFF datasets are read from the given file alone; the files its OME-XML names are
  never opened.
* RGB(A) TIFFs whose extra sample is marked as alpha lose it (as PNG/BMP alpha does); extra
  samples not marked as alpha are kept as channels, since they may be signal.
* Palette TIFFs keep their index values: in microscopy the palette is a display LUT over
  intensities, not the image's colours.
* What tifffile logs while reading (e.g. an IFD chain cut short, so pages are missing) is
  passed on as warnings rather than lost in a log nobody reads.
* At most ``DECODE_BUDGET`` x the pixel cap samples are decompressed in total (all pages read),
  so a small file of many highly compressed pages cannot exhaust memory or time either.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import tifffile
from numpy.typing import NDArray

from cellhub.errors import CorruptImage, ImageTooLarge
from cellhub.imageio.calibration import imagej_pixel_size, plain_tiff_pixel_size
from cellhub.imageio.channels import fallback_names
from cellhub.imageio.header import DECODE_FAILURES, ImageHeader, Raster
from cellhub.imageio.ome import OmeFacts, read_ome
from cellhub.imageio.source import ImageSource
from cellhub.imageio.stacks import AxisPlan, assemble, plan_axes

DECODE_BUDGET = 8
ALPHA_EXTRASAMPLES = frozenset({1, 2})  # associated, unassociated alpha
PHOTOMETRIC_RGB = 2


class _ThreadLog(logging.Handler):
    """Collects tifffile's log messages emitted by this thread (others may be reading too)."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self._into = into
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self._thread:
            self._into.append(f"TIFF reader: {record.getMessage()}")


@contextmanager
def _tifffile_log(into: list[str]) -> Iterator[None]:
    handler = _ThreadLog(into)
    logger = logging.getLogger("tifffile")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


class TiffReader:
    """A TIFF with its first series parsed; holds the file open until ``close``."""

    def __init__(self, source: ImageSource, *, max_pixels: int | None) -> None:
        self._name = source.name
        self._max_pixels = max_pixels
        self._log: list[str] = []
        handle = source.open()
        try:
            with _tifffile_log(self._log):
                # Never follow OME-XML references to other files: a crafted upload could name
                # any path on this machine, and missing files would be silently zero-filled.
                self._tif = tifffile.TiffFile(handle, _multifile=False)
                series_list = self._tif.series
                if not series_list:
                    raise CorruptImage(f"{self._name}: TIFF holds no image", name=self._name)
                self._series = series_list[0]
                self.header = self._header(len(series_list))
        except DECODE_FAILURES as exc:
            handle.close()
            raise CorruptImage(
                f"{self._name}: TIFF structure is corrupt ({exc})", name=self._name
            ) from exc
        except Exception:
            handle.close()
            raise
        self._handle = handle

    def _header(self, series_count: int) -> ImageHeader:
        axes, shape = self._series.axes, tuple(self._series.shape)
        if "Y" not in axes or "X" not in axes:
            raise CorruptImage(
                f"{self._name}: TIFF series has no Y/X axes ({axes})", name=self._name
            )
        channels = math.prod(n for axis, n in zip(axes, shape, strict=True) if axis in "CS")
        return ImageHeader(
            format="ome-tiff" if self._tif.is_ome else "tiff",
            width=shape[axes.rindex("X")],
            height=shape[axes.rindex("Y")],
            channels=channels,
            dtype=self._series.dtype.name,
            pages=len(self._tif.pages),
            axes=axes,
            shape=shape,
            series=series_count,
            pixel_size_um=self._metadata(channels, [])[0],
        )

    def decode(self) -> Raster:
        try:
            with _tifffile_log(self._log):
                return self._decode()
        except DECODE_FAILURES as exc:
            raise CorruptImage(
                f"{self._name}: TIFF data is truncated or corrupt ({exc})", name=self._name
            ) from exc

    def _decode(self) -> Raster:
        series, keyframe = self._series, self._series.keyframe
        plan = plan_axes(self.header.axes, self.header.shape)
        warnings: list[str] = []
        if self.header.series > 1:
            warnings.append(f"file holds {self.header.series} images; read the first")
        warnings.extend(plan.warnings)
        keep_samples = self._colour_samples(plan)
        if keep_samples is not None:
            warnings.append("dropped the alpha channel (RGBA -> RGB)")
            plan = plan.resized(plan.axes.rindex("S"), keep_samples)

        page_axes, page_shape = keyframe.axes, tuple(keyframe.shape)
        leading = len(plan.axes) - len(page_axes)
        paged = (
            leading >= 0
            and self.header.axes.endswith(page_axes)
            and self.header.shape[leading:] == page_shape
            and len(series) == math.prod(self.header.shape[:leading])
        )
        if not paged:
            # Layouts tifffile cannot index page by page (e.g. contiguous ImageJ data) are read
            # whole; the budget below bounds that read just the same.
            leading, page_axes = 0, self.header.axes
        self._check_budget(plan, leading)

        def read_page(index: int) -> NDArray[Any]:
            if not paged:
                pixels = series.asarray()
            else:
                page = series[index]
                # Each IFD states its own size; one that disagrees with the first page could
                # claim any size at all, and the header check only saw the first.
                if page is None or page.shape != page_shape or page.dtype != keyframe.dtype:
                    raise CorruptImage(
                        f"{self._name}: TIFF page {index} is missing or differs from the first "
                        f"page ({None if page is None else page.shape} vs {page_shape})",
                        name=self._name,
                    )
                pixels = page.asarray()
            if keep_samples is not None:
                axis = page_axes.rindex("S")
                pixels = pixels[(slice(None),) * axis + (slice(0, keep_samples),)]
            return pixels

        pixels = assemble(plan, leading, read_page)
        warnings.extend(self._log)
        pixel_size, names = self._metadata(pixels.shape[2], warnings)
        return Raster(
            pixels=pixels, warnings=warnings, channel_names=names, pixel_size_um=pixel_size
        )

    def _colour_samples(self, plan: AxisPlan) -> int | None:
        """3 when the series is RGB plus an alpha extra sample (to be dropped), else None."""
        keyframe = self._series.keyframe
        if int(keyframe.photometric) != PHOTOMETRIC_RGB or "S" not in plan.axes:
            return None
        extras = [int(kind) for kind in keyframe.extrasamples]
        if plan.shape[plan.axes.rindex("S")] == 4 and extras and extras[0] in ALPHA_EXTRASAMPLES:
            return 3
        return None

    def _check_budget(self, plan: AxisPlan, leading: int) -> None:
        if self._max_pixels is None:
            return
        samples, budget = plan.decoded_samples(leading), DECODE_BUDGET * self._max_pixels
        if samples > budget:
            raise ImageTooLarge(
                f"{self._name}: reading this {plan.axes} stack of shape {plan.shape} would "
                f"decode {samples:,} samples, over the budget of {budget:,}",
                name=self._name,
                samples=samples,
                max_samples=budget,
            )

    def _metadata(self, channels: int, warnings: list[str]) -> tuple[float | None, tuple[str, ...]]:
        """Pixel size (µm) and channel names, from OME-XML, ImageJ or resolution tags."""
        tif, keyframe = self._tif, self._series.keyframe
        ome = read_ome(tif.ome_metadata) if tif.is_ome else OmeFacts()
        warnings.extend(ome.warnings)
        x_resolution = float(keyframe.resolution[0])
        pixel_size = ome.pixel_size_um
        if pixel_size is None and tif.is_imagej:
            pixel_size = imagej_pixel_size(tif.imagej_metadata, x_resolution)
        if pixel_size is None:
            pixel_size = plain_tiff_pixel_size(x_resolution, int(keyframe.resolutionunit))
        if len(ome.channel_names) == channels:
            return pixel_size, ome.channel_names
        rgb = int(keyframe.photometric) == PHOTOMETRIC_RGB
        return pixel_size, fallback_names(channels, rgb=rgb)

    def close(self) -> None:
        self._tif.close()
        self._handle.close()
