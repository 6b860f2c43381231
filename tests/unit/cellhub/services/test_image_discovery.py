"""Discovery walks folders, keeps explicit files, records missing paths; units are decided once."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellhub.services.image_discovery import RunImage, discover_images, run_pixel_size


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_folders_are_walked_recursively_and_hidden_or_foreign_files_skipped(tmp_path: Path) -> None:
    touch(tmp_path / "b.png")
    touch(tmp_path / "sub" / "a.TIF")
    touch(tmp_path / ".hidden" / "c.png")
    touch(tmp_path / "notes.txt")
    names = [s.name for s in discover_images([tmp_path])]
    assert names == ["b.png", "sub/a.TIF"]


def test_explicit_file_is_taken_whatever_its_extension(tmp_path: Path) -> None:
    readme = touch(tmp_path / "readme.txt")
    assert [s.path for s in discover_images([readme])] == [readme]


def test_missing_path_becomes_a_failed_entry_not_an_abort(tmp_path: Path) -> None:
    good = touch(tmp_path / "a.png")
    sources = discover_images([tmp_path / "nope.png", good])
    assert sources[0].missing_reason and "no such file" in sources[0].missing_reason
    assert sources[1].missing_reason is None


def test_names_stay_unique_across_roots(tmp_path: Path) -> None:
    first = touch(tmp_path / "one" / "img.png")
    second = touch(tmp_path / "two" / "img.png")
    assert [s.name for s in discover_images([first, second])] == ["img.png", "img~2.png"]


def source(size: float | None) -> RunImage:
    return RunImage(Path("x.tif"), "x.tif", pixel_size_um=size)


def test_explicit_pixel_size_wins() -> None:
    assert run_pixel_size([source(0.3)], 0.65) == (0.65, [])


def test_metadata_size_used_when_every_image_agrees() -> None:
    size, warnings = run_pixel_size([source(0.325), source(0.325)], None)
    assert size == pytest.approx(0.325) and warnings == []


@pytest.mark.parametrize("sizes", [[0.3, 0.5], [0.3, None]])
def test_disagreeing_or_missing_sizes_fall_back_to_pixels(sizes: list[float | None]) -> None:
    size, warnings = run_pixel_size([source(s) for s in sizes], None)
    assert size is None and len(warnings) == 1


def test_no_metadata_anywhere_is_pixels_without_warning() -> None:
    assert run_pixel_size([source(None)], None) == (None, [])
