"""Finding the images of a run and deciding the run's physical unit.

Folders are walked recursively for image-like names (hidden files skipped); a file named
explicitly is always taken, whatever its extension, so that a mislabelled file fails with its
real reason instead of vanishing. A path that does not exist becomes a failed entry, not an
abort: the rest of the batch still runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cellhub.errors import CellhubError
from cellhub.imageio import probe_image

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".btf", ".tf8"})


@dataclass(frozen=True, slots=True)
class RunImage:
    """One image of a run: where it is, its unique relative name, its metadata pixel size."""

    path: Path
    name: str
    pixel_size_um: float | None = None
    missing_reason: str | None = None


def discover_images(paths: Sequence[str | Path]) -> list[RunImage]:
    """Every image under ``paths`` in a stable order, names unique within the run."""
    found: list[RunImage] = []
    for raw in paths:
        root = Path(raw)
        if root.is_dir():
            files = sorted(p for p in root.rglob("*") if _is_image_file(p, root))
            found += [RunImage(p, p.relative_to(root).as_posix()) for p in files]
        elif root.exists():
            found.append(RunImage(root, root.name))
        else:
            found.append(
                RunImage(
                    root, root.name or str(root), missing_reason=f"{raw}: no such file or folder"
                )
            )
    return _unique_names(found)


def with_metadata_pixel_sizes(sources: Sequence[RunImage]) -> list[RunImage]:
    """Read each image's physical pixel size from its header (OME-XML, TIFF resolution)."""
    return [replace(s, pixel_size_um=_header_pixel_size(s)) for s in sources]


def run_pixel_size(
    sources: Sequence[RunImage], explicit: float | None
) -> tuple[float | None, list[str]]:
    """The µm-per-pixel a whole run reports in, and warnings about the choice.

    An explicit size wins. Otherwise the images' metadata is used only when every readable
    image states the same size: one table must have one unit, so mixed or missing sizes fall
    back to pixels rather than silently mixing µm and px in a column.
    """
    if explicit is not None:
        return explicit, []
    readable = [s for s in sources if s.missing_reason is None]
    sizes = {round(s.pixel_size_um, 6) for s in readable if s.pixel_size_um}
    if len(sizes) == 1 and all(s.pixel_size_um for s in readable):
        return sizes.pop(), []
    if sizes:
        missing = sum(1 for s in readable if not s.pixel_size_um)
        return None, [
            f"images state {len(sizes)} different pixel sizes and {missing} state none; "
            "measurements are in pixels (pass --pixel-size to report µm)"
        ]
    return None, []


def _header_pixel_size(source: RunImage) -> float | None:
    if source.missing_reason is not None:
        return None
    try:
        return probe_image(source.path).pixel_size_um
    except CellhubError:
        return None  # the image fails later with its full reason


def _is_image_file(path: Path, root: Path) -> bool:
    relative = path.relative_to(root)
    return (
        path.is_file()
        and path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in relative.parts)
    )


def _unique_names(sources: list[RunImage]) -> list[RunImage]:
    seen: dict[str, int] = {}
    unique: list[RunImage] = []
    for source in sources:
        count = seen.get(source.name, 0)
        seen[source.name] = count + 1
        unique.append(
            source if count == 0 else replace(source, name=f"{_stem_with(source.name, count + 1)}")
        )
    return unique


def _stem_with(name: str, n: int) -> str:
    path = Path(name)
    return path.with_name(f"{path.stem}~{n}{path.suffix}").as_posix()
