"""``cellhub package``: which requirements and packages go into which Lambda asset, the pip
command line for the Lambda platform, and the 250 MB limit. pip never runs here: a fake
runner lays out what ``pip install --target`` would."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from cellhub_local import package_command
from cellhub_local.package_command import AssetBuilder, build_all, measure_sizes
from cellhub_local.packaging_plan import (
    LAMBDA_UNZIPPED_LIMIT,
    distribution_name,
    lambda_assets,
    project_dependencies,
    split_requirements,
)

REPO = Path(__file__).resolve().parents[3]
HEAVY = {"numpy", "scipy", "opencv-python-headless", "torch", "pillow", "imagecodecs"}
# What the fake pip pulls in beside a requested distribution, as the real resolver would.
DEPENDS_ON = {"fastapi": ["pydantic", "starlette"], "pydantic": ["pydantic-core"]}


class FakePip:
    """Records pip command lines; ``install`` creates a package and a dist-info per name."""

    def __init__(self, sizes: dict[str, int] | None = None, wheelhouse_has: bool = True) -> None:
        self.commands: list[list[str]] = []
        self.sizes = sizes or {}
        self.wheelhouse_has = wheelhouse_has

    def __call__(self, command: Sequence[str], quiet: bool) -> int:
        command = list(command)
        self.commands.append(command)
        if "download" in command:
            self.wheelhouse_has = True
            return 0
        if not self.wheelhouse_has:
            return 1
        target = Path(next(a for a in command if a.startswith("--target=")).split("=", 1)[1])
        requested = [a for a in command[command.index("install") + 1 :] if not a.startswith("-")]
        requested = [a for a in requested if not a.endswith(".txt")]
        pending = [distribution_name(r) for r in requested]
        while pending:
            name = pending.pop()
            pending += DEPENDS_ON.get(name, [])
            module = target / name.replace("-", "_")
            module.mkdir(parents=True, exist_ok=True)
            with (module / "__init__.py").open("wb") as fh:
                fh.truncate(self.sizes.get(name, 10))  # sparse: sizes cost no disk
            (target / f"{name.replace('-', '_')}-1.0.dist-info").mkdir(exist_ok=True)
        (target / "bin").mkdir(exist_ok=True)
        return 0


def built(tmp_path: Path, pip: FakePip) -> tuple[Path, list[package_command.SizeRow]]:
    requirements = split_requirements(project_dependencies(REPO))
    out = tmp_path / "lambda"
    builder = AssetBuilder(wheelhouse=tmp_path / "wheels", runner=pip)
    assets = lambda_assets(requirements, REPO)
    build_all(assets, out, builder)
    return out, measure_sizes(assets, out)


def test_every_pyproject_dependency_has_a_place_and_the_api_gets_no_heavy_one() -> None:
    requirements = split_requirements(project_dependencies(REPO))
    names = {distribution_name(r) for r in requirements.api}
    assert names == {"fastapi", "mangum", "python-multipart"}
    assert {"numpy", "scipy", "pydantic", "aws-lambda-powertools"} <= {
        distribution_name(r) for r in requirements.layer
    }
    assert not names & HEAVY
    # Version ranges are pyproject's own, not restated.
    assert set(requirements.layer) | set(requirements.api) <= set(project_dependencies(REPO))


def test_an_unplaced_dependency_is_an_error() -> None:
    with pytest.raises(ValueError, match="left-pad"):
        split_requirements(["numpy>=1.26", "left-pad>=1"])


def test_assets_hold_our_packages_and_the_layer_uses_the_python_prefix(tmp_path: Path) -> None:
    out, rows = built(tmp_path, FakePip())
    assert (out / "layer/python/cellhub/__init__.py").is_file()
    assert (out / "layer/python/numpy").is_dir()
    assert (out / "api/cellhub_api/handler.py").is_file()
    # The catalogue the API lists, checks model names against and picks defaults from.
    assert (out / "api/cellhub_worker/registry.py").is_file()
    assert (out / "api/cellhub_worker/weights/nuclei-hrnet.json").is_file()
    assert (out / "websocket/cellhub_api/websocket_handlers.py").is_file()
    assert (out / "thumbnail/cellhub_thumbnail/handler.py").is_file()
    assert (out / "export/cellhub_export/handler.py").is_file()
    api = {p.name for p in (out / "api").iterdir()}
    assert {"fastapi", "mangum", "starlette"} <= api
    # pydantic comes from the layer, once; pip's console scripts are dropped.
    assert "pydantic" not in api and "pydantic_core" not in api and "bin" not in api
    assert not {"numpy", "scipy", "fastapi"} & {p.name for p in (out / "export").iterdir()}
    assert not list(out.rglob("__pycache__"))
    sizes = json.loads((out / "sizes.json").read_text())
    assert sizes["api"]["with_layers"] == sizes["api"]["bytes"] + sizes["layer"]["bytes"]
    assert all(r.within_limit for r in rows)


def test_pip_targets_the_lambda_platform_and_pins_functions_to_the_layer(tmp_path: Path) -> None:
    pip = FakePip()
    built(tmp_path, pip)
    layer_install, api_install = (c for c in pip.commands if "install" in c)
    for flag in ("--platform=manylinux2014_x86_64", "--only-binary=:all:",
                 "--python-version=3.12", "--implementation=cp", "--no-index"):  # fmt: skip
        assert flag in layer_install
    assert layer_install[:3] == [sys.executable, "-m", "pip"]
    assert "numpy>=1.26" in layer_install and "fastapi>=0.110" not in layer_install
    pins = Path(api_install[api_install.index("--constraint") + 1]).read_text()
    assert "numpy==1.0" in pins and "fastapi>=0.110" in api_install


def test_a_missing_wheel_is_downloaded_into_the_wheelhouse_once(tmp_path: Path) -> None:
    pip = FakePip(wheelhouse_has=False)
    built(tmp_path, pip)
    downloads = [c for c in pip.commands if "download" in c]
    assert len(downloads) == 1 and f"--dest={tmp_path / 'wheels'}" in downloads[0]


def test_a_function_over_250_mb_with_its_layers_fails_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pip = FakePip(sizes={"scipy": LAMBDA_UNZIPPED_LIMIT - 2_000_000, "fastapi": 3_000_000})
    monkeypatch.setattr(package_command, "subprocess_runner", pip)
    args = argparse.Namespace(
        out=tmp_path / "lambda", python_version="3.12", platforms=None, refresh=False,
        wheelhouse=tmp_path / "wheels", root=REPO, runtime_python=None,
    )  # fmt: skip
    assert package_command.run(args) == 1
    report = capsys.readouterr()
    assert "| api |" in report.out and "OVER" in report.out
    assert "api is" in report.err and "websocket is" not in report.err
    assert "layer is" not in report.err and "export is" not in report.err


@pytest.mark.slow
def test_the_real_build_from_the_local_wheelhouse_fits_lambda(tmp_path: Path) -> None:
    """Runs pip for real, offline: only where ``cellhub package`` has filled build/wheelhouse."""
    wheelhouse = REPO / "build" / "wheelhouse"
    if not list(wheelhouse.glob("numpy-*.whl")):
        pytest.skip("no local wheelhouse; run `cellhub package` once to fill it")

    def offline(command: Sequence[str], quiet: bool) -> int:
        return 1 if "download" in command else package_command.subprocess_runner(command, quiet)

    requirements = split_requirements(project_dependencies(REPO))
    builder = AssetBuilder(wheelhouse=wheelhouse, runner=offline)
    assets = lambda_assets(requirements, REPO)
    try:
        build_all(assets, tmp_path / "lambda", builder)
    except RuntimeError as exc:
        pytest.skip(f"the wheelhouse lacks a wheel: {exc}")
    rows = measure_sizes(assets, tmp_path / "lambda")
    assert all(r.within_limit for r in rows), rows
    assert not (tmp_path / "lambda/api/numpy").exists()
