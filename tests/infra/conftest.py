"""The CDK app synthesised once per test session, the way ``cdk synth`` builds it.

The App gets ``cdk.json``'s context (so the tests see the deploy's feature flags), source
folders as Lambda assets and no asset staging (no 400 MB layer to hash or copy; synth needs
no prior build and no Docker). The ``prod`` stack comes from ``build_app`` exactly as
``infra/app.py`` builds it, including the cdk-nag checks; the ``dev`` stack joins the same
app, so one synth checks both stages.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the infra extra is not installed")

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "infra"))
# jsii's banner about the machine's Node release says nothing about this app.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from cellhub_infra.app_builder import build_app, build_stack, stack_name  # noqa: E402
from cellhub_infra.assets import CONTEXT_KEY, LambdaAssets  # noqa: E402
from cellhub_infra.config import STAGES  # noqa: E402
from cellhub_infra.stack import CellHubStack  # noqa: E402


def cdk_context() -> dict[str, Any]:
    """``cdk.json``'s context as the CLI would pass it, with the test-only asset settings."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    context.update({CONTEXT_KEY: "source", "aws:cdk:disable-asset-staging": True})
    return context


@dataclass(frozen=True)
class Synthesized:
    app: App
    outdir: Path
    stacks: dict[str, CellHubStack]
    templates: dict[str, dict[str, Any]]

    def template(self, stage: str) -> Template:
        return Template.from_json(self.templates[stage])


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(outdir=str(outdir), context={**cdk_context(), "stage": "prod"})
    prod = build_app(app)
    dev = build_stack(app, STAGES["dev"], LambdaAssets(mode="source"))
    assembly = app.synth()  # raises if any cdk-nag finding is left unacknowledged
    templates = {
        stage: assembly.get_stack_by_name(stack_name(STAGES[stage])).template
        for stage in ("prod", "dev")
    }
    return Synthesized(app, outdir, {"prod": prod, "dev": dev}, templates)


@pytest.fixture(scope="module")
def prod(synthesized: Synthesized) -> Template:
    return synthesized.template("prod")


@pytest.fixture(scope="module")
def dev(synthesized: Synthesized) -> Template:
    return synthesized.template("dev")


@pytest.fixture(scope="module")
def prod_stack(synthesized: Synthesized) -> CellHubStack:
    return synthesized.stacks["prod"]
