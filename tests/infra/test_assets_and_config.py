"""The asset locator and the stage settings (no synth: fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellhub_infra.assets import (
    SOURCE_FOLDERS,
    LambdaAssets,
    MissingAssetError,
    asset_mode,
)
from cellhub_infra.config import STAGES, stage_config
from cellhub_infra.log_groups import retention

NAMES = ("layer", "api", "websocket", "thumbnail", "export")


def _repo(tmp_path: Path, *built: str) -> Path:
    for folder in SOURCE_FOLDERS.values():
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    for name in built:
        (tmp_path / "build" / "lambda" / name).mkdir(parents=True)
    return tmp_path


def test_auto_prefers_each_packaged_folder_and_falls_back_to_source(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "layer", "api")
    assets = LambdaAssets(repo_root=repo, mode="auto")
    assert assets.path("layer") == repo / "build" / "lambda" / "layer"
    assert assets.path("api") == repo / "build" / "lambda" / "api"
    assert assets.path("thumbnail") == repo / "functions" / "thumbnail"
    assert assets.path("websocket") == repo / "functions" / "api"


def test_source_mode_ignores_packaged_folders(tmp_path: Path) -> None:
    repo = _repo(tmp_path, *NAMES)
    assets = LambdaAssets(repo_root=repo, mode="source")
    assert [assets.path(name) for name in NAMES] == [
        repo / "layers",
        repo / "functions" / "api",
        repo / "functions" / "api",
        repo / "functions" / "thumbnail",
        repo / "functions" / "export",
    ]


def test_build_mode_demands_the_packaged_folders(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "api")
    assets = LambdaAssets(repo_root=repo, mode="build")
    assert assets.path("api") == repo / "build" / "lambda" / "api"
    with pytest.raises(MissingAssetError, match="cellhub package"):
        assets.path("layer")


def test_unknown_asset_and_mode_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="worker"):
        LambdaAssets(repo_root=tmp_path).path("worker")
    with pytest.raises(ValueError, match="lambda-assets"):
        asset_mode("docker")
    assert asset_mode(None) == "auto"
    assert asset_mode("build") == "build"


def test_source_folders_exist_in_this_repository() -> None:
    assets = LambdaAssets(mode="source")
    for name in NAMES:
        assert assets.path(name).is_dir(), name
    assert (assets.worker_context / assets.worker_dockerfile).is_file()
    assert (assets.web_client / "index.html").is_file()


def test_stages_differ_where_a_release_and_data_safety_should() -> None:
    dev, prod = stage_config("dev"), stage_config("prod")
    assert (dev.canary_release, prod.canary_release) == (False, True)
    assert (dev.retain_data, prod.retain_data) == (False, True)
    assert dev.min_workers == prod.min_workers == 0
    assert prod.max_workers > dev.max_workers
    for config in STAGES.values():
        retention(config.log_retention_days)  # a period CloudWatch offers
        assert config.longest_batch_s <= 12 * 3600
    with pytest.raises(KeyError, match="staging"):
        stage_config("staging")
    with pytest.raises(ValueError, match="retention"):
        retention(42)


def test_a_deploy_build_refuses_the_placeholder_mail_sender() -> None:
    from aws_cdk import App

    from cellhub_infra.app_builder import build_app

    app = App(context={"stage": "prod", "cellhub:lambda-assets": "build"})
    with pytest.raises(ValueError, match="mail_sender"):
        build_app(app)
