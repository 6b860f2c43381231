"""OME-TIFF and N-D stacks: any axis order to (Y, X, C), first time point, Z projected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile

from cellhub.imageio import read_image
from cellhub.imageio.ome import read_ome
from cellhub.imageio.stacks import MAX_PAGES_AS_CHANNELS, assemble, page_to_yxc, plan_axes

Encoder = Callable[..., bytes]


def _expected(data: np.ndarray, axes: str) -> np.ndarray:
    """The reference reduction: T -> first, Z -> max, then (Y, X, C)."""
    if "T" in axes:
        data, axes = np.take(data, 0, axis=axes.index("T")), axes.replace("T", "")
    if "Z" in axes:
        data, axes = data.max(axis=axes.index("Z")), axes.replace("Z", "")
    if "C" not in axes:
        data, axes = data[np.newaxis], "C" + axes
    return np.transpose(data, [axes.index("Y"), axes.index("X"), axes.index("C")])


@pytest.mark.parametrize("axes", ["TZCYX", "TCZYX", "ZTCYX", "CZYX", "CYX", "ZYX"])
def test_ome_axis_orders(axes: str, tiff_bytes: Encoder, rng: np.random.Generator) -> None:
    sizes = {"T": 3, "Z": 4, "C": 2, "Y": 10, "X": 7}
    data = rng.integers(0, 4000, [sizes[a] for a in axes], dtype=np.uint16)
    image = read_image(
        tiff_bytes(data, ome=True, photometric="minisblack", metadata={"axes": axes})
    )
    assert image.format == "ome-tiff"
    np.testing.assert_array_equal(image.pixels, _expected(data, axes))


def test_5d_ome_reports_what_it_reduced(tiff_bytes: Encoder, rng: np.random.Generator) -> None:
    data = rng.integers(0, 255, (3, 12, 2, 16, 20), dtype=np.uint8)
    metadata = {"axes": "TZCYX", "Channel": {"Name": ["DAPI", "GFP"]}}
    image = read_image(tiff_bytes(data, ome=True, metadata=metadata))
    assert image.pixels.shape == (16, 20, 2)
    assert image.channel_names == ("DAPI", "GFP")
    assert image.warnings == (
        "took the first of 3 time points",
        "z-stack of 12 planes reduced by maximum-intensity projection",
    )


def test_ome_rgb_keeps_samples_as_channels(tiff_bytes: Encoder, rng: np.random.Generator) -> None:
    data = rng.integers(0, 255, (16, 20, 3), dtype=np.uint8)
    image = read_image(tiff_bytes(data, ome=True, photometric="rgb"))
    np.testing.assert_array_equal(image.pixels, data)


def test_ome_unknown_unit_gives_no_size_and_a_warning() -> None:
    xml = (
        '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0">'
        '<Pixels PhysicalSizeX="3" PhysicalSizeXUnit="ly"><Channel Name="a"/></Pixels>'
        "</Image></OME>"
    )
    facts = read_ome(xml)
    assert facts.pixel_size_um is None
    assert facts.channel_names == ("a",)
    assert "ly" in facts.warnings[0]


def test_malformed_ome_xml_is_a_warning_not_an_error() -> None:
    facts = read_ome("<OME><Image>")
    assert facts.pixel_size_um is None
    assert "malformed" in facts.warnings[0]


def test_files_named_in_ome_xml_are_never_opened(tmp_path: Path) -> None:
    """A crafted upload must not pull another file on this machine into its pixels."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    tifffile.imwrite(elsewhere / "secret.tif", np.full((8, 8), 4242, np.uint16))
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" UUID="urn:uuid:a">'
        '<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint16" '
        'SizeX="8" SizeY="8" SizeC="2" SizeZ="1" SizeT="1">'
        '<Channel ID="Channel:0:0"/><Channel ID="Channel:0:1"/>'
        '<TiffData FirstC="0" IFD="0" PlaneCount="1">'
        '<UUID FileName="upload.ome.tif">urn:uuid:a</UUID></TiffData>'
        '<TiffData FirstC="1" IFD="0" PlaneCount="1">'
        f'<UUID FileName="{elsewhere / "secret.tif"}">urn:uuid:b</UUID></TiffData>'
        "</Pixels></Image></OME>"
    )
    upload = tmp_path / "upload.ome.tif"
    tifffile.imwrite(upload, np.zeros((8, 8), np.uint16), description=xml, metadata=None)
    image = read_image(upload)
    assert image.pixels.max() == 0


def test_roles_per_axis() -> None:
    plan = plan_axes("TZCYXS", (2, 5, 3, 8, 9, 3))
    assert plan.roles == ("first", "project", "channel", "row", "column", "channel")
    assert plan.channels == 9


@pytest.mark.parametrize("pages", [MAX_PAGES_AS_CHANNELS, MAX_PAGES_AS_CHANNELS + 1])
def test_unnamed_page_axis_switches_at_the_threshold(pages: int) -> None:
    role = plan_axes("IYX", (pages, 4, 4)).roles[0]
    assert role == ("channel" if pages <= MAX_PAGES_AS_CHANNELS else "project")


def test_other_axes_keep_their_first_index_with_a_warning() -> None:
    plan = plan_axes("RYX", (4, 3, 3))
    assert plan.roles[0] == "first"
    assert plan.warnings == ("took the first of 4 along tile (R)",)


@pytest.mark.parametrize("leading", [0, 1, 2, 3])
def test_paged_assembly_matches_whole_array(leading: int) -> None:
    rng = np.random.default_rng(7)
    axes, shape = "TZCYX", (2, 3, 2, 5, 4)
    data = rng.integers(0, 1000, shape, dtype=np.uint16)
    plan = plan_axes(axes, shape)
    pages = data.reshape(-1, *shape[leading:])
    result = assemble(plan, leading, lambda index: pages[index])
    reference = np.moveaxis(data[0].max(axis=0), 0, -1)
    np.testing.assert_array_equal(result, reference)


def test_decoded_samples_skip_discarded_time_points() -> None:
    plan = plan_axes("TZYX", (10, 4, 8, 8))
    assert plan.decoded_samples(2) == 4 * 64
    assert plan.decoded_samples(0) == 10 * 4 * 64


def test_page_with_planar_samples_ends_channels_last() -> None:
    syx = np.arange(3 * 2 * 2).reshape(3, 2, 2)
    out = page_to_yxc(syx, ("channel", "row", "column"))
    np.testing.assert_array_equal(out, np.moveaxis(syx, 0, -1))
