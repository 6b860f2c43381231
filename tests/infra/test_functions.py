"""LiveFunction: each function is a version behind alias ``live`` released by CodeDeploy."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

from cellhub_infra.live_function import ALIAS_NAME

pytestmark = pytest.mark.slow

HANDLERS = {
    "cellhub_api.handler.handler",
    "cellhub_api.websocket_handlers.handler",
    "cellhub_thumbnail.handler.handler",
    "cellhub_export.handler.handler",
}
# What cellhub.adapters.aws.wiring.AwsResources.from_env reads (AWS_REGION is Lambda's).
ENVIRONMENT = {
    "CELLHUB_TABLE_NAME",
    "CELLHUB_BUCKET_NAME",
    "CELLHUB_SEGMENT_QUEUE_URL",
    "CELLHUB_SEGMENT_DLQ_URL",
    "CELLHUB_EXPORT_QUEUE_URL",
    "CELLHUB_EXPORT_DLQ_URL",
    "CELLHUB_MAX_RECEIVES",
    "CELLHUB_MAIL_SENDER",
    "CELLHUB_PUBLIC_URL",
    "CELLHUB_WEBSOCKET_ENDPOINT",
    "CELLHUB_JWT_SECRET_ARN",
}


def _hub_functions(template: Template) -> dict[str, dict]:  # type: ignore[type-arg]
    return template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": Match.string_like_regexp("^cellhub")}}
    )


def test_four_python_312_functions_with_the_adapters_environment(prod: Template) -> None:
    functions = _hub_functions(prod)
    assert {f["Properties"]["Handler"] for f in functions.values()} == HANDLERS
    for function in functions.values():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.12"
        assert set(properties["Environment"]["Variables"]) == ENVIRONMENT
        assert properties["Environment"]["Variables"]["CELLHUB_MAX_RECEIVES"] == "3"
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert len(properties["Layers"]) == 1


def test_export_has_room_in_tmp_for_its_zip(prod: Template) -> None:
    prod.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "cellhub_export.handler.handler", "EphemeralStorage": {"Size": 10_240}},
    )


def test_each_function_has_a_live_alias_on_a_published_version(prod: Template) -> None:
    aliases = prod.find_resources("AWS::Lambda::Alias")
    assert len(aliases) == 4
    for alias in aliases.values():
        assert alias["Properties"]["Name"] == ALIAS_NAME
        assert "Version" in str(alias["Properties"]["FunctionVersion"])
        assert "CodeDeployLambdaAliasUpdate" in alias["UpdatePolicy"]
    assert len(prod.find_resources("AWS::Lambda::Version")) == 4


@pytest.mark.parametrize(
    ("stage", "config"),
    [
        ("prod", "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
        ("dev", "CodeDeployDefault.LambdaAllAtOnce"),
    ],
)
def test_release_strategy_per_stage_rolls_back_on_alarms(
    stage: str, config: str, prod: Template, dev: Template
) -> None:
    template = prod if stage == "prod" else dev
    groups = template.find_resources("AWS::CodeDeploy::DeploymentGroup")
    assert len(groups) == 4
    for group in groups.values():
        properties = group["Properties"]
        assert properties["DeploymentConfigName"] == config
        assert properties["AlarmConfiguration"]["Enabled"] is True
        assert len(properties["AlarmConfiguration"]["Alarms"]) == 2
        assert set(properties["AutoRollbackConfiguration"]["Events"]) >= {
            "DEPLOYMENT_FAILURE",
            "DEPLOYMENT_STOP_ON_ALARM",
        }


def test_release_alarms_watch_the_alias_errors_and_p99_latency(prod: Template) -> None:
    prod.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Dimensions": Match.array_with([Match.object_like({"Name": "Resource"})]),
        },
    )
    prod.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "Duration", "ExtendedStatistic": "p99", "Threshold": 29 * 1000 * 0.8},
    )
