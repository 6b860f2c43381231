"""The WebSocket API: ``$connect``, ``$disconnect`` and ``$default`` on one function's alias.

The connect handler authenticates the access token itself (the same token the HTTP API
takes) and records the connection; publishers post to connections through the stage's
management endpoint (``callback_url``), a permission granted in the stack to each of them.
"""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cellhub_infra.log_groups import enable_access_logs, log_group
from cellhub_infra.nag import acknowledge

STAGE_NAME = "live"
ROUTES = ("$connect", "$disconnect", "$default")


class HubWebSocketApi(Construct):
    """Attributes: ``api``, ``stage``, ``access_logs``, ``url`` (wss://), ``callback_url``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        rate: int,
        burst: int,
        log_retention_days: int,
        manage_account_role: bool,
    ) -> None:
        super().__init__(scope, construct_id)

        def route(name: str) -> apigwv2.WebSocketRouteOptions:
            integration = integrations.WebSocketLambdaIntegration(f"{name}Integration", handler)
            return apigwv2.WebSocketRouteOptions(integration=integration)

        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            connect_route_options=route("Connect"),
            disconnect_route_options=route("Disconnect"),
            default_route_options=route("Default"),
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=STAGE_NAME,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=rate, burst_limit=burst),
        )
        self.access_logs = log_group(self, "AccessLogs", log_retention_days)
        enable_access_logs(self.stage, self.access_logs)
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.default_route_settings = apigwv2.CfnStage.RouteSettingsProperty(
            logging_level="ERROR",
            data_trace_enabled=False,
            throttling_rate_limit=rate,
            throttling_burst_limit=burst,
        )
        if manage_account_role:
            self._account_logging_role(cfn_stage)
        self.url = self.stage.url
        self.callback_url = self.stage.callback_url
        acknowledge(
            self.api,
            "The $connect handler verifies the access token itself (the same JWT the HTTP "
            "API takes); $disconnect and $default act only on an accepted connection.",
            "AwsSolutions-APIG4",
        )

    def _account_logging_role(self, cfn_stage: apigwv2.CfnStage) -> None:
        # WebSocket stages log through the account-wide API Gateway role; without one
        # set, creating a stage with logging fails.
        role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        account = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        cfn_stage.node.add_dependency(account)
        acknowledge(
            role,
            "AmazonAPIGatewayPushToCloudWatchLogs is the policy API Gateway documents for its "
            "account logging role; it only creates log groups and streams and writes events.",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
        )
