"""Log groups with a retention (every log the hub writes has one) and API access-log settings."""

from __future__ import annotations

import json

from aws_cdk import CfnResource, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

_HTTP_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
}
_WEBSOCKET_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "eventType": "$context.eventType",
    "connectionId": "$context.connectionId",
    "status": "$context.status",
    "integrationLatencyMs": "$context.integrationLatency",
}


# CloudWatch Logs accepts these retention periods only (days -> CDK's enum member).
RETENTION_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def retention(days: int) -> logs.RetentionDays:
    """The retention of ``days``; a period CloudWatch does not offer is a ``ValueError``."""
    try:
        return RETENTION_DAYS[days]
    except KeyError:
        raise ValueError(f"log retention must be one of {sorted(RETENTION_DAYS)} days") from None


def log_group(scope: Construct, construct_id: str, retention_days: int) -> logs.LogGroup:
    """A log group kept ``retention_days``; logs go with the stack (the data does not)."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=retention(retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )


def enable_access_logs(
    stage: apigwv2.HttpStage | apigwv2.WebSocketStage, log_group: logs.ILogGroup
) -> None:
    """Write one JSON line per request (or WebSocket event) of ``stage`` to ``log_group``."""
    fields = _WEBSOCKET_FIELDS if isinstance(stage, apigwv2.WebSocketStage) else _HTTP_FIELDS
    cfn_stage = stage.node.default_child
    assert isinstance(cfn_stage, apigwv2.CfnStage)
    cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
        destination_arn=log_group.log_group_arn, format=json.dumps(fields)
    )


def give_every_function_a_log_group(scope: Construct, retention_days: int) -> None:
    """Point each function under ``scope`` that has no log group yet at one with a retention.

    The provider functions CDK adds (S3 notifications, web client upload, custom resources)
    would otherwise log to ``/aws/lambda/<name>``, created on first use and kept forever.
    """
    for construct in scope.node.find_all():
        if not isinstance(construct, CfnResource):
            continue
        if construct.cfn_resource_type != "AWS::Lambda::Function":
            continue
        if isinstance(construct, lambda_.CfnFunction) and construct.logging_config:
            continue
        parent = construct.node.scope
        owner = parent if isinstance(parent, Construct) else scope
        group = log_group(owner, "Logs", retention_days)
        construct.add_property_override("LoggingConfig.LogGroup", group.log_group_name)
