"""Where an image's bytes come from: a path or an in-memory buffer, checked before any parsing.

``ImageSource`` turns the caller's ``str | os.PathLike | bytes`` into something every format
reader can use (a binary file object, the leading bytes for sniffing, or all bytes), and raises
the typed errors that do not depend on the format: a missing path (``InputNotFound``), zero
bytes (``EmptyImage``) and a file over the byte cap (``ImageTooLarge``). A ``str`` is always a
path, never image data.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cellhub.errors import EmptyImage, ImageTooLarge, InputNotFound

ImageInput = str | os.PathLike[str] | bytes | bytearray | memoryview

# Enough for every magic number we sniff and for a PNG's signature + IHDR chunk (33 bytes).
HEAD_BYTES = 64


@dataclass(frozen=True, slots=True)
class ImageSource:
    """A readable image input of known size; ``name`` is what error reasons call it."""

    name: str
    size: int
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def of(
        cls, source: ImageInput, *, name: str | None = None, max_bytes: int | None = None
    ) -> ImageSource:
        """Validate ``source`` without parsing it: it exists, is not empty, is within the cap."""
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            found = cls(name=name or "image", size=len(data), data=data)
        else:
            path = Path(source)
            label = name or path.name or str(path)
            try:
                if not path.is_file():
                    what = "is a directory, not a file" if path.is_dir() else "does not exist"
                    raise InputNotFound(f"{label}: {what}", path=str(path))
                size = path.stat().st_size
            except OSError as exc:
                raise InputNotFound(f"{label}: cannot be read ({exc})", path=str(path)) from exc
            found = cls(name=label, size=size, path=path)
        found._check_size(max_bytes)
        return found

    def _check_size(self, max_bytes: int | None) -> None:
        if self.size == 0:
            raise EmptyImage(f"{self.name}: file is empty (0 bytes)", name=self.name)
        if max_bytes is not None and self.size > max_bytes:
            raise ImageTooLarge(
                f"{self.name}: file is {self.size:,} bytes, over the cap of {max_bytes:,} bytes",
                name=self.name,
                bytes=self.size,
                max_bytes=max_bytes,
            )

    def open(self) -> BinaryIO:
        """A fresh binary file object positioned at the start; the caller closes it."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise InputNotFound(
                f"{self.name}: cannot be read ({exc})", path=str(self.path)
            ) from exc

    def head(self, count: int = HEAD_BYTES) -> bytes:
        """The first ``count`` bytes (fewer if the file is shorter)."""
        if self.data is not None:
            return self.data[:count]
        with self.open() as handle:
            return handle.read(count)

    def read_all(self) -> bytes:
        """Every byte; only for formats whose decoder needs a buffer (bounded by the byte cap)."""
        if self.data is not None:
            return self.data
        with self.open() as handle:
            return handle.read()
