"""Exporter interface and output sinks.

An exporter is opened once per run, receives one ``ImageResult`` at a time through ``add`` and
writes its files through a sink as it goes, so memory stays bounded however many images a run
has. ``close`` finishes the files (e.g. closing a JSON array) and returns warnings for the
run's summary. Sinks hide whether files land in a directory or stream into a ZIP.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, ClassVar

import cellhub
from cellhub.errors import ExportError
from cellhub.results import ImageResult


@dataclass(frozen=True, slots=True)
class ExportContext:
    """Run-wide facts every exporter may record (metadata sheets, data.yaml, COCO info)."""

    pixel_size_um: float | None = None
    model: str = "classical"
    model_version: str = ""
    threshold: float | None = None
    class_names: tuple[str, ...] = ("object",)
    software_version: str = cellhub.__version__
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    number_objects: bool = True
    formats: tuple[str, ...] = ()


class ExportSink(ABC):
    """Where exporters write: relative POSIX paths, streamed."""

    @abstractmethod
    @contextmanager
    def open(self, path: str) -> Iterator[BinaryIO]:
        """A binary stream for a new file at ``path``; closed (and finished) on exit."""

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.open(path) as stream:
            stream.write(data)

    def close(self) -> None:  # noqa: B027 - optional hook: a directory has nothing to finish
        """Finish the sink (a ZIP writes its central directory)."""


def safe_relative_path(path: str) -> PurePosixPath:
    """Reject absolute paths and ``..`` so no exporter can write outside its sink."""
    posix = PurePosixPath(path)
    if posix.is_absolute() or ".." in posix.parts or not posix.parts:
        raise ExportError(f"refusing to write outside the export: {path!r}")
    return posix


class DirectorySink(ExportSink):
    """Writes files under a directory, creating sub-folders as needed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def open(self, path: str) -> Iterator[BinaryIO]:
        target = self.root.joinpath(*safe_relative_path(path).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        with partial.open("wb") as stream:
            yield stream
        partial.replace(target)  # a crash never leaves a half-written file under the real name


class ZipSink(ExportSink):
    """Streams files into one ZIP (deflated, ZIP64 for large members) on any binary stream."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._zip = zipfile.ZipFile(
            stream, mode="w", compression=zipfile.ZIP_DEFLATED, allowZip64=True
        )

    @contextmanager
    def open(self, path: str) -> Iterator[BinaryIO]:
        name = str(safe_relative_path(path))
        with self._zip.open(name, mode="w", force_zip64=True) as member:
            yield member  # type: ignore[misc]

    def close(self) -> None:
        self._zip.close()


class Exporter(ABC):
    """One export format. Subclasses set ``format_name`` and implement ``add``/``close``."""

    format_name: ClassVar[str]

    def __init__(self, sink: ExportSink, context: ExportContext) -> None:
        self.sink = sink
        self.context = context
        self.warnings: list[str] = []

    @abstractmethod
    def add(self, result: ImageResult) -> None:
        """Write (or stage) this image's output; must not keep ``result.pixels``."""

    def close(self) -> list[str]:
        """Finish the format's files; returns the warnings gathered along the way."""
        return self.warnings


def copy_stream(source: IO[bytes], target: IO[bytes]) -> None:
    shutil.copyfileobj(source, target, length=1 << 20)


# Characters Windows, macOS or ZIP tools refuse or mangle in a file name.
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f<>:"|?*]')
_MULTI_SUFFIXES = (".ome.tiff", ".ome.tif")


def image_stem(name: str) -> str:
    """``plate1/A01.tif`` -> ``plate1/A01``: a safe relative POSIX path without the extension.

    Backslashes count as separators, ``.`` parts are dropped, ``..`` becomes ``__`` and
    absolute or drive prefixes are cut, so the result always stays inside its folder.
    """
    parts = [p for p in re.split(r"[\\/]+", name) if p not in ("", ".")]
    parts = ["__" if p == ".." else _UNSAFE_CHARS.sub("_", p) for p in parts]
    if not parts:
        return "image"
    last = parts[-1]
    lowered = last.lower()
    suffix = next((s for s in _MULTI_SUFFIXES if lowered.endswith(s)), PurePosixPath(last).suffix)
    if suffix and len(last) > len(suffix):
        parts[-1] = last[: -len(suffix)]
    return "/".join(parts)


class ImagePaths:
    """Gives each image of a run its own output path, even when two names share a stem.

    ``a.tif`` and ``a.png`` (or ``A.tif`` on a case-insensitive disk) would both become ``a``;
    the second gets ``a_2``. Every exporter claims names in the order images arrive, so the
    per-image files of all formats match. Holds one short string per image of the run.
    """

    def __init__(self, folder: str, suffix: str) -> None:
        self.folder = folder
        self.suffix = suffix
        self._taken: set[str] = set()

    def claim(self, name: str) -> str:
        """The relative output path (``folder/stem.suffix``) for image ``name``."""
        stem = image_stem(name)
        candidate, n = stem, 1
        while candidate.casefold() in self._taken:
            n += 1
            candidate = f"{stem}_{n}"
        self._taken.add(candidate.casefold())
        return f"{self.folder}/{candidate}{self.suffix}"
