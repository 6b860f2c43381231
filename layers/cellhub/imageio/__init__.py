"""Safe decoding of microscopy images into ``(Y, X, C)`` arrays: the pipeline's first stage.

Public API::

    read_image(source, *, name=None, max_pixels=None, max_bytes=None) -> DecodedImage
    probe_image(source, *, name=None, max_bytes=None) -> ImageHeader      # header only
    select_channels(pixels, channels) -> NDArray                          # (Y, X, C')

``source`` is a path (``str`` / ``os.PathLike``) or the file's bytes. Formats are recognised by
magic bytes only: PNG, JPEG, BMP, TIFF/BigTIFF and OME-TIFF. Pixels come back ``(Y, X, C)`` with
C >= 1 in the file's native dtype; only bool/1-bit images change (to uint8 0/255).

Decisions that shape the output, each reported in ``DecodedImage.warnings`` when it applies:

* **Alpha** is dropped (RGBA -> RGB, gray+alpha -> gray) in PNG, BMP and in TIFFs whose extra
  sample is marked as alpha. It carries no signal in microscopy and would reach a model as a
  spurious channel.
* **Palette** PNG/BMP images are expanded to RGB (RGBA, then alpha dropped, if the palette has
  transparency). Palette TIFFs keep their index values (a display LUT over intensities).
* **Multi-page plain TIFF** with pages of equal shape: up to 8 pages are channels, more pages
  are a z-stack.
* **Z-stacks** (OME/ImageJ ``Z``, or the many-page case above) are reduced by
  maximum-intensity projection; **time series** keep their first time point; any other extra
  dimension keeps its first index. OME axes in any order (TCZYX, TZCYX, CYX, YXS ...) end up
  with channels last.
* **Multi-image files** (several series): the first image is read.

Safety: the header's claimed ``width x height`` is checked against ``max_pixels``
(``Settings.max_image_pixels``) before any pixel is decoded, and the file size against
``max_bytes`` before it is opened; Pillow's own bomb check is aligned with the same cap;
truncated data is ``CorruptImage``, never silently padded. Errors are the typed
``cellhub.errors.ImageError`` family (plus ``InputNotFound``); see ``read_image``.

Pixel size comes from OME-XML, ImageJ or TIFF resolution tags (``calibration.py``).
"""

from cellhub.imageio.channels import select_channels
from cellhub.imageio.decode import DecodedImage, read_image
from cellhub.imageio.header import ImageHeader
from cellhub.imageio.probe import probe_image

__all__ = ["DecodedImage", "ImageHeader", "probe_image", "read_image", "select_channels"]
