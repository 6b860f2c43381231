"""A Lambda function released blue-green: a version behind alias ``live``, shifted by CodeDeploy.

Every integration (HTTP API, WebSocket API, SQS event sources) points at ``alias``. A deploy
publishes a new version; CodeDeploy moves ``live`` to it (canary 10 % for 5 minutes, or all
at once) and moves it back when the alias's error or latency alarm fires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Size
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cellhub_infra.log_groups import log_group
from cellhub_infra.nag import acknowledge

RUNTIME = lambda_.Runtime.PYTHON_3_12
ALIAS_NAME = "live"
_MANAGED = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{}]"


class LiveFunction(Construct):
    """Function, log group, alias ``live``, deployment group and its two rollback alarms.

    Attributes: ``function``, ``alias``, ``log_group``, ``deployment_group``,
    ``error_alarm``, ``latency_alarm``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        handler: str,
        layers: Sequence[lambda_.ILayerVersion],
        memory_mb: int,
        timeout_s: int,
        ephemeral_mb: int = 512,
        environment: Mapping[str, str],
        log_retention_days: int,
        canary: bool,
        reserved_concurrency: int | None = None,
        description: str,
        latency_share_of_timeout: float = 0.8,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "Logs", log_retention_days)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            code=code,
            handler=handler,
            layers=list(layers),
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_s),
            ephemeral_storage_size=Size.mebibytes(ephemeral_mb),
            environment=dict(environment),
            reserved_concurrent_executions=reserved_concurrency,
            description=description,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
        )
        acknowledge(
            self.function,
            "The layer holds CPython 3.12 x86_64 wheels (cellhub package --python-version "
            "3.12); a newer runtime means rebuilding the layer, not only editing the template.",
            "AwsSolutions-L1",
        )
        self.alias = lambda_.Alias(
            self, "Live", alias_name=ALIAS_NAME, version=self.function.current_version
        )
        self.error_alarm = cloudwatch.Alarm(
            self,
            "Errors",
            alarm_description=f"{construct_id}: invocation errors on alias live (rolls back)",
            metric=self.alias.metric_errors(period=Duration.minutes(1), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.latency_alarm = cloudwatch.Alarm(
            self,
            "Latency",
            alarm_description=f"{construct_id}: p99 duration near the timeout (rolls back)",
            metric=self.alias.metric_duration(period=Duration.minutes(1), statistic="p99"),
            threshold=timeout_s * 1000 * latency_share_of_timeout,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "Release",
            alias=self.alias,
            deployment_config=(
                codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES
                if canary
                else codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE
            ),
            alarms=[self.error_alarm, self.latency_alarm],
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        acknowledge(
            self,
            "AWSLambdaBasicExecutionRole only lets the function write its own logs, and "
            "AWSCodeDeployRoleForLambdaLimited only lets CodeDeploy move this alias; both are "
            "the narrow managed policies AWS maintains for exactly these roles.",
            _MANAGED.format("AWSLambdaBasicExecutionRole"),
            _MANAGED.format("AWSCodeDeployRoleForLambdaLimited"),
        )
        acknowledge(
            self.function,
            "X-Ray's PutTraceSegments and PutTelemetryRecords accept no resource but *.",
            "AwsSolutions-IAM5[Resource::*]",
        )
