"""``cellhub segment`` end to end: every format written, bad inputs fail alone, exit codes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from pycocotools.coco import COCO

from cellhub_local.cli import main
from cellhub_worker.registry import default_model_for

ALL_FORMATS = "coco,yolo,excel,csv,geojson,masks,imagej,overlay,json"


def summary_of(output: Path) -> dict:
    return json.loads((output / "summary.json").read_text())


def test_good_folder_writes_every_format(good_images: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    code = main(
        [
            "segment",
            str(good_images),
            "-o",
            str(out),
            "--pixel-size",
            "0.5",
            "--formats",
            ALL_FORMATS,
        ]
    )
    summary = summary_of(out)
    assert code == 0, summary
    # Without --model, nuclei images get the best nuclei model, not the classical baseline.
    assert summary["model"].startswith(default_model_for("nuclei"))
    assert default_model_for("nuclei") != "classical"
    assert summary["images_processed"] == 3 and summary["images_failed"] == 0
    assert summary["objects"] > 20
    assert summary["units"] == "um"
    coco = COCO(str(out / "coco" / "annotations.json"))
    assert len(coco.getImgIds()) == 3 and len(coco.getAnnIds()) == summary["objects"]
    sheet = openpyxl.load_workbook(out / "excel" / "measurements.xlsx", read_only=True)["objects"]
    header = next(sheet.iter_rows(max_row=1, values_only=True))
    assert "area_um2" in header and "perimeter_um" in header
    for produced in [
        "yolo/data.yaml",
        "csv/objects.csv",
        "geojson/plate/well_b.geojson",
        "masks/nuclei_a.png",
        "imagej/plate/well_c.ome.zip",
        "overlay/nuclei_a.png",
    ]:
        assert any(out.glob(produced.replace(".ome.zip", "*.zip"))), produced


def test_sample_type_without_model_picks_its_default(good_images: Path, tmp_path: Path) -> None:
    out = tmp_path / "spheroids"
    args = ["segment", str(good_images / "nuclei_a.png"), "-o", str(out), "--formats", "csv"]
    assert main([*args, "--sample", "spheroids"]) == 0
    assert summary_of(out)["model"].startswith(default_model_for("spheroids"))


def test_metadata_pixel_size_used_when_all_images_state_it(
    good_images: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ome"
    assert (
        main(
            [
                "segment",
                str(good_images / "plate" / "well_c.ome.tif"),
                "-o",
                str(out),
                "--formats",
                "csv",
            ]
        )
        == 0
    )
    summary = summary_of(out)
    assert summary["pixel_size_um"] == pytest.approx(0.325)
    assert "area_um2" in (out / "csv" / "objects.csv").read_text().splitlines()[0]


def test_mixed_metadata_falls_back_to_pixels_with_a_warning(
    good_images: Path, tmp_path: Path
) -> None:
    out = tmp_path / "mixed"
    assert main(["segment", str(good_images), "-o", str(out), "--formats", "csv"]) == 0
    summary = summary_of(out)
    assert summary["units"] == "px"
    assert any("pixel size" in w for w in summary["warnings"])


EXPECTED_FAILURES = {
    "zero_bytes.png": "empty",
    "truncated.png": "corrupt",
    "truncated.tif": "corrupt",
    "text.png": "unsupported_format",
    "bomb.png": "too_large",
    "missing.png": "not_found",
}
EXPECTED_SUCCESSES = {
    "fine.png",
    "float32.tif",
    "int32.tif",
    "palette.png",
    "rgba.png",
    "five_d.ome.tif",
    "all_black.png",
}


def test_bad_inputs_fail_alone_with_reasons(bad_images: Path, tmp_path: Path) -> None:
    out = tmp_path / "bad.zip"
    code = main(
        [
            "segment",
            str(bad_images),
            str(bad_images / "missing.png"),
            "-o",
            str(out),
            "--formats",
            ALL_FORMATS,
        ]
    )
    assert code == 1
    with zipfile.ZipFile(out) as archive:
        summary = json.loads(archive.read("summary.json"))
        names = set(archive.namelist())
    failures = {f["image"]: f for f in summary["failures"]}
    assert {name: f["code"] for name, f in failures.items()} == EXPECTED_FAILURES
    assert all(f["reason"] for f in failures.values())
    assert summary["images_processed"] == len(EXPECTED_SUCCESSES)
    for name in EXPECTED_SUCCESSES:
        stem = name.split(".")[0]
        assert any(n.startswith(f"masks/{stem}.") for n in names), name
    assert any("five_d" in w for w in summary["warnings"])


@pytest.mark.parametrize(
    "extra",
    [
        ["--model", "no-such-model"],
        ["--threshold", "1.5"],
        ["--threshold", "0"],
        ["--formats", "coco,pdf"],
    ],
)
def test_usage_errors_exit_2(
    good_images: Path, tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["segment", str(good_images), "-o", str(tmp_path / "x"), *extra])
    assert code == 2
    assert "error" in capsys.readouterr().err


def test_argparse_usage_error_exits_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["segment", "--threshold", "abc", str(tmp_path), "-o", str(tmp_path / "x")])
    assert exit_info.value.code == 2
