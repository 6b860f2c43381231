"""The deploy's gates: cdk-nag with reasoned acknowledgments, cfn-lint, and ``cdk.json``'s app."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks

from cellhub_infra.app_builder import stack_name
from cellhub_infra.config import STAGES

from .conftest import REPO_ROOT, Synthesized, cdk_context

pytestmark = pytest.mark.slow

ACKNOWLEDGED = Validations.ACKNOWLEDGED_RULES_METADATA_KEY


def _acknowledgments(synthesized: Synthesized) -> dict[str, str]:
    found: dict[str, str] = {}
    for construct in synthesized.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == ACKNOWLEDGED:
                found.update(entry.data)
    return found


def test_both_stages_pass_cdk_nag(synthesized: Synthesized) -> None:
    # The session fixture's synth raises on any unacknowledged AwsSolutions finding.
    assert set(synthesized.templates) == {"prod", "dev"}


def test_every_acknowledgment_carries_a_reason(synthesized: Synthesized) -> None:
    acknowledged = {
        rule: reason
        for rule, reason in _acknowledgments(synthesized).items()
        if "AwsSolutions-" in rule
    }
    assert acknowledged
    for rule, reason in acknowledged.items():
        assert len(reason.split()) >= 8, rule


def test_cdk_nag_fails_the_synth_of_a_finding_nobody_acknowledged(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context=cdk_context())
    stack = Stack(app, "Careless")
    sqs.Queue(stack, "Queue")  # no DLQ: AwsSolutions-SQS3
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="AwsSolutions-SQS3"):
        app.synth()


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_cfn_lint_finds_no_errors(stage: str, synthesized: Synthesized) -> None:
    from cfnlint.api import ManualArgs, lint_file

    template = synthesized.outdir / f"{stack_name(STAGES[stage])}.template.json"
    matches = lint_file(template, config=ManualArgs(regions=["us-east-1", "eu-central-1"]))
    errors = [str(match) for match in matches if match.rule.id.startswith("E")]
    assert errors == []


def test_cdk_json_app_synthesises_without_docker_or_credentials(tmp_path: Path) -> None:
    command = json.loads((REPO_ROOT / "cdk.json").read_text())["app"]
    executable, *arguments = shlex.split(command)
    if not (REPO_ROOT / executable).exists():
        pytest.skip(f"{executable} is missing: run the README's install first")
    # What the cdk CLI hands the app: the merged context and an output folder.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update(
        CDK_CONTEXT_JSON=json.dumps({**cdk_context(), "stage": "dev"}),
        CDK_OUTDIR=str(tmp_path),
        DOCKER_HOST="unix:///nonexistent",
    )
    result = subprocess.run(
        [str(REPO_ROOT / executable), *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "CellHub-dev.template.json").is_file()
