"""Builds the CDK app: one ``CellHubStack`` for the chosen stage, checked by cdk-nag.

``cdk synth`` (through ``cdk.json``) and the tests build the app the same way, so the
checks a test passes are the checks a deploy passes.
"""

from __future__ import annotations

import os
from dataclasses import replace

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from cellhub_infra.assets import CONTEXT_KEY, LambdaAssets, asset_mode
from cellhub_infra.config import PLACEHOLDER_SENDER, StageConfig, stage_config
from cellhub_infra.stack import CellHubStack


def stack_name(config: StageConfig) -> str:
    return f"CellHub-{config.name}"


def build_stack(app: App, config: StageConfig, assets: LambdaAssets) -> CellHubStack:
    """Add the stage's stack to ``app`` (account and region from the config or the CLI)."""
    environment = Environment(
        account=config.account or os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=config.region or os.environ.get("CDK_DEFAULT_REGION"),
    )
    stack = CellHubStack(
        app,
        stack_name(config),
        config=config,
        assets=assets,
        env=environment,
        description=f"Cell Segmentation Hub ({config.name})",
        termination_protection=config.retain_data,
    )
    Tags.of(stack).add("project", "cellhub")
    Tags.of(stack).add("stage", config.name)
    return stack


def build_app(app: App) -> CellHubStack:
    """Add the stack named by the ``stage`` context (default ``dev``) and the nag checks."""
    config = stage_config(str(app.node.try_get_context("stage") or "dev"))
    sender = app.node.try_get_context("mail_sender")
    if sender:
        config = replace(config, mail_sender=str(sender))
    assets = LambdaAssets(mode=asset_mode(app.node.try_get_context(CONTEXT_KEY)))
    if assets.mode == "build" and config.mail_sender == PLACEHOLDER_SENDER:
        raise ValueError(
            "a deploy needs the stage's verified SES sender: -c mail_sender=no-reply@your.lab"
        )
    stack = build_stack(app, config, assets)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack
